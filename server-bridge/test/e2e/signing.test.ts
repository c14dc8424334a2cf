/**
 * Snapshot signatures through the real CLI on a real install (PostgreSQL, the stand-in): backups
 * are signed; a changed manifest, one re-signed with another key, a removed signature and a
 * signature moved from another snapshot are refused by verify and restore (exit 4) and listed as
 * untrusted; a repository from before signing is signed once by sign-snapshots, only after its
 * snapshots verify; --allow-unsigned is the documented override; after a key rotation old
 * snapshots verify while the old fingerprint is trusted.
 */
import { copyFile, readFile, rename, rm, stat, writeFile, readdir } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { SigningKey } from '../../src/repository/signing';
import { setupE2E, isUp, type E2E } from '../support/e2e_env';
import { corruptObject, putObjectBack } from '../support/object_files';

let env: E2E;
let first: string;
let second: string;
let fingerprint: string;

const snap = (id: string, ext = 'json') => path.join(env.repo, 'snapshots', `${id}.${ext}`);
const trustOf = async (...args: string[]) =>
  Object.fromEntries(
    ((await env.cli('list', ...args)).summary?.snapshots ?? []).map((s: { id: string; trust: string }) => [
      s.id,
      s.trust,
    ]),
  );

/** Runs `fn` with the manifest (and signature) of `id` as they are now put back afterwards. */
async function restoring(id: string, fn: () => Promise<void>): Promise<void> {
  const json = await readFile(snap(id));
  const sig = await readFile(snap(id, 'sig')).catch(() => undefined);
  try {
    await fn();
  } finally {
    await writeFile(snap(id), json);
    if (sig) await writeFile(snap(id, 'sig'), sig);
    else await rm(snap(id, 'sig'), { force: true });
  }
}

async function refused(id: string, message: RegExp): Promise<void> {
  const v = await env.cli('verify', id);
  expect(v.code).toBe(4);
  expect(v.stderr).toMatch(message);
  // In place, with --yes: it must be refused before Mattermost is stopped or anything is written.
  const r = await env.cli('restore', id, '--yes');
  expect(r.code).toBe(4);
  expect(r.stderr).toMatch(message);
  expect(r.events.some((e) => e.type === 'step.started' && e.step === 'stop')).toBe(false);
  expect(await isUp(env.url)).toBe(true);
}

beforeAll(async () => {
  env = await setupE2E('postgres', { size: { posts: 60, attachments: 6, attachmentBytes: 50_000 } });
  await env.writeConfig({ backup: { mode: 'online' } });
}, 240_000);
afterAll(async () => {
  await env?.cleanup();
});

test('a backup signs its manifest with a key made once beside the config (0600), and says its fingerprint', async () => {
  const b = await env.cli('backup');
  expect(b.code).toBe(0);
  first = b.summary?.snapshot.id;
  const keyFile = path.join(path.dirname(env.cfgFile), 'mm-backup-signing.key');
  expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
  const notice = b.events.find((e) => e.type === 'log' && /created the snapshot signing key/.test(e.message));
  fingerprint = /fingerprint is (ed25519:[A-Za-z0-9_-]{43})/.exec(notice?.message ?? '')?.[1] as string;
  expect(fingerprint).toBeDefined();
  // The key never appears in what is printed or stored.
  const pem = await readFile(keyFile, 'utf8');
  const body = pem.split('\n')[1] as string;
  expect(b.stdout + b.stderr).not.toContain(body);
  expect(await readFile(snap(first, 'sig'), 'utf8')).toContain(fingerprint);

  await writeFile(path.join(env.sb.installDir, 'data', 'only-in-second.bin'), `second ${Date.now()}\n`.repeat(2000));
  const b2 = await env.cli('backup');
  expect(b2.code).toBe(0);
  second = b2.summary?.snapshot.id;
  expect(b2.events.some((e) => e.type === 'log' && /created the snapshot signing key/.test(e.message))).toBe(false);
  const list = await env.cli('list');
  expect(list.summary?.signing_key).toBe(fingerprint);
  expect(await trustOf()).toEqual({ [first]: 'signed', [second]: 'signed' });
  expect((await env.cli('verify', second)).code).toBe(0);
});

test('one changed byte in a manifest: verify and restore refuse it, list shows it untrusted', async () => {
  await restoring(second, async () => {
    const text = await readFile(snap(second), 'utf8');
    await writeFile(snap(second), text.replace(/"host":"([^"]*)"/, '"host":"$1x"'));
    expect((await trustOf())[second]).toBe('untrusted');
    await refused(second, /snapshot .* is untrusted .*signature does not match its content/);
  });
});

test('a manifest rewritten and re-signed with another key is refused, naming that key', async () => {
  const attacker = (await SigningKey.loadOrCreate(path.join(env.root, 'attacker.key'))).key;
  await restoring(second, async () => {
    const text = Buffer.from((await readFile(snap(second), 'utf8')).replace(/"host":"([^"]*)"/, '"host":"evil"'));
    await writeFile(snap(second), text);
    await writeFile(
      snap(second, 'sig'),
      attacker.sign('manifest', second, createHash('sha256').update(text).digest('hex')),
    );
    expect((await trustOf())[second]).toBe('untrusted');
    await refused(second, new RegExp(`signed by key ${attacker.fingerprint}, which is not trusted`));
  });
});

test('a removed signature: refused as not signed; --allow-unsigned is the override', async () => {
  await restoring(first, async () => {
    await rm(snap(first, 'sig'));
    expect((await trustOf())[first]).toBe('unsigned');
    await refused(first, /snapshot .* is not signed/);
    const r = await env.cli('restore', first, '--yes');
    expect(r.stderr).toMatch(/--allow-unsigned/);
    const v = await env.cli('verify', first, '--allow-unsigned');
    expect(v.code).toBe(0);
    const ok = await env.cli('restore', first, '--yes', '--allow-unsigned', '--components', 'data');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/is not signed; restored because --allow-unsigned was given/);
    expect(await isUp(env.url)).toBe(true);
  });
});

test('a signature moved from another snapshot is refused', async () => {
  await restoring(first, async () => {
    await copyFile(snap(second, 'sig'), snap(first, 'sig'));
    expect((await trustOf())[first]).toBe('untrusted');
    await refused(first, /signature does not match its content/);
  });
});

test('a repository from before signing: listed unsigned until sign-snapshots verifies and signs it; a damaged snapshot stays unsigned', async () => {
  const dir = path.join(env.repo, 'snapshots');
  const saved = new Map<string, Buffer>();
  for (const n of (await readdir(dir)).filter((x) => x.endsWith('.sig'))) {
    saved.set(n, await readFile(path.join(dir, n)));
    await rm(path.join(dir, n));
  }
  for (const n of await readdir(path.join(env.repo, 'verifications')).catch(() => [] as string[])) {
    await rm(path.join(env.repo, 'verifications', n));
  }
  const ids = Object.keys(await trustOf());
  expect(Object.values(await trustOf()).every((t) => t === 'unsigned')).toBe(true);

  // One object only the second snapshot has is damaged: that snapshot must not be signed.
  const m = (await env.cli('show', second)).summary?.manifest;
  const entry = m.components
    .find((c: { id: string }) => c.id === 'data')
    .entries.find((e: { path: string }) => e.path === 'only-in-second.bin');
  const good = await corruptObject(env.repo, entry.sha256, 10);
  try {
    const s = await env.cli('sign-snapshots');
    expect(s.code).toBe(4);
    expect(s.stderr).toMatch(new RegExp(`${second}: failed verification, not signed`));
    const after = await trustOf();
    expect(after[second]).toBe('unsigned');
    expect(after[first]).toBe('signed');
    // Every snapshot holding the damaged object (the safety snapshot taken above holds it too) stays unsigned, the rest are signed.
    for (const id of ids) {
      expect(after[id]).toBe(s.stderr.includes(`${id}: failed verification`) ? 'unsigned' : 'signed');
    }
  } finally {
    await putObjectBack(env.repo, entry.sha256, good);
  }
  const again = await env.cli('sign-snapshots');
  expect(again.code).toBe(0);
  expect(again.summary?.signed).toContain(second);
  expect(Object.values(await trustOf()).every((t) => t === 'signed')).toBe(true);
  // The records sign-snapshots wrote count as verifications.
  expect((await env.cli('list')).summary?.snapshots.find((s: { id: string }) => s.id === first).verification).toBe(
    'ok',
  );
  const r = await env.cli('restore', first, '--yes', '--components', 'data');
  expect(r.code).toBe(0);
  // A snapshot signed by another key is never re-signed (that would launder a forgery).
  const attacker = (await SigningKey.loadOrCreate(path.join(env.root, 'attacker.key'))).key;
  await restoring(first, async () => {
    const bytes = await readFile(snap(first));
    await writeFile(
      snap(first, 'sig'),
      attacker.sign('manifest', first, createHash('sha256').update(bytes).digest('hex')),
    );
    const s = await env.cli('sign-snapshots');
    expect(s.code).toBe(4);
    expect(s.stderr).toMatch(new RegExp(`${first}: not re-signed: it is signed by key ${attacker.fingerprint}`));
    expect(await readFile(snap(first, 'sig'), 'utf8')).toContain(attacker.fingerprint);
  });
  expect(saved.size).toBeGreaterThan(0);
});

test('key rotation: a new key signs new snapshots; old ones verify while the old fingerprint is trusted', async () => {
  const keyFile = path.join(path.dirname(env.cfgFile), 'mm-backup-signing.key');
  await rename(keyFile, `${keyFile}.old`);
  const b = await env.cli('backup');
  expect(b.code).toBe(0);
  const third = b.summary?.snapshot.id;
  const newFp = /fingerprint is (ed25519:[A-Za-z0-9_-]{43})/.exec(
    b.events.find((e) => e.type === 'log' && /created the snapshot signing key/.test(e.message))?.message ?? '',
  )?.[1];
  expect(newFp).toBeDefined();
  expect(newFp).not.toBe(fingerprint);
  const pick = (t: Record<string, string>) => [t[first], t[second], t[third]];
  expect(pick(await trustOf())).toEqual(['untrusted', 'untrusted', 'signed']);
  const refusedOld = await env.cli('verify', first);
  expect(refusedOld.code).toBe(4);
  expect(refusedOld.stderr).toContain(`--trust ${fingerprint}`);
  expect((await env.cli('verify', first, '--trust', fingerprint)).code).toBe(0);
  await env.writeConfig({ backup: { mode: 'online' }, trust: { fingerprints: [fingerprint] } });
  expect(pick(await trustOf())).toEqual(['signed', 'signed', 'signed']);
  expect((await env.cli('verify', second)).code).toBe(0);
  const bad = await env.cli('list', '--trust', 'not-a-fingerprint');
  expect(bad.code).toBe(2);
});
