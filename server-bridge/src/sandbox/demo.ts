/**
 * The README's first command: builds a sandbox Mattermost-shaped install with its own throwaway
 * PostgreSQL, then runs the real mm-backup commands against it (discover, an offline backup, a
 * "disaster", verify, restore) and prints what happened. Nothing outside a temp dir is touched.
 */
import { writeFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { main } from '../cli/main';
import { parseDsn } from '../database/dsn';
import { query } from '../database/sql_client';
import { freePort, generateSandbox, makeTempDir, removeTempDir, standinCommands, standinUrl, startPostgres } from '../testkit';

const say = (s: string) => process.stdout.write(`\n\x1b[1m${s}\x1b[0m\n`);

async function cli(cfg: string, ...args: string[]): Promise<void> {
  process.stdout.write(`\n$ mm-backup ${args.join(' ')}\n`);
  const code = await main([process.execPath, 'mm-backup', '--config', cfg, ...args]);
  if (code !== 0) throw new Error(`mm-backup ${args.join(' ')} exited with ${code}`);
}

async function demo(): Promise<void> {
  const keep = process.argv.includes('--keep');
  say('1. Creating a sandbox: a throwaway PostgreSQL and a Mattermost-shaped install');
  const pg = await startPostgres();
  const root = await makeTempDir('mm-backup-sandbox-', { keep });
  const port = await freePort();
  const cmds = { start: [] as string[], stop: [] as string[] };
  try {
    const sb = await generateSandbox({ root, db: pg, port, size: { users: 50, channels: 20, posts: 5000, attachments: 200, attachmentBytes: 20_000_000 } });
    Object.assign(cmds, standinCommands(path.join(root, 'standin'), sb.installDir, { port }));
    const cfgFile = path.join(root, 'mm-backup.json');
    await writeFile(cfgFile, JSON.stringify({
      mattermost: { installDir: sb.installDir, url: standinUrl(port), ...(sb.envFilePath ? { envFile: sb.envFilePath } : {}) },
      service: { start: cmds.start, stop: cmds.stop },
      repository: { path: path.join(root, 'repository') },
      database: { adminUrl: pg.adminUrl(sb.dbName) },
    }, null, 2), { mode: 0o600 });
    spawnSync(cmds.start[0] as string, cmds.start.slice(1), { stdio: 'inherit' });
    process.stdout.write(`install: ${sb.installDir}\ndatabase: ${sb.dbName} on 127.0.0.1:${pg.port} (${sb.counts.posts} posts)\nMattermost stand-in: ${standinUrl(port)}\nconfig: ${cfgFile}\n`);

    say('2. What will be backed up (the official pre-backup checklist, automated)');
    await cli(cfgFile, 'discover');
    say('3. An offline backup: Mattermost is stopped, everything is copied, Mattermost is started again');
    await cli(cfgFile, 'backup');
    say('4. A second backup: unchanged files are not read again');
    await cli(cfgFile, 'backup');
    await cli(cfgFile, 'list');
    say('5. Verify the latest snapshot, with a restore drill into a throwaway database');
    await cli(cfgFile, 'verify', 'latest', '--deep');

    say('6. Disaster: a channel\'s posts are deleted and the attachments directory is wiped');
    const db = parseDsn(sb.dbUrl);
    const ch = (await query(db, 'SELECT channelid, count(*) AS n FROM posts GROUP BY channelid ORDER BY n DESC LIMIT 1'))[0];
    await query(db, 'DELETE FROM posts WHERE channelid = $1', [ch?.channelid]);
    await rm(sb.dataDir, { recursive: true, force: true });
    const after = Number((await query(db, 'SELECT count(*) AS n FROM posts'))[0]?.n);
    process.stdout.write(`deleted ${String(ch?.n)} posts (${after} left) and ${sb.dataDir}\n`);

    say('7. Restore the latest snapshot (a safety snapshot of the broken state is taken first)');
    await cli(cfgFile, 'restore', 'latest', '--yes');
    const restored = Number((await query(db, 'SELECT count(*) AS n FROM posts'))[0]?.n);
    process.stdout.write(`posts after restore: ${restored} (was ${sb.counts.posts})\n`);
    if (restored !== sb.counts.posts) throw new Error('the restore did not bring back every post');
    await cli(cfgFile, 'list');
    say(`Done: backed up, broke, and restored a Mattermost install.${keep ? ` Kept in ${root}` : ' The sandbox is removed now (--keep keeps it).'}`);
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
