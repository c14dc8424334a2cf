/** The real `mm-backup serve` and `mm-backup connect` processes. */
import { spawn } from 'node:child_process';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CLI, runCli } from '../support/cli';
import { eventually, setupService, type ServiceEnv } from '../support/service_env';

let env: ServiceEnv;
beforeAll(async () => {
  env = await setupService();
}, 120_000);
afterAll(async () => {
  await env?.cleanup();
});
afterEach(() => {
  expect(env.rest.violations).toEqual([]);
});

/** A copy of the test config with `change` applied, 0600. */
async function configWith(name: string, change: (cfg: Record<string, any>) => void): Promise<string> {
  const cfg = JSON.parse(await readFile(env.cfgFile, 'utf8')) as Record<string, any>;
  change(cfg);
  const file = path.join(env.root, name);
  await writeFile(file, JSON.stringify(cfg), { mode: 0o600 });
  return file;
}

async function adminTokenFile(): Promise<string> {
  const file = path.join(env.root, 'admin-token');
  await writeFile(file, `${env.admin.token}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return file;
}

test('connect from the CLI while serve runs: the running service answers /backup at once, no restart', async () => {
  await env.sidecar.close(); // free the configured port for the real process
  const child = spawn(process.execPath, [CLI, '--config', env.cfgFile, 'serve'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  try {
    await eventually(
      async () => (await fetch(`${env.sidecarUrl}/healthz`).catch(() => undefined))?.ok,
      20_000,
      'the sidecar to listen',
    );
    const r = await runCli(['--config', env.cfgFile, 'connect', '--admin-token-file', await adminTokenFile()]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\/backup in team ops: created/);
    await env.rest.executeSlashCommand({ userId: env.admin.id, channelId: env.channel.id, text: '/backup help' });
    const answer = env.rest.state.ephemeral(env.admin.id).at(-1)?.message ?? '';
    expect(answer).not.toMatch(/not registered/);
    expect(answer).toMatch(/\/backup now/);
  } finally {
    child.kill('SIGTERM');
  }
  expect(await new Promise<number | null>((r) => child.once('exit', r))).toBe(0);
  expect(out).not.toContain(env.admin.token);
  await env.restart();
});

test('connect before the repository exists (the order docs/sidecar_api.md gives) creates it 0700 and the state file 0600', async () => {
  const repo = path.join(env.root, 'not-yet', 'repo');
  const cfgFile = await configWith('fresh-repo.json', (c) => {
    c.repository.path = repo;
  });
  const r = await runCli(['--config', cfgFile, 'connect', '--admin-token-file', await adminTokenFile()]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect((await stat(repo)).mode & 0o777).toBe(0o700);
  expect((await stat(path.join(repo, 'sidecar-state.json'))).mode & 0o777).toBe(0o600);
});

test('connect uses the bot token in the config; the bot registers /backup when Mattermost lets it, else says what to do', async () => {
  const bot = env.rest.state.addBot({ username: 'cfgbot' });
  const tokenFile = path.join(env.root, 'bot-token');
  const botToken = env.rest.state.createAccessToken(bot.user.id).token;
  await writeFile(tokenFile, `${botToken}\n`, { mode: 0o600 });
  const cfgFile = await configWith('bot-token.json', (c) => {
    c.mattermost.botTokenFile = tokenFile;
    c.repository.path = path.join(env.root, 'bot-repo');
  });
  const noEnv = { MM_BACKUP_ADMIN_TOKEN: '', MM_BACKUP_BOT_TOKEN: '' };

  const refused = await runCli(['--config', cfgFile, 'connect'], noEnv);
  expect(refused.stderr).toBe('');
  expect(refused.stdout).toMatch(/Bot: @cfgbot/);
  expect(refused.stdout).toMatch(
    /to fix: \/backup was not registered: Mattermost does not let @cfgbot manage slash commands .*mm-backup connect --admin-token-file/,
  );
  expect(refused.stdout + refused.stderr).not.toContain(botToken);

  // A bot given a role that may manage slash commands registers /backup itself.
  const user = env.rest.state.users.get(bot.user.id);
  if (user) user.roles = 'system_user system_admin';
  const ok = await runCli(['--config', cfgFile, 'connect'], noEnv);
  expect(ok.code).toBe(0);
  expect(ok.stdout).toMatch(/\/backup in team ops: (created|updated)/);
  expect(ok.stdout).not.toMatch(/not registered/);
  const state = JSON.parse(await readFile(path.join(env.root, 'bot-repo', 'sidecar-state.json'), 'utf8'));
  expect(Object.keys(state.commands)).toContain(env.team.id);
});

test('connect reads the admin token from a 0600 file, never prints it, and stores the bot token 0600', async () => {
  const tokenFile = path.join(env.root, 'admin-token');
  await writeFile(tokenFile, `${env.admin.token}\n`, { mode: 0o600 });
  const r = await runCli(['--config', env.cfgFile, 'connect', '--admin-token-file', tokenFile]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/Bot: @mm-backup/);
  expect(r.stdout).toMatch(/\/backup in team ops: (created|updated)/);
  expect(r.stdout + r.stderr).not.toContain(env.admin.token);
  const state = path.join(
    JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(env.cfgFile, 'utf8'))).repository.path,
    'sidecar-state.json',
  );
  expect((await stat(state)).mode & 0o777).toBe(0o600);
  await chmod(tokenFile, 0o644);
  const open = await runCli(['--config', env.cfgFile, 'connect', '--admin-token-file', tokenFile]);
  expect(open.code).toBe(2);
  expect(open.stderr).toMatch(/readable by others/);
  const none = await runCli(['--config', env.cfgFile, 'connect']);
  expect(none.code).toBe(2);
});

test('serve answers on its port and stops cleanly on SIGTERM', async () => {
  await env.sidecar.close(); // free the configured port for the real process
  const child = spawn(process.execPath, [CLI, '--config', env.cfgFile, 'serve'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  try {
    const health = await eventually(
      async () => {
        try {
          const res = await fetch(`${env.sidecarUrl}/healthz`);
          return res.ok ? ((await res.json()) as { status: string }) : undefined;
        } catch {
          return undefined;
        }
      },
      20_000,
      'the sidecar to listen',
    );
    expect(health.status).toBe('ok');
    expect((await fetch(`${env.sidecarUrl}/v1/status`)).status).toBe(401);
  } finally {
    child.kill('SIGTERM');
  }
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  expect(code).toBe(0);
  expect(out).toMatch(/mm-backup sidecar listening/);
  expect(out).not.toContain(env.sb.dbPassword);
  await env.restart();
});
