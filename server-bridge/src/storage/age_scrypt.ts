/**
 * age's passphrase stanza (the age format's "scrypt recipient stanza"), with Node's scrypt. The
 * age library derives the key in JavaScript on the main thread: about 0.9 s of CPU for each
 * command that opens a passphrase-protected repository key, and now and then 4-5 s (1 run in
 * 10-20 measured here: its hot loop left in a slower compiler tier), with the event loop stopped
 * all along. crypto.scrypt is OpenSSL's and runs in libuv's thread pool. Same stanza, same checks
 * as the library's ScryptRecipient and ScryptIdentity; the files are ordinary age files that
 * `age -d` and the library open with the passphrase (tests check both ways, with each).
 */
import {
  createCipheriv,
  createDecipheriv,
  randomBytes,
  scrypt as scryptCallback,
  type ScryptOptions,
} from 'node:crypto';
import { loadAge } from './age';
import type { AgeModule } from './age';

type Stanza = InstanceType<AgeModule['Stanza']>;

const LABEL = 'age-encryption.org/v1/scrypt';
/** The work factor age itself writes (2^18), and the largest one the library accepts when reading. */
export const SCRYPT_LOG_N = 18;
const MAX_LOG_N = 20;
/** 16 bytes in base64 without padding: 22 characters, the last one's low bits zero (canonical). */
const SALT = /^[A-Za-z0-9+/]{21}[AQgw]$/;

function deriveKey(passphrase: string, salt: Buffer, logN: number): Promise<Buffer> {
  const N = 2 ** logN;
  const opts: ScryptOptions = { N, r: 8, p: 1, maxmem: 2 * 128 * N * 8 };
  return new Promise((resolve, reject) => {
    scryptCallback(passphrase, Buffer.concat([Buffer.from(LABEL), salt]), 32, opts, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

/** Encrypts a file key to a passphrase; use it as the only recipient (age allows no other beside it). */
export class NodeScryptRecipient {
  constructor(
    private readonly passphrase: string,
    private readonly logN = SCRYPT_LOG_N,
  ) {}

  async wrapFileKey(fileKey: Uint8Array): Promise<Stanza[]> {
    const salt = randomBytes(16);
    const key = await deriveKey(this.passphrase, salt, this.logN);
    const c = createCipheriv('chacha20-poly1305', key, Buffer.alloc(12), { authTagLength: 16 });
    const body = Buffer.concat([c.update(fileKey), c.final(), c.getAuthTag()]);
    const { Stanza } = await loadAge();
    return [new Stanza(['scrypt', salt.toString('base64').replace(/=+$/, ''), String(this.logN)], body)];
  }
}

/**
 * Opens a file key sealed to a passphrase: null when the file has no scrypt stanza or the
 * passphrase is not its own (the library then reports that no identity matched); throws on a
 * malformed stanza, as the library does.
 */
export class NodeScryptIdentity {
  constructor(private readonly passphrase: string) {}

  async unwrapFileKey(stanzas: Stanza[]): Promise<Uint8Array | null> {
    for (const s of stanzas) {
      if (s.args[0] !== 'scrypt') continue;
      if (stanzas.length !== 1) throw new Error('scrypt recipient is not the only one in the header');
      const [, salt, logN] = s.args;
      if (s.args.length !== 3 || !SALT.test(salt ?? '') || !/^[1-9][0-9]*$/.test(logN ?? '')) {
        throw new Error('invalid scrypt stanza');
      }
      if (Number(logN) > MAX_LOG_N) throw new Error('scrypt work factor is too high');
      if (s.body.length !== 32) throw new Error('invalid stanza');
      const key = await deriveKey(this.passphrase, Buffer.from(salt as string, 'base64'), Number(logN));
      const d = createDecipheriv('chacha20-poly1305', key, Buffer.alloc(12), { authTagLength: 16 });
      d.setAuthTag(s.body.subarray(16));
      try {
        return new Uint8Array(Buffer.concat([d.update(s.body.subarray(0, 16)), d.final()]));
      } catch {
        return null; // another passphrase
      }
    }
    return null;
  }
}
