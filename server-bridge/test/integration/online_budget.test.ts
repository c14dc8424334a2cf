/**
 * backup.budget through the real backup plan, a real PostgreSQL and a real repository: in an
 * online backup pg_dump and zstd run at the configured niceness and I/O class and the dump is
 * read no faster than readMBps; with the budget off (or offline) they run as this process does.
 * mysqldump takes the same budget.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { startMariadb, startPostgres, type PgServer } from '@mm-backup/testkit';
import { parseConfig } from '../../src/config/load';
import { MB } from '../../src/core/rate_limit';
import { parseDsn } from '../../src/database/dsn';
import { openEngine } from '../../src/database/open_engine';
import { discover } from '../../src/discovery/discover';
import type { JobEvent } from '../../src/jobs/events';
import { openContext } from '../../src/jobs/context';
import { JobLock } from '../../src/jobs/lock';
import { runJob } from '../../src/jobs/runner';
import { planBackup } from '../../src/operations/backup_plan';
import { childrenOf, cmdlineOf, ioClassOf, niceOf } from '../support/priority';

let server: PgServer;
let work: string;
let dumpBytes = 0;
const ours = { nice: niceOf(process.pid), io: ioClassOf(process.pid) };

beforeAll(async () => {
  server = await startPostgres({ name: 'budget' });
  await server.createDatabase('mm');
  await server.exec(
    'mm',
    'CREATE TABLE posts (id int primary key, message text); INSERT INTO posts SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 30000) g',
  );
  // What the dump streams (uncompressed), to know how long the read budget must make it take.
  const engine = openEngine(parseDsn(server.adminUrl('mm'), 'postgres'));
  await engine.dump(
    new Writable({
      write(c: Buffer, _e, cb) {
        dumpBytes += c.length;
        cb();
      },
    }),
    {},
  );
  work = await mkdtemp(path.join(os.tmpdir(), 'budget-'));
  const install = path.join(work, 'mattermost');
  await mkdir(path.join(install, 'config'), { recursive: true });
  await mkdir(path.join(install, 'data'), { recursive: true });
  await writeFile(
    path.join(install, 'config', 'config.json'),
    JSON.stringify({
      SqlSettings: { DriverName: 'postgres', DataSource: server.adminUrl('mm') },
      FileSettings: { DriverName: 'local', Directory: './data/' },
    }),
  );
}, 180_000);
afterAll(async () => {
  await server?.destroy();
  if (work) await rm(work, { recursive: true, force: true });
});

interface Seen {
  comm: string;
  nice: number;
  io: string;
}

/** When the watcher first and last saw each child running. */
interface Lifetime {
  first: number;
  last: number;
}

/** Runs an online backup of the database alone with `budget`, noting every child it starts while they run. */
async function backupWith(
  budget: Record<string, unknown>,
): Promise<{ seen: Seen[]; pgDumpMs: number; logs: string[] }> {
  const cfg = parseConfig(
    {
      mattermost: { installDir: path.join(work, 'mattermost'), url: 'http://127.0.0.1:1' },
      service: { preset: 'none' },
      repository: { path: path.join(work, 'repo') },
      backup: {
        mode: 'online',
        budget,
        exclude: ['config', 'env_file', 'app', 'data', 'plugins', 'client_plugins', 'logs', 'bleve', 'tls', 'extra'],
        pruneAfter: false,
      },
    },
    path.join(work, 'mm-backup.json'),
  );
  const ec = await openContext(cfg, { notice: () => undefined });
  const d = await discover(cfg);
  const seen = new Map<number, Seen>();
  const alive = new Map<number, Lifetime>();
  const watch = setInterval(() => {
    for (const c of childrenOf(process.pid)) {
      if (c.comm !== 'pg_dump' && c.comm !== 'zstd') continue;
      // `pg_dump --version` (the tool string) is not the dump; an empty command line is a child
      // that has already exited (a zombie keeps its stat, not its argv).
      const argv = cmdlineOf(c.pid);
      if (!argv.length || argv.includes('--version')) continue;
      const now = performance.now();
      alive.set(c.pid, { first: alive.get(c.pid)?.first ?? now, last: now });
      if (seen.has(c.pid)) continue;
      try {
        seen.set(c.pid, { comm: c.comm, nice: niceOf(c.pid), io: ioClassOf(c.pid) });
      } catch {
        /* it ended between the listing and the look */
      }
    }
  }, 10);
  const events: JobEvent[] = [];
  const { lock } = await JobLock.acquire(ec.lockDir, 'j'.repeat(26), 'test');
  try {
    const r = await runJob(
      planBackup(ec, d, lock, { mode: 'online', trigger: 'cli' }).job,
      AbortSignal.timeout(60_000),
      (e) => events.push(e),
    );
    expect(r.error).toBeUndefined();
  } finally {
    clearInterval(watch);
    await lock.release();
  }
  const pgDump = [...seen.entries()].find(([, s]) => s.comm === 'pg_dump')?.[0];
  const life = pgDump === undefined ? undefined : alive.get(pgDump);
  return {
    seen: [...seen.values()],
    pgDumpMs: life ? life.last - life.first : NaN,
    logs: events.flatMap((e) => (e.type === 'log' ? [e.message] : [])),
  };
}

test('an online backup dumps under the budget: niceness, I/O class and read rate', async () => {
  expect(dumpBytes).toBeGreaterThan(3.5 * MB); // long enough to pace and to watch
  const r = await backupWith({ nice: 9, ioClass: 'idle', readMBps: 2 });
  expect(r.logs).toContain('online backup budget: niceness 9, I/O class idle, reads at most 2 MB/s');
  expect(new Set(r.seen.map((s) => s.comm))).toEqual(new Set(['pg_dump', 'zstd']));
  for (const s of r.seen) expect(s).toEqual({ comm: s.comm, nice: 9, io: 'idle' });
  // pg_dump can only finish once all but what the pipes and streams between it and the budget
  // buffer (well under 1 MB) has been paid for at 2 MB/s: over a second for ~4 MB. Unpaced, it
  // lives a few hundred ms.
  expect(r.pgDumpMs).toBeGreaterThanOrEqual(((dumpBytes - 1.2 * MB) / (2 * MB)) * 1000);
});

test('with the budget off the dump runs as this process does, at full speed', async () => {
  const r = await backupWith({ enabled: false, nice: 9, ioClass: 'idle', readMBps: 1 });
  expect(r.logs.filter((l) => l.includes('budget'))).toEqual([]);
  expect(r.seen.map((s) => s.comm)).toContain('pg_dump');
  for (const s of r.seen) expect(s).toEqual({ comm: s.comm, nice: ours.nice, io: ours.io });
});

test('mysqldump starts under the budget too', async () => {
  const my = await startMariadb({ name: 'budget' });
  try {
    await my.createDatabase('mm');
    await my.exec(
      'mm',
      'CREATE TABLE posts (id int primary key, message text); INSERT INTO posts SELECT seq, REPEAT(MD5(seq), 4) FROM seq_1_to_30000',
    );
    const engine = openEngine(parseDsn(my.adminUrl('mm'), 'mysql'));
    // The first chunk is held until the tool has been looked at: with ~4 MB to write it blocks on
    // the full pipe meanwhile, so it is there to be seen.
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let first = true;
    const out = new Writable({
      write(_c: Buffer, _e, cb) {
        if (first) {
          first = false;
          void held.then(() => {
            cb();
          });
        } else {
          cb();
        }
      },
    });
    const dump = engine.dump(out, { budget: { nice: 9, ioClass: 'idle', ioLevel: 7 } });
    let tool: { pid: number; comm: string } | undefined;
    for (let i = 0; i < 1000 && !tool; i++) {
      tool = childrenOf(process.pid).find((c) => /dump$/.test(c.comm) && cmdlineOf(c.pid).length > 0);
      if (!tool) await new Promise((r) => setTimeout(r, 10));
    }
    expect(tool).toBeDefined();
    const pid = (tool as { pid: number }).pid;
    const looked = { nice: niceOf(pid), io: ioClassOf(pid) };
    release();
    await dump;
    expect(looked).toEqual({ nice: 9, io: 'idle' });
  } finally {
    await my.destroy();
  }
}, 180_000);
