/**
 * The passphrase stanza written and read with Node's scrypt (storage/age_scrypt.ts) is age's own:
 * the real `age` binary opens what it seals and it opens what `age -p` seals (through a terminal,
 * the only way age reads a passphrase), the age library likewise; a wrong passphrase matches no
 * identity, and a malformed stanza is refused as the library refuses it.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadAge } from '../../src/storage/age';
import { NodeScryptIdentity, NodeScryptRecipient } from '../../src/storage/age_scrypt';

const PASS = 'correct horse battery staple 42';
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'age-scrypt-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Runs `age args` on a terminal (script), typing the passphrase at each prompt. */
function ageOnTerminal(args: string[], passphrase: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', ['age', ...args].join(' '), '/dev/null'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let prompts = 0;
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const seen = (out.match(/passphrase/gi) ?? []).length;
      for (; prompts < seen; prompts++) child.stdin.write(`${passphrase}\n`);
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, out });
    });
  });
}

test('sealed here, opened by age -d and by the library with the passphrase', async () => {
  const age = await loadAge();
  const e = new age.Encrypter();
  e.addRecipient(new NodeScryptRecipient(PASS));
  const sealed = Buffer.from(await e.encrypt('AGE-SECRET-KEY-1EXAMPLE\n'));
  expect(sealed.toString('latin1')).toMatch(/^age-encryption\.org\/v1\n-> scrypt [A-Za-z0-9+/]{22} 18\n/);
  const file = path.join(dir, 'key.age');
  await writeFile(file, sealed);
  const plain = path.join(dir, 'key.txt');
  const r = await ageOnTerminal(['-d', '-o', plain, file], PASS);
  expect(r.code).toBe(0);
  expect(await readFile(plain, 'utf8')).toBe('AGE-SECRET-KEY-1EXAMPLE\n');

  const d = new age.Decrypter();
  d.addPassphrase(PASS);
  expect(await d.decrypt(sealed, 'text')).toBe('AGE-SECRET-KEY-1EXAMPLE\n');
}, 90_000);

test('sealed by age -p, opened here; a wrong passphrase matches no identity', async () => {
  const age = await loadAge();
  const src = path.join(dir, 'msg.txt');
  const file = path.join(dir, 'msg.age');
  await writeFile(src, 'sealed by age itself\n');
  const r = await ageOnTerminal(['-p', '-o', file, src], PASS);
  expect(r.code).toBe(0);
  const sealed = await readFile(file);

  const d = new age.Decrypter();
  d.addIdentity(new NodeScryptIdentity(PASS));
  expect(await d.decrypt(sealed, 'text')).toBe('sealed by age itself\n');

  const wrong = new age.Decrypter();
  wrong.addIdentity(new NodeScryptIdentity('not the passphrase'));
  await expect(wrong.decrypt(sealed, 'text')).rejects.toThrow(/no identity matched/);
}, 90_000);

test('a malformed scrypt stanza is refused; a file without one is not ours to open', async () => {
  const { Stanza } = await loadAge();
  const id = new NodeScryptIdentity(PASS);
  const body = Buffer.alloc(32);
  const salt = 'WUpdEWwMryC+kEW8/WT6OQ';
  const bad: Array<[string[], Buffer, RegExp]> = [
    [['scrypt', salt, '018'], body, /invalid scrypt stanza/],
    [['scrypt', salt, '0'], body, /invalid scrypt stanza/],
    [['scrypt', salt, '21'], body, /work factor is too high/],
    [['scrypt', 'WUpdEWwMryC+kEW8/WT6OR', '10'], body, /invalid scrypt stanza/], // not canonical
    [['scrypt', `${salt}==`, '10'], body, /invalid scrypt stanza/],
    [['scrypt', salt], body, /invalid scrypt stanza/],
    [['scrypt', salt, '10', 'extra'], body, /invalid scrypt stanza/],
    [['scrypt', salt, '10'], body.subarray(0, 31), /invalid stanza/],
  ];
  for (const [args, b, want] of bad) await expect(id.unwrapFileKey([new Stanza(args, b)])).rejects.toThrow(want);
  await expect(
    id.unwrapFileKey([new Stanza(['scrypt', salt, '10'], body), new Stanza(['X25519', 'abc'], body)]),
  ).rejects.toThrow(/not the only one/);
  expect(await id.unwrapFileKey([new Stanza(['X25519', 'abc'], body)])).toBeNull();
  // Well formed, another passphrase (a zero body does not open): no match.
  expect(await id.unwrapFileKey([new Stanza(['scrypt', salt, '10'], body)])).toBeNull();
});
