/** The real `mm-backup serve` and `mm-backup connect` processes. */
import { spawn } from 'node:child_process';
import { chmod, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CLI, runCli } from '../support/cli';
import { eventually, setupService, type ServiceEnv } from '../support/service_env';

let env: ServiceEnv;
beforeAll(async () => { env = await setupService(); }, 120_000);
afterAll(async () => { await env?.cleanup(); });

test('connect reads the admin token from a 0600 file, never prints it, and stores the bot token 0600', async () => {
  const tokenFile = path.join(env.root, 'admin-token');
  await writeFile(tokenFile, `${env.admin.token}\n`, { mode: 0o600 });
  const r = await runCli(['--config', env.cfgFile, 'connect', '--admin-token-file', tokenFile]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/Bot: @mm-backup/);
  expect(r.stdout).toMatch(/\/backup in team ops: (created|updated)/);
  expect(r.stdout + r.stderr).not.toContain(env.admin.token);
  const state = path.join(JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(env.cfgFile, 'utf8'))).repository.path, 'sidecar-state.json');
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
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  try {
    const health = await eventually(async () => {
      try {
        const res = await fetch(`${env.sidecarUrl}/healthz`);
        return res.ok ? ((await res.json()) as { status: string }) : undefined;
      } catch {
        return undefined;
      }
    }, 20_000, 'the sidecar to listen');
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
