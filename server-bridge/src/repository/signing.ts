/**
 * Ed25519 signatures over repository records (snapshot manifests, verification records). What is
 * signed is a fixed message naming the kind of record, its snapshot id and the SHA-256 of its exact
 * stored bytes, so a signature cannot be moved to another snapshot or another kind of record. The
 * signature file carries the public key, but trust comes only from a fingerprint list configured
 * outside the repository (see TrustPolicy): whoever can write the repository can also write keys.
 */
import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  createPrivateKey,
  type KeyObject,
} from 'node:crypto';
import { open, readFile, stat } from 'node:fs/promises';
import { z } from 'zod';
import { ConfigError } from '../core/errors';

export type SignedKind = 'manifest' | 'verification';

/** `ed25519:` + base64url(SHA-256(raw 32-byte public key)): what admins compare and configure. */
export { FINGERPRINT } from '../core/fingerprint';

const signatureSchema = z.object({
  format: z.literal('mm-backup-signature'),
  version: z.literal(1),
  kind: z.enum(['manifest', 'verification']),
  snapshotId: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  fingerprint: z.string(),
  publicKey: z.string(),
  signature: z.string(),
});
export type SignatureFile = z.infer<typeof signatureSchema>;

/** The exact bytes signed; built from the reader's own values, never from the signature file's. */
function message(kind: SignedKind, snapshotId: string, sha256: string): Buffer {
  return Buffer.from(`mm-backup signature v1\n${kind}\n${snapshotId}\n${sha256}\n`);
}

function rawPublicKey(key: KeyObject): Buffer {
  // The JWK "x" member of an Ed25519 key is its raw 32 bytes.
  return Buffer.from(key.export({ format: 'jwk' }).x as string, 'base64url');
}

export function fingerprintOf(publicKey: KeyObject): string {
  return `ed25519:${createHash('sha256').update(rawPublicKey(publicKey)).digest('base64url')}`;
}

/** This host's signing key. The private half never leaves this object (not logged, not serialised). */
export class SigningKey {
  readonly fingerprint: string;
  private constructor(
    private readonly privateKey: KeyObject,
    private readonly publicKey: KeyObject,
    readonly file: string,
  ) {
    this.fingerprint = fingerprintOf(publicKey);
  }

  /**
   * Loads the key from `file`, or makes it when the file does not exist (0600, never overwritten;
   * a concurrent maker wins and its key is loaded). `created` is true only for the maker.
   */
  static async loadOrCreate(file: string): Promise<{ key: SigningKey; created: boolean }> {
    const existing = await SigningKey.load(file);
    if (existing) return { key: existing, created: false };
    const { privateKey } = generateKeyPairSync('ed25519');
    let fh;
    try {
      fh = await open(file, 'wx', 0o600);
    } catch (err) {
      const raced = (err as NodeJS.ErrnoException).code === 'EEXIST' ? await SigningKey.load(file) : undefined;
      if (raced) return { key: raced, created: false };
      throw new ConfigError(
        `cannot create the snapshot signing key ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
        [],
        {
          cause: err,
          hint: 'make the directory writable, or set trust.signingKeyFile to a writable path',
        },
      );
    }
    try {
      await fh.writeFile(privateKey.export({ format: 'pem', type: 'pkcs8' }));
      await fh.sync();
    } finally {
      await fh.close();
    }
    return { key: new SigningKey(privateKey, createPublicKey(privateKey), file), created: true };
  }

  /** The key in `file`, or undefined when there is none; a key readable by others is refused. */
  static async load(file: string): Promise<SigningKey | undefined> {
    let pem: string;
    try {
      const st = await stat(file);
      if (st.mode & 0o077) {
        throw new ConfigError(`the snapshot signing key ${file} is readable by others`, [], {
          hint: `chmod 600 ${file}`,
        });
      }
      pem = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      if (err instanceof ConfigError) throw err;
      throw new ConfigError(
        `cannot read the snapshot signing key ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
        [],
        { cause: err },
      );
    }
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey(pem);
    } catch {
      // The parser's message could quote key material: say only that it is not a key.
      throw new ConfigError(`the snapshot signing key ${file} is not a valid private key`, [], {
        cause: new Error('unparsable key'),
      });
    }
    if (privateKey.asymmetricKeyType !== 'ed25519') {
      throw new ConfigError(`the snapshot signing key ${file} is not an Ed25519 key`);
    }
    return new SigningKey(privateKey, createPublicKey(privateKey), file);
  }

  /** The signature file for a record of `kind` whose stored bytes hash to `sha256`. */
  sign(kind: SignedKind, snapshotId: string, sha256: string): Buffer {
    const body: SignatureFile = {
      format: 'mm-backup-signature',
      version: 1,
      kind,
      snapshotId,
      sha256,
      fingerprint: this.fingerprint,
      publicKey: rawPublicKey(this.publicKey).toString('base64'),
      signature: sign(null, message(kind, snapshotId, sha256), this.privateKey).toString('base64'),
    };
    return Buffer.from(`${JSON.stringify(body, null, 2)}\n`);
  }
}

export type TrustState = 'signed' | 'unsigned' | 'untrusted';

export interface TrustVerdict {
  state: TrustState;
  /** The signer's fingerprint, when the signature file names a valid key. */
  fingerprint?: string;
  /** Why a record is not trusted, for messages. */
  reason?: string;
  /** The signature is valid but its key is not in the trusted list (an older key, or someone else's). */
  keyNotTrusted?: boolean;
}

/**
 * Checks a signature file against a record: valid for exactly this kind, id and content, and made
 * by a key whose fingerprint is in `trusted`. `sig` undefined means there is no signature file.
 */
export function checkSignature(
  sig: Buffer | undefined,
  kind: SignedKind,
  snapshotId: string,
  sha256: string,
  trusted: ReadonlySet<string>,
): TrustVerdict {
  if (!sig) return { state: 'unsigned', reason: 'it has no signature' };
  let parsed: SignatureFile;
  try {
    parsed = signatureSchema.parse(JSON.parse(sig.toString('utf8')));
  } catch {
    return { state: 'untrusted', reason: 'its signature file is damaged' };
  }
  let key: KeyObject;
  try {
    const raw = Buffer.from(parsed.publicKey, 'base64');
    if (raw.length !== 32) throw new Error('bad length');
    key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
  } catch {
    return { state: 'untrusted', reason: 'its signature names an invalid public key' };
  }
  const fingerprint = fingerprintOf(key);
  if (!verify(null, message(kind, snapshotId, sha256), key, Buffer.from(parsed.signature, 'base64'))) {
    return {
      state: 'untrusted',
      fingerprint,
      reason: `its signature does not match its content (changed after signing, or a signature of another ${kind === 'manifest' ? 'snapshot' : 'record'})`,
    };
  }
  if (!trusted.has(fingerprint)) {
    return {
      state: 'untrusted',
      fingerprint,
      keyNotTrusted: true,
      reason: `it is signed by key ${fingerprint}, which is not trusted here`,
    };
  }
  return { state: 'signed', fingerprint };
}

export function sha256Hex(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}
