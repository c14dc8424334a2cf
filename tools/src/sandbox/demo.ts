/**
 * The README's first command: builds a sandbox Mattermost-shaped install with its own throwaway
 * PostgreSQL, then runs the real mm-backup commands against it (discover, an offline backup, a
 * "disaster", verify, restore) and prints what happened. Nothing outside a temp dir is touched.
 *
 *   npm run sandbox                  the demo; everything is stopped and removed at the end
 *   npm run sandbox -- --keep        the demo, then the world stays up (database, stand-in, sidecar)
 *   npm run sandbox -- up            the world alone, up and kept, without the demo
 *   npm run sandbox -- down [DIR]    stops a kept sandbox's processes and removes it (all of them without DIR)
 * --small makes a small install (a few hundred posts) for either.
 */
import { rm } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { withSqlConn, type PgServer, type Sandbox, type SqlConn } from '@mm-backup/testkit';
import { downWorld, keepWorld, keptInstructions, keptRoots } from './kept_world';
import { CLI, createWorld, destroyWorld, type World } from './world';

const say = (s: string) => process.stdout.write(`\n\x1b[1m${s}\x1b[0m\n`);

function cli(cfg: string, ...args: string[]): void {
  process.stdout.write(`\n$ mm-backup ${args.join(' ')}\n`);
  const r = spawnSync(process.execPath, [CLI, '--config', cfg, ...args], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`mm-backup ${args.join(' ')} exited with ${r.status ?? r.signal}`);
}
/** One short connection as Mattermost's own database user (a restore replaces the database under a long one). */
function withDb<T>(pg: PgServer, sb: Sandbox, fn: (c: SqlConn) => Promise<T>): Promise<T> {
  return withSqlConn(
    {
      driver: 'postgres',
      host: '127.0.0.1',
      port: pg.port,
      user: sb.dbUser,
      password: sb.dbPassword,
      database: sb.dbName,
    },
    fn,
  );
}

async function demo(keep: boolean, small: boolean): Promise<void> {
  say('1. Creating a sandbox: a throwaway PostgreSQL and a Mattermost-shaped install');
  const w = await createWorld({ keep, small });
  const { pg, sb, cfgFile } = w;
  let kept = false;
  try {
    process.stdout.write(
      `install: ${sb.installDir}\ndatabase: ${sb.dbName} on 127.0.0.1:${pg.port} (${sb.counts.posts} posts)\nMattermost stand-in: ${w.standinUrl}\nconfig: ${cfgFile}\n`,
    );

    say('2. What will be backed up (the official pre-backup checklist, automated)');
    cli(cfgFile, 'discover');
    say('3. An offline backup: Mattermost is stopped, everything is copied, Mattermost is started again');
    cli(cfgFile, 'backup');
    say('4. A second backup: unchanged files are not read again');
    cli(cfgFile, 'backup');
    cli(cfgFile, 'list');
    say('5. Verify the latest snapshot, with a restore drill into a throwaway database');
    cli(cfgFile, 'verify', 'latest', '--deep');

    say("6. Disaster: a channel's posts are deleted and the attachments directory is wiped");
    const { ch, after } = await withDb(pg, sb, async (db) => {
      const ch = (
        await db.query<{ channelid: string; n: string }>(
          'SELECT channelid, count(*) AS n FROM posts GROUP BY channelid ORDER BY n DESC LIMIT 1',
        )
      )[0];
      await db.query('DELETE FROM posts WHERE channelid = ?', [ch?.channelid]);
      return { ch, after: Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM posts'))[0]?.n) };
    });
    await rm(sb.dataDir, { recursive: true, force: true });
    process.stdout.write(`deleted ${String(ch?.n)} posts (${after} left) and ${sb.dataDir}\n`);

    say('7. Restore the latest snapshot (a safety snapshot of the broken state is taken first)');
    cli(cfgFile, 'restore', 'latest', '--yes');
    const restored = await withDb(pg, sb, async (db) =>
      Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM posts'))[0]?.n),
    );
    process.stdout.write(`posts after restore: ${restored} (was ${sb.counts.posts})\n`);
    if (restored !== sb.counts.posts) throw new Error('the restore did not bring back every post');
    cli(cfgFile, 'list');
    if (keep) {
      say('8. The sandbox stays up: the sidecar is started too');
      const state = await keepWorld(w);
      kept = true;
      process.stdout.write(`${keptInstructions(state)}\n`);
    }
    say(
      `Done: backed up, broke, and restored a Mattermost install.${keep ? '' : ' The sandbox is removed now (--keep keeps it running).'}`,
    );
  } finally {
    // A demo that failed is not kept: a half-made world would only have to be found and removed.
    if (!kept) await tearDown(w);
  }
}

async function up(small: boolean): Promise<void> {
  say('Creating a sandbox that stays up: PostgreSQL, a Mattermost-shaped install, the stand-in and the sidecar');
  const w = await createWorld({ keep: true, small });
  try {
    process.stdout.write(`${keptInstructions(await keepWorld(w))}\n`);
  } catch (err) {
    await tearDown(w);
    throw err;
  }
}

/** Everything of a world this process made: a sidecar recorded in sandbox.json too. */
async function tearDown(w: World): Promise<void> {
  try {
    await downWorld(w.root, () => undefined);
  } catch {
    // no sandbox.json yet (or the root is not a kept one): the world has no sidecar
  }
  await destroyWorld(w);
}

async function down(roots: string[]): Promise<void> {
  const list = roots.length ? roots : keptRoots();
  if (!list.length) {
    process.stdout.write('no kept sandbox to tear down\n');
    return;
  }
  for (const root of list) {
    say(`Tearing down ${root}`);
    await downWorld(root, (s) => process.stdout.write(`${s}\n`));
  }
}

async function main(argv: string[]): Promise<void> {
  const small = argv.includes('--small');
  const args = argv.filter((a) => a !== '--small');
  if (args[0] === 'down') return down(args.slice(1));
  if (args[0] === 'up' && args.length === 1) return up(small);
  if (args.every((a) => a === '--keep')) return demo(args.includes('--keep'), small);
  throw new Error(`usage: npm run sandbox [-- --keep | -- up | -- down [DIR...]] [--small]; got ${args.join(' ')}`);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`sandbox failed: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
