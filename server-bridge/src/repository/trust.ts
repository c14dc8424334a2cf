/**
 * Which signatures this host trusts: the fingerprints configured outside the repository
 * (trust.fingerprints, --trust) plus this host's own signing key. Nothing stored in a repository
 * can add to that list, so an attacker who can write the repository or the bucket can delete or
 * damage snapshots but cannot make a forged one trusted.
 */
import path from 'node:path';
import { NotFoundError, NotRegularFileError, UsageError, VerificationError } from '../core/errors';
import type { Manifest } from '../manifest/manifest';
import { readBufferAtMost, type Storage } from '../storage/storage';
import { FileTooLargeError, tooLarge } from './read_limits';
import type { Repository } from './repository';
import { checkSignature, FINGERPRINT, SigningKey, type SignedKind, type TrustVerdict } from './signing';

/** A snapshot that is unsigned, signed by an untrusted key or changed after signing (exit 4). */
export class UntrustedSnapshotError extends VerificationError {
  constructor(
    message: string,
    readonly verdict: TrustVerdict,
    hint: string,
  ) {
    super(message, [{ component: 'manifest', problem: verdict.reason ?? verdict.state }], { hint });
  }
}

export const SIGNING_KEY_NAME = 'mm-backup-signing.key';

/** The signing key file for a config: trust.signingKeyFile, else beside the config file; none without a config file. */
export function signingKeyFile(cfg: { configFile: string; trust?: { signingKeyFile?: string } }): string | undefined {
  if (cfg.trust?.signingKeyFile) return cfg.trust.signingKeyFile;
  return path.isAbsolute(cfg.configFile) ? path.join(path.dirname(cfg.configFile), SIGNING_KEY_NAME) : undefined;
}

export class TrustPolicy {
  private key?: Promise<SigningKey | undefined>;

  /**
   * `keyFile` undefined: this host has no signing key (no config file); nothing it writes is signed.
   * `onCreated` is told once when the key is made, so the fingerprint can be shown to the admin.
   */
  constructor(
    private readonly configured: readonly string[],
    readonly keyFile: string | undefined,
    private readonly onCreated: (key: SigningKey) => void = () => {},
  ) {}

  /** The same policy also trusting `extra` (e.g. --trust flags); each must be a fingerprint. */
  withExtra(extra: readonly string[] | undefined): TrustPolicy {
    if (!extra?.length) return this;
    for (const f of extra) {
      if (!FINGERPRINT.test(f)) {
        throw new UsageError(
          `--trust: "${f}" is not a key fingerprint (expected ed25519:… as printed by mm-backup keygen)`,
        );
      }
    }
    const p = new TrustPolicy([...this.configured, ...extra], this.keyFile, this.onCreated);
    p.key = this.key;
    return p;
  }

  /** This host's key for signing, made on first use. */
  signer(): Promise<SigningKey | undefined> {
    if (!this.keyFile) return Promise.resolve(undefined);
    const file = this.keyFile;
    this.key = (this.key ?? Promise.resolve(undefined)).then(async (k) => {
      if (k) return k;
      const { key, created } = await SigningKey.loadOrCreate(file);
      if (created) this.onCreated(key);
      return key;
    });
    return this.key;
  }

  /** This host's key if it exists (never made by a read). */
  ownKey(): Promise<SigningKey | undefined> {
    if (!this.keyFile) return Promise.resolve(undefined);
    const file = this.keyFile;
    this.key = (this.key ?? Promise.resolve(undefined)).then(async (k) => k ?? SigningKey.load(file));
    return this.key;
  }

  async trusted(): Promise<Set<string>> {
    const own = await this.ownKey();
    return new Set([...this.configured, ...(own ? [own.fingerprint] : [])]);
  }

  async check(kind: SignedKind, snapshotId: string, sha256: string, sig: Buffer | undefined): Promise<TrustVerdict> {
    return checkSignature(sig, kind, snapshotId, sha256, await this.trusted());
  }

  /** Whether a manifest loaded from `repo` is signed by a trusted key, for exactly the bytes read. */
  async checkManifest(repo: Repository, m: Manifest): Promise<TrustVerdict> {
    const origin = repo.manifestOrigin(m);
    if (!origin) return { state: 'untrusted', reason: 'it was not read from the repository' };
    if (origin.keyId !== m.id) {
      return { state: 'untrusted', reason: `the file of snapshot ${origin.keyId} holds snapshot ${m.id}` };
    }
    let sig: Buffer | undefined;
    try {
      sig = await repo.readSignature(origin.keyId);
    } catch (err) {
      // A huge signature file is a damaged one, and so is one that is no regular file (a link, a
      // FIFO): untrusted, like any other that does not check out. Any other failure (the network,
      // permissions, credentials) is not a finding about the snapshot: it is reported as it is.
      if (!(err instanceof FileTooLargeError) && !(err instanceof NotRegularFileError)) throw err;
      return { state: 'untrusted', reason: `its signature file is damaged (${err.message})` };
    }
    return this.check('manifest', origin.keyId, origin.sha256, sig);
  }

  /**
   * The newest snapshot accepted by `match` that is signed by a trusted key: a backup's parent.
   * A backup takes the parent's checksums for unchanged files and signs them as its own, so an
   * unsigned or forged parent (planted in the repository) would be laundered into a trusted one.
   */
  async newestTrusted(repo: Repository, match: (m: Manifest) => boolean): Promise<Manifest | undefined> {
    return repo.newestSnapshot(match, async (full) => (await this.checkManifest(repo, full)).state === 'signed');
  }

  /**
   * Throws UntrustedSnapshotError unless `m` is signed by a trusted key. `allowUnsigned` (restore's
   * documented override for repositories made before signing) accepts a manifest with no signature
   * file at all, never one with a bad signature or another key's.
   */
  async requireManifest(
    repo: Repository,
    m: Manifest,
    opts: { allowUnsigned?: boolean; action: string },
  ): Promise<TrustVerdict> {
    const v = await this.checkManifest(repo, m);
    if (v.state === 'signed' || (v.state === 'unsigned' && opts.allowUnsigned)) return v;
    if (v.state === 'unsigned') {
      throw new UntrustedSnapshotError(
        `snapshot ${m.id} is not signed, so it is not ${opts.action}: it may come from a repository made before signing, or its signature was removed`,
        v,
        'if this repository predates snapshot signing, run mm-backup sign-snapshots on the host that made it; to use this snapshot anyway pass --allow-unsigned (see docs/security.md)',
      );
    }
    throw new UntrustedSnapshotError(
      `snapshot ${m.id} is untrusted and is not ${opts.action}: ${v.reason}`,
      v,
      v.keyNotTrusted
        ? `if ${v.fingerprint} is one of your own (older) keys, add it to trust.fingerprints or pass --trust ${v.fingerprint}; otherwise someone else wrote this snapshot`
        : 'someone or something changed the repository; restore another snapshot (mm-backup list) and see docs/security.md',
    );
  }
}

/**
 * Reads a key whole, or undefined when it does not exist; never more than `max` bytes
 * (read_limits.ts): past them `tooLong(max)`, by default a FileTooLargeError naming the key.
 */
export async function readOptional(
  storage: Storage,
  key: string,
  max: number,
  tooLong: (max: number) => Error = tooLarge(key),
): Promise<Buffer | undefined> {
  try {
    return await readBufferAtMost(storage, key, max, tooLong);
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}
