/**
 * Snapshot signatures on a real repository directory: what a backup writes is signed before it is
 * visible, and every way of tampering with it (a changed byte, another key, a removed or moved
 * signature, a forged verification record) is reported as untrusted, never as signed.
 */
import { readFile, rename, rm, stat, symlink, truncate, writeFile, copyFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { makeTempDir, removeTempDir } from '@mm-backup/testkit';
import { LocalStorage } from '../../src/storage/local_storage';
import { ForwardingStorage } from '../../src/storage/forwarding_storage';
import type { ReadOptions } from '../../src/storage/storage';
import type { Readable } from 'node:stream';
import { StorageError } from '../../src/core/errors';
import { Repository } from '../../src/repository/repository';
import { SigningKey } from '../../src/repository/signing';
import { MAX_SIGNATURE_BYTES } from '../../src/repository/read_limits';
import { TrustPolicy } from '../../src/repository/trust';
import { readVerifications, writeVerification } from '../../src/repository/verifications';
import type { Manifest } from '../../src/manifest/manifest';

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir('signing-');
});
afterEach(async () => {
  await removeTempDir(dir);
});

function manifest(id: string): Manifest {
  return {
    format: 'mm-backup-snapshot',
    formatVersion: 1,
    id,
    startedAt: '2026-01-01T03:00:00.000Z',
    finishedAt: '2026-01-01T03:01:00.000Z',
    mode: 'offline',
    trigger: 'cli',
    host: 'h',
    installDir: '/opt/mattermost',
    mattermost: { configSource: 'file', fileDriver: 'local' },
    components: [
      {
        id: 'data',
        title: 'Files',
        status: 'included',
        exclude: [],
        root: '/opt/mattermost/data',
        rootInInstall: 'data',
        entries: [],
        files: 0,
        bytes: 0,
        newBytes: 0,
        filesRead: 0,
        durationMs: 0,
      },
    ],
    stats: { files: 0, bytes: 0, newBytes: 0, filesRead: 0, durationMs: 0, downtimeMs: 0 },
  };
}

const A = '20260101T030000Z-aaaaaa';
const B = '20260102T030000Z-bbbbbb';

async function setup(keyName = 'key') {
  const policy = new TrustPolicy([], path.join(dir, keyName));
  const storage = await LocalStorage.open(path.join(dir, 'repo'));
  const repo = await Repository.open(storage, { signer: () => policy.signer() });
  return { policy, storage, repo };
}

/** A fresh reader: the same repository directory opened again, trusting `policy`. */
async function verdict(policy: TrustPolicy, id: string) {
  const repo = await Repository.open(await LocalStorage.open(path.join(dir, 'repo')));
  const m = await repo.loadSnapshot(id);
  return policy.checkManifest(repo, m);
}

const file = (...p: string[]) => path.join(dir, 'repo', ...p);

test('a written manifest is signed by the host key (0600, made once) and trusted implicitly', async () => {
  const { policy, repo } = await setup();
  await repo.writeSnapshot(manifest(A));
  await repo.writeSnapshot(manifest(B));
  expect((await stat(path.join(dir, 'key'))).mode & 0o777).toBe(0o600);
  const own = await policy.ownKey();
  expect(await verdict(policy, A)).toEqual({ state: 'signed', fingerprint: own?.fingerprint });
  const sig = await readFile(file('snapshots', `${A}.sig`), 'utf8');
  expect(sig).toContain(own?.fingerprint);
  expect(sig).not.toContain('PRIVATE');
  // Another host's policy, with no key of its own and nothing configured, does not trust it.
  expect((await verdict(new TrustPolicy([], undefined), A)).state).toBe('untrusted');
  // ...until the fingerprint is passed (--trust / trust.fingerprints).
  expect((await verdict(new TrustPolicy([], undefined).withExtra([own?.fingerprint as string]), A)).state).toBe(
    'signed',
  );
});

test('one changed byte in the manifest makes it untrusted', async () => {
  const { policy, repo } = await setup();
  await repo.writeSnapshot(manifest(A));
  const text = await readFile(file('snapshots', `${A}.json`), 'utf8');
  await writeFile(file('snapshots', `${A}.json`), text.replace('"host":"h"', '"host":"x"'));
  const v = await verdict(policy, A);
  expect(v.state).toBe('untrusted');
  expect(v.reason).toMatch(/does not match its content/);
});

test('a manifest re-signed with another key is untrusted and names that key', async () => {
  const { policy, repo } = await setup();
  await repo.writeSnapshot(manifest(A));
  // The attacker rewrites the manifest and signs it with a key of their own.
  const other = await setup('attacker-key');
  await rm(file('snapshots', `${A}.json`));
  await rm(file('snapshots', `${A}.sig`));
  await other.repo.writeSnapshot({ ...manifest(A), host: 'evil' });
  const v = await verdict(policy, A);
  expect(v.state).toBe('untrusted');
  expect(v.fingerprint).toBe((await other.policy.ownKey())?.fingerprint);
  expect(v.reason).toMatch(/not trusted here/);
});

test('a removed signature makes the snapshot unsigned; a signature moved from another snapshot is untrusted', async () => {
  const { policy, repo } = await setup();
  await repo.writeSnapshot(manifest(A));
  await repo.writeSnapshot(manifest(B));
  await rm(file('snapshots', `${A}.sig`));
  expect((await verdict(policy, A)).state).toBe('unsigned');
  // B's manifest replaced by A's bytes with A's id swapped for B's, and A's signature copied over B's.
  await repo.writeSnapshot(manifest('20260103T030000Z-cccccc'));
  await copyFile(file('snapshots', '20260103T030000Z-cccccc.sig'), file('snapshots', `${B}.sig`));
  const v = await verdict(policy, B);
  expect(v.state).toBe('untrusted');
  expect(v.reason).toMatch(/does not match/);
});

test('a manifest file holding another snapshot (copied under a new name with its signature) is untrusted', async () => {
  const { policy, repo } = await setup();
  await repo.writeSnapshot(manifest(A));
  await copyFile(file('snapshots', `${A}.json`), file('snapshots', `${B}.json`));
  await copyFile(file('snapshots', `${A}.sig`), file('snapshots', `${B}.sig`));
  const v = await verdict(policy, B);
  expect(v.state).toBe('untrusted');
});

test('a signature file grown to 200 MB is untrusted, refused at its bound (read_limits.ts), not read whole', async () => {
  const { policy, repo } = await setup();
  await repo.writeSnapshot(manifest(A));
  await truncate(file('snapshots', `${A}.sig`), 200_000_000);
  const v = await verdict(policy, A);
  expect(v.state).toBe('untrusted');
  expect(v.reason).toBe(
    `its signature file is damaged (snapshots/${A}.sig is longer than ${MAX_SIGNATURE_BYTES} bytes (mm-backup never writes one that large), so it is not read)`,
  );
});

test('a signature file that is a link or a FIFO is untrusted (a finding), not a failure of the job', async () => {
  const { policy, repo } = await setup();
  await repo.writeSnapshot(manifest(A));
  const sig = file('snapshots', `${A}.sig`);
  await rename(sig, file('real.sig'));
  await symlink(file('real.sig'), sig);
  const linked = await verdict(policy, A);
  expect(linked).toMatchObject({ state: 'untrusted', reason: expect.stringMatching(/damaged .*symbolic link/) });
  await rm(sig);
  expect(spawnSync('mkfifo', [sig]).status).toBe(0);
  const t0 = Date.now();
  const fifo = await verdict(policy, A);
  expect(fifo).toMatchObject({ state: 'untrusted', reason: expect.stringMatching(/damaged .*not a regular file/) });
  expect(Date.now() - t0).toBeLessThan(2000);
});

// Only a signature file that is itself wrong makes a snapshot untrusted: a read the storage
// refuses for another reason (permissions, credentials) is reported as it is, not as tampering.
test('a signature file the storage cannot read (permission denied) is a storage error, not "untrusted"', async () => {
  const { policy, repo } = await setup();
  await repo.writeSnapshot(manifest(A));
  class DeniedSignatures extends ForwardingStorage {
    override get(key: string, opts?: ReadOptions): Promise<Readable> {
      if (key.endsWith('.sig')) {
        return Promise.reject(new StorageError(`cannot read ${key}: EACCES`, { permanent: true }));
      }
      return super.get(key, opts);
    }
    override load<T>(key: string, consume: (body: Readable) => Promise<T>, opts?: ReadOptions): Promise<T> {
      if (key.endsWith('.sig')) {
        return Promise.reject(new StorageError(`cannot read ${key}: EACCES`, { permanent: true }));
      }
      return super.load(key, consume, opts);
    }
  }
  const reader = await Repository.open(new DeniedSignatures(await LocalStorage.open(path.join(dir, 'repo'))));
  const m = await reader.loadSnapshot(A);
  await expect(policy.checkManifest(reader, m)).rejects.toThrow(/EACCES/);
});

test('requireManifest refuses unsigned (unless allowed) and untrusted (always), as verification failures', async () => {
  const { policy, repo } = await setup();
  await repo.writeSnapshot(manifest(A));
  await rm(file('snapshots', `${A}.sig`));
  const reader = await Repository.open(await LocalStorage.open(file()));
  const m = await reader.loadSnapshot(A);
  await expect(policy.requireManifest(reader, m, { action: 'restored' })).rejects.toMatchObject({
    code: 'VERIFICATION_FAILED',
    message: expect.stringMatching(/is not signed/),
  });
  await expect(policy.requireManifest(reader, m, { action: 'restored', allowUnsigned: true })).resolves.toMatchObject({
    state: 'unsigned',
  });
  await writeFile(file('snapshots', `${A}.sig`), '{"not":"a signature"}');
  const again = await reader.loadSnapshot(A);
  await expect(
    policy.requireManifest(reader, again, { action: 'restored', allowUnsigned: true }),
  ).rejects.toMatchObject({ code: 'VERIFICATION_FAILED', message: expect.stringMatching(/untrusted/) });
});

test('rotation: with a new key, old snapshots stay trusted only while the old fingerprint is configured', async () => {
  const { policy: oldPolicy, repo } = await setup('old-key');
  await repo.writeSnapshot(manifest(A));
  const oldFp = (await oldPolicy.ownKey())?.fingerprint as string;
  const rotated = new TrustPolicy([], path.join(dir, 'new-key'));
  const repo2 = await Repository.open(await LocalStorage.open(file()), { signer: () => rotated.signer() });
  await repo2.writeSnapshot(manifest(B));
  expect((await verdict(rotated, B)).state).toBe('signed');
  expect((await verdict(rotated, A)).state).toBe('untrusted');
  const withOld = new TrustPolicy([oldFp], path.join(dir, 'new-key'));
  expect((await verdict(withOld, A)).state).toBe('signed');
  expect((await verdict(withOld, B)).state).toBe('signed');
});

test('verification records: only signed, trusted, untampered ones count as verified', async () => {
  const { policy, storage } = await setup();
  const key = (await policy.signer()) as SigningKey;
  const rec = { snapshotId: A, at: '2026-01-01T04:00:00Z', deep: false, ok: true, issues: [] };
  await writeVerification(storage, rec, key);
  expect((await readVerifications(storage, policy)).get(A)?.ok).toBe(true);
  // A forged "failed → ok" edit of a signed record.
  await writeVerification(storage, { ...rec, snapshotId: B, ok: false }, key);
  const text = await readFile(file('verifications', `${B}.json`), 'utf8');
  await writeFile(file('verifications', `${B}.json`), text.replace('"ok":false', '"ok":true'));
  // A record written by someone without the key.
  await writeVerification(storage, { ...rec, snapshotId: '20260103T030000Z-cccccc' });
  const got = await readVerifications(storage, policy);
  expect([...got.keys()]).toEqual([A]);
});

test('a signing key readable by others is refused', async () => {
  const { policy } = await setup();
  await policy.signer();
  const { chmod } = await import('node:fs/promises');
  await chmod(path.join(dir, 'key'), 0o644);
  await expect(SigningKey.load(path.join(dir, 'key'))).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
});
