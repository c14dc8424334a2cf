/**
 * The README's first command: builds a sandbox Mattermost-shaped install with its own throwaway
 * PostgreSQL, then runs the real mm-backup commands against it (discover, an offline backup, a
 * "disaster", verify, restore) and prints what happened. Nothing outside a temp dir is touched.
 */
import { writeFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import {
  freePort,
  generateSandbox,
  makeTempDir,
  removeTempDir,
  standinCommands,
  standinUrl,
  startPostgres,
  withSqlConn,
  type PgServer,
  type Sandbox,
  type SqlConn,
} from '@mm-backup/testkit';

/** The sidecar's command as installed (its package's bin), run as a real child process like a user would. */
const CLI = path.join(
  path.dirname(require.resolve('mattermost-backup-server-bridge/package.json')),
  'bin',
  'mm-backup.js',
);

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

async function demo(): Promise<void> {
  const keep = process.argv.includes('--keep');
  say('1. Creating a sandbox: a throwaway PostgreSQL and a Mattermost-shaped install');
  const pg = await startPostgres();
  const root = await makeTempDir('mm-backup-sandbox-', { keep });
  const port = await freePort();
  const cmds = { start: [] as string[], stop: [] as string[] };
  try {
    const sb = await generateSandbox({
      root,
      db: pg,
      port,
      size: { users: 50, channels: 20, posts: 5000, attachments: 200, attachmentBytes: 20_000_000 },
    });
    Object.assign(cmds, standinCommands(path.join(root, 'standin'), sb.installDir, { port }));
    const cfgFile = path.join(root, 'mm-backup.json');
    await writeFile(
      cfgFile,
      JSON.stringify(
        {
          mattermost: {
            installDir: sb.installDir,
            url: standinUrl(port),
            ...(sb.envFilePath ? { envFile: sb.envFilePath } : {}),
          },
          service: { start: cmds.start, stop: cmds.stop },
          repository: { path: path.join(root, 'repository') },
          database: { adminUrl: pg.adminUrl(sb.dbName) },
        },
        null,
        2,
      ),
      { mode: 0o600 },
    );
    spawnSync(cmds.start[0] as string, cmds.start.slice(1), { stdio: 'inherit' });
    process.stdout.write(
      `install: ${sb.installDir}\ndatabase: ${sb.dbName} on 127.0.0.1:${pg.port} (${sb.counts.posts} posts)\nMattermost stand-in: ${standinUrl(port)}\nconfig: ${cfgFile}\n`,
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
    say(
      `Done: backed up, broke, and restored a Mattermost install.${keep ? ` Kept in ${root}` : ' The sandbox is removed now (--keep keeps it).'}`,
    );
  } finally {
    if (cmds.stop.length) spawnSync(cmds.stop[0] as string, cmds.stop.slice(1));
    await pg.destroy();
    if (!keep) await removeTempDir(root);
  }
}

demo().catch((err: unknown) => {
  process.stderr.write(`sandbox demo failed: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
