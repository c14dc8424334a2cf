/**
 * Opens the off-site repository described by the `offsite` config block: S3, age encryption when
 * configured, retries around both. The plaintext marker (repository.json, repository/marker.ts)
 * records whether the repository is encrypted, and a small key-check file proves up front that the
 * configured key opens it, so a wrong or missing key fails with one clear message instead of on
 * every object. Keys and file names come from repository/layout.ts.
 */
import { readSecretFile } from '../config/load';
import type { Config } from '../config/schema';
import { ConfigError, NotFoundError, PreconditionError } from '../core/errors';
import { registerSecret } from '../core/redact';
import { Repository } from '../repository/repository';
import { isPlaintextKey, KEY_CHECK_KEY, MARKER_KEY, SEALED_KEY_KEY } from '../repository/layout';
import { markerText, newMarker, readMarker, refuseUnmarkedData, type RepositoryMarker } from '../repository/marker';
import { MAX_KEY_FILE_BYTES } from '../repository/read_limits';
import { readOptional } from '../repository/trust';
import { loadAge } from '../storage/age';
import { NodeScryptIdentity, NodeScryptRecipient } from '../storage/age_scrypt';
import { EncryptedStorage } from '../storage/encrypted_storage';
import { RetryingStorage, type RetryPolicy } from '../storage/retrying_storage';
import type { Storage } from '../storage/storage';

export type OffsiteConfig = NonNullable<Config['offsite']>;

export interface OffsiteRepo {
  /** The whole stack (retries around encryption around S3); what Repository uses. */
  storage: RetryingStorage;
  repo: Repository;
  encrypted: boolean;
  /** False on a write-only host (recipients but no identity): backups work, reads do not. */
  canDecrypt: boolean;
  location: string;
}

const CHECK_TEXT = 'mm-backup key check\n';

export async function openOffsite(
  off: OffsiteConfig,
  opts: { create: boolean; stagingDir?: string; onRetry?: RetryPolicy['onRetry'] },
): Promise<OffsiteRepo> {
  // The AWS SDK is loaded only when an off-site repository is really used.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on use, as said above
  const { S3Storage } = require('../storage/s3_storage') as typeof import('../storage/s3_storage');
  const s3 = new S3Storage({
    bucket: off.s3.bucket,
    prefix: off.s3.prefix,
    region: off.s3.region,
    endpoint: off.s3.endpoint,
    forcePathStyle: off.s3.forcePathStyle,
    credentials: await credentials(off),
  });
  const policy: RetryPolicy = { ...off.retry, onRetry: opts.onRetry };
  const raw = new RetryingStorage(s3, policy);
  const location = s3.describe().location;
  const keys = await configuredKeys(off);
  let marker = await readMarker(raw);

  if (!marker) {
    if (!opts.create) {
      throw new NotFoundError(`there is no mm-backup repository at ${location}`, {
        hint: 'check the bucket, the prefix and the endpoint (s3://BUCKET/PREFIX)',
      });
    }
    await refuseUnmarkedData(raw);
    marker = await initialise(raw, keys);
  }

  const encrypted = marker.encryption === 'age';
  if (encrypted && !keys.configured) {
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      `the snapshots at ${location} are encrypted (age) and no key is configured`,
      {
        hint: 'set offsite.encryption.identityFile or passphraseFile, or MM_BACKUP_AGE_IDENTITY_FILE / MM_BACKUP_PASSPHRASE_FILE',
      },
    );
  }
  if (!encrypted && keys.configured) {
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      `the repository at ${location} is not encrypted, but offsite.encryption is configured`,
      {
        hint: 'use a new prefix for an encrypted repository, or remove offsite.encryption',
      },
    );
  }
  let storage: Storage = s3;
  let canDecrypt = true;
  if (encrypted) {
    if (keys.passphrase) await unlockRepositoryKey(raw, keys, location);
    const enc = new EncryptedStorage(
      s3,
      { recipients: unique([...keys.recipients, ...(marker.recipients ?? [])]), identities: keys.identities },
      isPlaintextKey,
    );
    canDecrypt = enc.canDecrypt;
    if (canDecrypt) await checkKey(raw, keys.identities, location);
    storage = enc;
  }
  const stack = new RetryingStorage(storage, policy);
  return {
    storage: stack,
    repo: await Repository.open(stack, { stagingDir: opts.stagingDir }),
    encrypted,
    canDecrypt,
    location,
  };
}

interface Keys {
  configured: boolean;
  recipients: string[];
  identities: string[];
  passphrase?: string;
}

/** Keys from the config, or from MM_BACKUP_AGE_IDENTITY_FILE / MM_BACKUP_PASSPHRASE_FILE (a new host has only those). */
async function configuredKeys(off: OffsiteConfig): Promise<Keys> {
  const e = off.encryption;
  const identityFile = e?.identityFile ?? process.env.MM_BACKUP_AGE_IDENTITY_FILE;
  const passphraseFile = e?.passphraseFile ?? process.env.MM_BACKUP_PASSPHRASE_FILE;
  const keys: Keys = {
    configured: !!(e || identityFile || passphraseFile),
    recipients: [...(e?.recipients ?? [])],
    identities: [],
  };
  if (identityFile) {
    const text = await readSecretFile(identityFile, 'offsite.encryption.identityFile');
    keys.identities = text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.startsWith('AGE-SECRET-KEY-'));
    if (!keys.identities.length) {
      throw new ConfigError(
        `offsite.encryption.identityFile: ${identityFile} holds no age identity (AGE-SECRET-KEY-1…)`,
      );
    }
    keys.identities.forEach(registerSecret);
    const age = await loadAge();
    for (const i of keys.identities) keys.recipients.push(await age.identityToRecipient(i));
  }
  if (passphraseFile) {
    keys.passphrase = await readSecretFile(passphraseFile, 'offsite.encryption.passphraseFile');
    if (keys.passphrase.length < 8) {
      throw new ConfigError(
        `offsite.encryption.passphraseFile: the passphrase in ${passphraseFile} is too short (8 characters at least)`,
      );
    }
    registerSecret(keys.passphrase);
  }
  keys.recipients = unique(keys.recipients);
  return keys;
}

/** First use of an empty prefix: key files first, the marker last (it says "initialised"). */
async function initialise(raw: Storage, keys: Keys): Promise<RepositoryMarker> {
  if (keys.configured) {
    const age = await loadAge();
    if (keys.passphrase) {
      // Objects are never scrypt-encrypted directly (that would cost a second of CPU per file):
      // they are encrypted to a repository key, and only that key is protected by the passphrase.
      const identity = await age.generateX25519Identity();
      const e = new age.Encrypter();
      e.addRecipient(new NodeScryptRecipient(keys.passphrase));
      await raw.put(SEALED_KEY_KEY, Buffer.from(await e.encrypt(`${identity}\n`)));
      keys.identities.push(identity);
      keys.recipients.push(await age.identityToRecipient(identity));
    }
    if (!keys.recipients.length) {
      throw new ConfigError('offsite.encryption: needs at least one recipient or identity to encrypt to');
    }
    const e = new age.Encrypter();
    keys.recipients.forEach((r) => e.addRecipient(r));
    await raw.put(KEY_CHECK_KEY, Buffer.from(await e.encrypt(CHECK_TEXT)));
  }
  const marker = newMarker(keys.configured ? { recipients: keys.recipients } : undefined);
  await raw.put(MARKER_KEY, markerText(marker));
  return marker;
}

async function unlockRepositoryKey(raw: Storage, keys: Keys, location: string): Promise<void> {
  const sealed = await readOptional(raw, SEALED_KEY_KEY, MAX_KEY_FILE_BYTES);
  if (!sealed) {
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      `the repository at ${location} has no passphrase-protected key (${SEALED_KEY_KEY})`,
      { hint: 'it was encrypted with recipient keys: configure the matching identityFile' },
    );
  }
  const age = await loadAge();
  const d = new age.Decrypter();
  d.addIdentity(new NodeScryptIdentity(keys.passphrase as string));
  let identity: string;
  try {
    identity = (await d.decrypt(sealed, 'text')).trim();
  } catch {
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      `the configured passphrase does not unlock the repository at ${location}`,
      { hint: 'check offsite.encryption.passphraseFile (or MM_BACKUP_PASSPHRASE_FILE)' },
    );
  }
  registerSecret(identity);
  keys.identities.push(identity);
  keys.recipients = unique([...keys.recipients, await age.identityToRecipient(identity)]);
}

/** Decrypts the key-check file with the configured identities: a wrong key is reported here, once. */
async function checkKey(raw: Storage, identities: string[], location: string): Promise<void> {
  const sealed = await readOptional(raw, KEY_CHECK_KEY, MAX_KEY_FILE_BYTES);
  if (!sealed) return; // created by a version without the check: objects will tell
  const age = await loadAge();
  const d = new age.Decrypter();
  identities.forEach((i) => d.addIdentity(i));
  try {
    if ((await d.decrypt(sealed, 'text')) === CHECK_TEXT) return;
  } catch (err) {
    if (/no identity matched/.test((err as Error).message)) {
      throw new PreconditionError(
        'PRECONDITION_FAILED',
        `the configured age key cannot decrypt the snapshots at ${location}: they were encrypted to other keys`,
        {
          hint: 'use the identity printed by mm-backup keygen when this repository was set up (offsite.encryption.identityFile or MM_BACKUP_AGE_IDENTITY_FILE)',
        },
      );
    }
  }
  throw new PreconditionError('PRECONDITION_FAILED', `the key check file ${KEY_CHECK_KEY} at ${location} is damaged`, {
    hint: 'the bucket content was changed; check who can write to it',
  });
}

async function credentials(off: OffsiteConfig): Promise<{ accessKeyId: string; secretAccessKey: string } | undefined> {
  // Keys from the standard AWS environment are secrets too: never echoed in an error.
  registerSecret(process.env.AWS_SECRET_ACCESS_KEY);
  registerSecret(process.env.AWS_SESSION_TOKEN);
  if (!off.s3.accessKeyIdFile || !off.s3.secretAccessKeyFile) return undefined;
  const accessKeyId = await readSecretFile(off.s3.accessKeyIdFile, 'offsite.s3.accessKeyIdFile');
  const secretAccessKey = await readSecretFile(off.s3.secretAccessKeyFile, 'offsite.s3.secretAccessKeyFile');
  registerSecret(secretAccessKey);
  return { accessKeyId, secretAccessKey };
}

function unique(a: string[]): string[] {
  return [...new Set(a)];
}
