/**
 * Which storage holds the repository: the local directory, or (offsite.mode "direct") the bucket,
 * with the lock and staging still in the local repository.path. In mode "replicate" the off-site
 * repository is opened on demand, only by the commands that need it.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/schema';
import { PreconditionError } from '../core/errors';
import { redact } from '../core/redact';
import { LocalStorage } from '../storage/local_storage';
import type { RetryPolicy } from '../storage/retrying_storage';
import type { Storage } from '../storage/storage';
import { openOffsite, type OffsiteRepo } from './open_offsite';

/** The storage a repository is opened on (Repository owns staging, sync and cleanup on top of it). */
export type RepositoryStorage = Storage;

/**
 * Retries are rare and worth seeing: one line each (secrets redacted), said through the front
 * end's `warn` (the CLI's stderr, the sidecar's log).
 */
export function retryNotice(warn: (text: string) => void): RetryPolicy['onRetry'] {
  return ({ op, attempt, delayMs, error }) =>
    warn(
      `warning: ${redact(op)} failed (${redact(error.message)}); retrying in ${(delayMs / 1000).toFixed(1)} s (attempt ${attempt + 1})`,
    );
}

/** `stagingDir`: where a repository on a bucket stages objects (the local state directory's tmp/). */
export async function openRepositoryStorage(
  cfg: Config,
  opts: { create?: boolean; warn?: (text: string) => void } = {},
): Promise<{ storage: RepositoryStorage; direct?: OffsiteRepo; stagingDir?: string }> {
  if (cfg.offsite?.mode !== 'direct') return { storage: await LocalStorage.open(cfg.repository.path) };
  const stagingDir = path.join(cfg.repository.path, 'tmp');
  await mkdir(stagingDir, { recursive: true, mode: 0o700 });
  const direct = await openOffsite(cfg.offsite, {
    create: opts.create ?? true,
    stagingDir,
    onRetry: retryNotice(opts.warn ?? (() => undefined)),
  });
  if (opts.create === false && !direct.canDecrypt) {
    // Reading (--from, --offsite) with only public keys would list every snapshot as unreadable.
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      `the snapshots at ${direct.location} are encrypted and this host has only public keys (recipients): it can write copies but not read them`,
      {
        hint: 'set MM_BACKUP_AGE_IDENTITY_FILE (or offsite.encryption.identityFile / passphraseFile) to the identity printed by mm-backup keygen',
      },
    );
  }
  return { storage: direct.storage, direct, stagingDir };
}

/** The off-site copy in mode "replicate", opened (and created) once per command when first needed. */
export function lazyOffsite(
  cfg: Config,
  warn: (text: string) => void = () => undefined,
): ((create?: boolean) => Promise<OffsiteRepo>) | undefined {
  const off = cfg.offsite;
  if (!off || off.mode !== 'replicate') return undefined;
  let opened: Promise<OffsiteRepo> | undefined;
  // `create: false` for commands that only look (list): they must not initialise the bucket.
  return (create = true) => {
    opened ??= openOffsite(off, { create, onRetry: retryNotice(warn) });
    return opened;
  };
}
