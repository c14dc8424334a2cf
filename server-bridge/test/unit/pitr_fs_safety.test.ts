/**
 * What root does in directories postgres (or a repository writer) can change, against planted
 * symbolic links: real files, real links, the real postgres account. Each test plants a link to a
 * "victim" that stands for /etc or a root-owned file and checks the victim is untouched.
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeConfigFile } from '../../src/database/pgbackrest/config_file';
import { moveAside, putBackAside } from '../../src/database/pgbackrest/data_dir';
import { lookupAccount, type OsAccount } from '../../src/database/pgbackrest/postgres_account';
import { setRestoreCommand } from '../../src/database/pgbackrest/recovery_conf';
import { readRegularFile, replaceFile } from '../../src/database/pgbackrest/safe_fs';
import { applyGrant, makeOwnedDir } from '../../src/operations/pitr_access';

const pg = lookupAccount('postgres') as OsAccount;
let root: string;
let n = 0;
let dir: string;

beforeAll(() => {
  if (process.getuid?.() !== 0 || !pg) throw new Error('these tests run as root on a host with a postgres account');
  root = mkdtempSync(path.join(tmpdir(), 'pitr-fs-'));
  chmodSync(root, 0o711); // postgres traverses it, as it does /var/lib
});
afterAll(() => rmSync(root, { recursive: true, force: true }));
beforeEach(() => {
  dir = path.join(root, `t${++n}`);
  mkdirSync(dir, { mode: 0o711 });
});

/** A root-owned directory with a root-owned file: what a planted link points at. */
function victimDir(): { dir: string; file: string } {
  const v = path.join(dir, 'victim');
  mkdirSync(v, { mode: 0o755 });
  const file = path.join(v, 'precious');
  writeFileSync(file, 'root data\n', { mode: 0o644 });
  return { dir: v, file };
}
const owner = (p: string) => {
  const s = statSync(p);
  return { uid: s.uid, gid: s.gid, mode: s.mode & 0o7777 };
};

describe("pgBackRest's repository directory inside the mm-backup repository", () => {
  test('a planted link at <repository>/pgbackrest is refused; its target keeps owner and mode', async () => {
    const repo = path.join(dir, 'repo');
    mkdirSync(repo, { mode: 0o700 });
    const v = victimDir();
    const before = owner(v.dir);
    symlinkSync(v.dir, path.join(repo, 'pgbackrest'));
    await expect(makeOwnedDir(path.join(repo, 'pgbackrest'), pg, repo)).rejects.toThrow(/is a symbolic link: refused/);
    expect(owner(v.dir)).toEqual(before);
    expect(owner(v.file).uid).toBe(0);
  });

  test('a link one level further down (a pitr.repoPath inside the repository) is refused too', async () => {
    const repo = path.join(dir, 'repo');
    mkdirSync(repo, { mode: 0o700 });
    const v = victimDir();
    const before = owner(v.dir);
    symlinkSync(v.dir, path.join(repo, 'pg'));
    await expect(makeOwnedDir(path.join(repo, 'pg', 'backrest'), pg, repo)).rejects.toThrow(/symbolic link/);
    expect(owner(v.dir)).toEqual(before);
    expect(existsSync(path.join(v.dir, 'backrest'))).toBe(false);
  });

  test('a plain file there is refused; a missing directory is made, owned by postgres, 0700', async () => {
    const repo = path.join(dir, 'repo');
    mkdirSync(repo, { mode: 0o700 });
    writeFileSync(path.join(repo, 'pgbackrest'), 'x');
    await expect(makeOwnedDir(path.join(repo, 'pgbackrest'), pg, repo)).rejects.toThrow(/not a directory/);
    await makeOwnedDir(path.join(repo, 'fresh', 'pgbackrest'), pg, repo);
    expect(owner(path.join(repo, 'fresh', 'pgbackrest'))).toEqual({ uid: pg.uid, gid: pg.gid, mode: 0o700 });
  });

  test('the grant on the repository root is refused when the root is a link', async () => {
    const v = victimDir();
    const before = owner(v.dir);
    const link = path.join(dir, 'repo-link');
    symlinkSync(v.dir, link);
    await expect(applyGrant({ path: link, gid: 0, mode: 0o700 }, pg)).rejects.toThrow(/symbolic link/);
    expect(owner(v.dir)).toEqual(before);
  });
});

describe('files root replaces in postgres-owned directories', () => {
  test('pgbackrest.conf: links at the old predictable temporary name and at the file are not followed', async () => {
    const conf = path.join(dir, 'conf');
    mkdirSync(conf, { mode: 0o700 });
    chownSync(conf, pg.uid, pg.gid);
    const v = victimDir();
    // What postgres could plant for the old code: <file>.tmp-<pid> pointing at a root file.
    symlinkSync(v.file, path.join(conf, `pgbackrest.conf.tmp-${process.pid}`));
    await writeConfigFile(conf, 'secret=1\n', pg);
    expect(readFileSync(v.file, 'utf8')).toBe('root data\n');
    expect(owner(v.file)).toEqual({ uid: 0, gid: 0, mode: 0o644 });
    const written = path.join(conf, 'pgbackrest.conf');
    expect(owner(written)).toEqual({ uid: pg.uid, gid: pg.gid, mode: 0o600 });
    expect(readFileSync(written, 'utf8')).toBe('secret=1\n');

    // A link at the file itself: refused, the victim untouched, no temporary left behind.
    rmSync(written);
    symlinkSync(v.file, written);
    await expect(writeConfigFile(conf, 'secret=2\n', pg)).rejects.toThrow(/symbolic link/);
    expect(readFileSync(v.file, 'utf8')).toBe('root data\n');
    expect(owner(v.file).uid).toBe(0);
    expect(readdirSync(conf).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  test('the config directory itself being a link is refused', async () => {
    const v = victimDir();
    const before = owner(v.dir);
    const conf = path.join(dir, 'conf');
    symlinkSync(v.dir, conf);
    await expect(writeConfigFile(conf, 'secret=1\n', pg)).rejects.toThrow(/symbolic link/);
    expect(owner(v.dir)).toEqual(before);
    expect(existsSync(path.join(v.dir, 'pgbackrest.conf'))).toBe(false);
  });

  test("a restored cluster's postgresql.auto.conf: a link is neither read nor written through", async () => {
    const data = path.join(dir, 'data');
    mkdirSync(data, { mode: 0o700 });
    chownSync(data, pg.uid, pg.gid);
    const v = victimDir();
    symlinkSync(v.file, path.join(data, `postgresql.auto.conf.mm-backup-${process.pid}`));
    const auto = path.join(data, 'postgresql.auto.conf');
    writeFileSync(auto, "restore_command = 'theirs'\nport = 5432\n", { mode: 0o600 });
    chownSync(auto, pg.uid, pg.gid);
    await setRestoreCommand(data, 'ours %f %p');
    expect(readFileSync(v.file, 'utf8')).toBe('root data\n');
    expect(readFileSync(auto, 'utf8')).toBe("port = 5432\nrestore_command = 'ours %f %p'\n");
    expect(owner(auto)).toEqual({ uid: pg.uid, gid: pg.gid, mode: 0o600 });

    rmSync(auto);
    symlinkSync(v.file, auto);
    await expect(setRestoreCommand(data, 'ours %f %p')).rejects.toThrow(/symbolic link/);
    await expect(readRegularFile(auto)).rejects.toThrow(/symbolic link/);
    await expect(replaceFile(auto, 'x', { mode: 0o600 })).rejects.toThrow(/symbolic link/);
    expect(readFileSync(v.file, 'utf8')).toBe('root data\n');
    expect(lstatSync(auto).isSymbolicLink()).toBe(true);
  });
});

describe('the data directory of an in-place restore', () => {
  test('moveAside makes the new directory postgres-owned 0700, by handle', async () => {
    const parent = path.join(dir, 'pg');
    mkdirSync(parent, { mode: 0o700 });
    chownSync(parent, pg.uid, pg.gid);
    const data = path.join(parent, 'main');
    mkdirSync(data, { mode: 0o700 });
    await moveAside(data, `${data}.before-restore-x`, pg);
    expect(owner(data)).toEqual({ uid: pg.uid, gid: pg.gid, mode: 0o700 });
    expect(existsSync(`${data}.before-restore-x`)).toBe(true);
  });

  test('the failed restored copy is deleted as postgres: what only root could delete stays, and is reported', async () => {
    const parent = path.join(dir, 'pg');
    mkdirSync(parent, { mode: 0o700 });
    chownSync(parent, pg.uid, pg.gid);
    const data = path.join(parent, 'main');
    const aside = `${data}.before-restore-x`;
    mkdirSync(aside, { mode: 0o700 });
    writeFileSync(path.join(aside, 'PG_VERSION'), '16\n');
    // The restored copy: postgres's files, plus a root-owned subdirectory postgres cannot empty.
    // Root's recursive rm would delete it; rm as postgres cannot. That is how we tell who deleted.
    mkdirSync(path.join(data, 'base'), { recursive: true, mode: 0o700 });
    writeFileSync(path.join(data, 'base', 'f'), 'x');
    execFileSync('chown', ['-R', `${pg.uid}:${pg.gid}`, data]);
    mkdirSync(path.join(data, 'rootonly'), { mode: 0o755 });
    writeFileSync(path.join(data, 'rootonly', 'keep'), 'root\n');
    const v = victimDir();
    symlinkSync(v.dir, path.join(data, 'link-to-victim'));

    const warnings: string[] = [];
    expect(await putBackAside(data, aside, pg, { warn: (w) => warnings.push(w) })).toBe('put back');
    expect(readFileSync(path.join(data, 'PG_VERSION'), 'utf8')).toBe('16\n');
    expect(existsSync(aside)).toBe(false);
    const left = readdirSync(parent).filter((f) => f.includes('.failed-restore-'));
    expect(left).toHaveLength(1);
    const doomed = path.join(parent, left[0] as string);
    expect(existsSync(path.join(doomed, 'base'))).toBe(false); // postgres's part is gone
    expect(readFileSync(path.join(doomed, 'rootonly', 'keep'), 'utf8')).toBe('root\n');
    expect(warnings.join('\n')).toMatch(/could not be deleted as postgres.*delete it by hand/);
    expect(readFileSync(v.file, 'utf8')).toBe('root data\n');
  });

  test('a copy postgres can delete entirely is gone, without a warning', async () => {
    const parent = path.join(dir, 'pg');
    mkdirSync(parent, { mode: 0o755 }); // root-owned parent: root removes the emptied top directory
    const data = path.join(parent, 'main');
    const aside = `${data}.before-restore-x`;
    mkdirSync(aside, { mode: 0o700 });
    mkdirSync(path.join(data, 'base'), { recursive: true });
    writeFileSync(path.join(data, 'base', 'f'), 'x');
    execFileSync('chown', ['-R', `${pg.uid}:${pg.gid}`, data]);
    const warnings: string[] = [];
    await putBackAside(data, aside, pg, { warn: (w) => warnings.push(w) });
    expect(readdirSync(parent)).toEqual(['main']);
    expect(warnings).toEqual([]);
  });
});
