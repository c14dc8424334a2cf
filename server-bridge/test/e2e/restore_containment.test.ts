/**
 * A snapshot is untrusted input (issue 10 §2): manifests planted in the repository by someone who
 * can write it must not make `restore` write outside its target. Real CLI, real database, the
 * stand-in; each attack leaves an outside "victim" directory untouched and Mattermost running.
 */
import { mkdir, readdir, readFile, rm, stat, symlink, writeFile, chmod } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { manifestString, type PlainComponent, type PlainManifest } from '../support/manifests';
import { SigningKey, sha256Hex } from '../../src/repository/signing';
import { SIGNING_KEY_NAME } from '../../src/repository/trust';
import { setupE2E, isUp, type E2E } from '../support/e2e_env';

let env: E2E;
let base: PlainManifest;
let victim: string;
let seq = 0;
beforeAll(async () => {
  env = await setupE2E('postgres', {
    size: { users: 5, channels: 2, posts: 20, attachments: 4, attachmentBytes: 20_000 },
  });
  const b = await env.cli('backup', '--mode', 'online');
  expect(b.code).toBe(0);
  base = JSON.parse(
    await readFile(path.join(env.repo, 'snapshots', `${b.summary?.snapshot.id}.json`), 'utf8'),
  ) as PlainManifest;
}, 300_000);
afterAll(async () => {
  await env?.cleanup();
});
beforeEach(async () => {
  victim = path.join(env.root, `victim-${++seq}`);
  await mkdir(victim);
  await chmod(victim, 0o700);
  await writeFile(path.join(victim, 'keep'), 'precious');
});

async function victimUntouched(): Promise<void> {
  expect(await readdir(victim)).toEqual(['keep']);
  expect((await stat(victim)).mode & 0o777).toBe(0o700);
  expect(await readFile(path.join(victim, 'keep'), 'utf8')).toBe('precious');
}

/**
 * Writes `m` as a new snapshot the way an attacker with write access would. It is signed with
 * this host's key when one exists: the containment checks must hold even for a manifest that
 * passes the signature check (a repository made before signing, or a leaked key).
 */
async function plant(edit: (m: PlainManifest) => void): Promise<string> {
  const m = structuredClone(base);
  m.id = `20990101T0000${String(seq).padStart(2, '0')}Z-${'abcdef'.slice(0, 6)}`;
  m.trigger = 'cli';
  edit(m);
  const text = Buffer.from(await manifestString(m));
  await writeFile(path.join(env.repo, 'snapshots', `${m.id}.json`), text);
  const key = await SigningKey.load(path.join(path.dirname(env.cfgFile), SIGNING_KEY_NAME)).catch(() => undefined);
  if (key) {
    await writeFile(path.join(env.repo, 'snapshots', `${m.id}.sig`), key.sign('manifest', m.id, sha256Hex(text)));
  }
  return m.id;
}

const comp = (m: PlainManifest, id: string) => m.components.find((c) => c.id === id) as PlainComponent;
const said = (r: { stdout: string; stderr: string }) => `${r.stdout}\n${r.stderr}`;
const noStop = (r: { events: Array<Record<string, any>> }) =>
  expect(r.events.some((e) => e.step === 'stop')).toBe(false);

test.each([
  ['a sibling (../victim)', (target: string) => path.relative(target, victim)],
  ['far up (../../../somewhere)', (target: string) => `${'../'.repeat(target.split('/').length)}${victim.slice(1)}`],
])(
  'a rootInInstall pointing %s is refused before anything is written',
  async (_what, rootInInstall) => {
    const target = path.join(env.root, `new-install-${seq}`);
    await mkdir(target);
    const rel = rootInInstall(target);
    expect(path.resolve(target, rel)).toBe(victim);
    const id = await plant((m) => {
      comp(m, 'config').rootInInstall = rel;
    });
    const r = await env.cli('restore', id, '--yes', '--install-dir', target, '--components', 'config');
    expect(r.code).not.toBe(0);
    expect(said(r)).toContain(JSON.stringify(rel));
    await victimUntouched();
    expect(await readdir(target)).toEqual([]);
  },
  120_000,
);

test('a symlink in the new install dir is not followed: the restore refuses', async () => {
  const target = path.join(env.root, `new-install-${seq}`);
  await mkdir(target);
  await symlink(victim, path.join(target, 'config'));
  const r = await env.cli('restore', base.id, '--yes', '--install-dir', target, '--components', 'config');
  expect(r.code).toBe(3);
  expect(said(r)).toMatch(/config is a symbolic link; a restore into .* does not follow links/);
  await victimUntouched();
}, 120_000);

test('in place: symlink, directory and file of one name in the config component are refused before Mattermost stops', async () => {
  const config = comp(base, 'config');
  const sha = config.entries.find((e) => e.path === 'config.json')?.sha256 as string;
  const id = await plant((m) => {
    const mtime = config.entries[0]?.mtime as string;
    comp(m, 'config').entries.push(
      { path: 'lnk', type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime, target: victim },
      { path: 'lnk', type: 'dir', mode: 0o777, uid: 0, gid: 0, mtime },
      { path: 'lnk/evil', type: 'file', mode: 0o666, uid: 0, gid: 0, mtime, size: 1, sha256: sha },
    );
  });
  const r = await env.cli('restore', id, '--yes', '--components', 'config', '--no-safety-snapshot');
  expect(r.code).toBe(4);
  expect(said(r)).toMatch(/component config, entry "lnk" appears more than once/);
  noStop(r);
  expect(await isUp(env.url)).toBe(true);
  await victimUntouched();
  expect(existsSync(path.join(env.sb.installDir, 'config', 'lnk'))).toBe(false);
}, 120_000);

test("in place: a symlink one component makes where another component's root is refused (app → config)", async () => {
  const id = await plant((m) => {
    const app = comp(m, 'app');
    app.entries.push({
      path: 'config',
      type: 'symlink',
      mode: 0o777,
      uid: 0,
      gid: 0,
      mtime: app.entries[0]?.mtime as string,
      target: victim,
    });
    app.exclude = app.exclude.filter((x) => x !== 'config'); // hide it from the per-component check
  });
  const r = await env.cli('restore', id, '--yes', '--components', 'app,config', '--no-safety-snapshot');
  expect(r.code).toBe(4);
  expect(said(r)).toMatch(
    /component config, the root .* lies at or under the symbolic link .*config restored by component app/,
  );
  noStop(r);
  expect(await isUp(env.url)).toBe(true);
  await victimUntouched();
  expect((await stat(path.join(env.sb.installDir, 'config'))).isDirectory()).toBe(true);
}, 120_000);

test('onto a new install dir, components outside it are skipped and named unless --restore-absolute-roots', async () => {
  const tls = comp(base, 'tls');
  expect(tls.rootInInstall).toBeUndefined();
  const tlsFile = path.join('/', tls.entries.find((e) => e.type === 'file')?.path as string);
  const original = await readFile(tlsFile);
  await writeFile(tlsFile, 'changed after the backup');
  const target = path.join(env.root, `new-install-${seq}`);
  const r = await env.cli('restore', base.id, '--yes', '--install-dir', target, '--components', 'config,tls');
  expect(r.code).toBe(0);
  expect(r.summary).toMatchObject({ restored: ['config'], skipped: ['tls'] });
  expect(said(r)).toMatch(/skipped tls: its root is outside the install dir/);
  expect(await readFile(tlsFile, 'utf8')).toBe('changed after the backup');
  expect(existsSync(path.join(target, 'config', 'config.json'))).toBe(true);

  const all = await env.cli(
    'restore',
    base.id,
    '--yes',
    '--install-dir',
    target,
    '--components',
    'config,tls',
    '--restore-absolute-roots',
    '--force',
  );
  expect(all.code).toBe(0);
  expect(all.summary).toMatchObject({ restored: ['config', 'tls'], skipped: [] });
  expect(await readFile(tlsFile)).toEqual(original);
  await rm(target, { recursive: true, force: true });
}, 120_000);

test('onto a new database, a config.json that the snapshot makes a symlink is not rewritten through the link', async () => {
  const precious = path.join(victim, 'keep');
  await writeFile(precious, '{"precious":true}');
  const id = await plant((m) => {
    const cfg = comp(m, 'config');
    const i = cfg.entries.findIndex((e) => e.path === 'config.json');
    const { mode, uid, gid, mtime } = cfg.entries[i] as PlainComponent['entries'][number];
    cfg.entries[i] = { path: 'config.json', type: 'symlink', mode, uid, gid, mtime, target: precious };
  });
  const target = path.join(env.root, `new-install-${seq}`);
  const urlFile = path.join(env.root, `url-${seq}`);
  await writeFile(urlFile, env.db.adminUrl('mm_contain'), { mode: 0o600 });
  const r = await env.cli(
    'restore',
    id,
    '--yes',
    '--install-dir',
    target,
    '--components',
    'config',
    '--database-url-file',
    urlFile,
  );
  expect(r.code).toBe(4);
  expect(said(r)).toMatch(/config\.json is a symbolic link; it is not rewritten/);
  expect(await readFile(precious, 'utf8')).toBe('{"precious":true}');
}, 120_000);
