/** Without --yes on a terminal, restore lists what it will overwrite and asks for the snapshot id. */
import { spawn } from 'node:child_process';
import { CLI } from '../support/cli';
import { tableDigests } from '../support/db_rows';
import { setupE2E, type E2E } from '../support/e2e_env';

let env: E2E;
beforeAll(async () => {
  env = await setupE2E('postgres');
}, 240_000);
afterAll(async () => {
  await env?.cleanup();
});

/** Runs the CLI under `script`, which gives it a real terminal, and types `answer` at the prompt. */
function onTerminal(args: string[], answer: string): Promise<{ code: number | null; out: string }> {
  // `script -c` takes one command line; every part here is a temp path or a fixed word (no spaces).
  const child = spawn('script', ['-qec', [process.execPath, CLI, ...args].join(' '), '/dev/null'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let typed = false;
  const onData = (d: Buffer) => {
    out += d.toString();
    if (!typed && out.includes('to continue:')) {
      typed = true;
      child.stdin.write(`${answer}\n`);
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out })));
}

test('a wrong answer changes nothing; the snapshot id confirms', async () => {
  const b = await env.cli('backup', '--mode', 'online');
  const id = b.summary?.snapshot.id as string;
  const rows = await tableDigests(env.sb.dbUrl);
  const no = await onTerminal(['--config', env.cfgFile, 'restore', id], 'yes');
  expect(no.out).toMatch(/will overwrite:/);
  expect(no.out).toMatch(/database: the whole database/);
  expect(no.out).toMatch(/A safety snapshot of the current state is taken first/);
  expect(no.out).toMatch(/restore not confirmed; nothing was changed/);
  expect(no.code).toBe(2);
  expect((await env.cli('list')).summary?.snapshots).toHaveLength(1); // no safety snapshot either
  const yes = await onTerminal(['--config', env.cfgFile, 'restore', id], id);
  expect(yes.out).toMatch(/Restored .* from snapshot/);
  expect(yes.code).toBe(0);
  expect(await tableDigests(env.sb.dbUrl)).toEqual(rows);
});

test('on a terminal, long steps show progress bars', async () => {
  const child = spawn(
    'script',
    ['-qec', [process.execPath, CLI, '--config', env.cfgFile, 'verify', 'latest'].join(' '), '/dev/null'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  expect(code).toBe(0);
  expect(out).toMatch(/\[[█░]+\] \d+% [\d.]+\/[\d.]+ MB/);
  expect(out).toMatch(/verified: \d+ objects intact/);
});
