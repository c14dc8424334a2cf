/**
 * "PostgreSQL was left down", kept OUTSIDE the repository (beside the signing key, like
 * rollback_marker.ts): a job that could not start physical mode's cluster again ends and releases
 * its lock, and the lock's `postgresStopped` goes with it; this file outlives the job so that
 * the next job, the sidecar's start and its periodic retry start PostgreSQL again, and status
 * shows it meanwhile. It says only THAT and WHY: which cluster is started comes from physical
 * mode's state (operations/pitr_state.ts), never from this file. Removed only once PostgreSQL
 * is confirmed running.
 */
import { constants } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { replaceFile } from '../core/atomic_file';

const NAME = 'mm-backup-postgres-down.json';
/** A marker is one short sentence; anything larger was not written by us. */
const MAX_BYTES = 16 * 1024;

const schema = z.strictObject({
  since: z.iso.datetime(),
  reason: z.string().max(4000),
  autoStart: z.boolean(),
});

/**
 * `autoStart`: false when starting the cluster could start the wrong data (a restore --at whose
 * old data directory could not be put back): then retries only look whether it runs.
 * `readable`: false for a file we did not write as it is (garbled, a link, too big): shown, and
 * never acted on beyond looking whether PostgreSQL runs.
 */
export interface PostgresDown {
  since: string;
  reason: string;
  autoStart: boolean;
  readable: boolean;
  file: string;
}

/** The marker file for a signing key file; none for a host without one (physical mode needs one). */
export function postgresDownFile(keyFile: string | undefined): string | undefined {
  return keyFile ? path.join(path.dirname(keyFile), NAME) : undefined;
}

/** Records that PostgreSQL is left down and why (0600, atomic); an earlier marker's `since` is kept. */
export async function writePostgresDownMarker(
  keyFile: string | undefined,
  m: { reason: string; autoStart: boolean },
): Promise<void> {
  const file = postgresDownFile(keyFile);
  if (!file) return;
  const before = await readPostgresDownMarker(keyFile).catch(() => undefined);
  const since = before?.readable ? before.since : new Date().toISOString();
  const body = { since, reason: m.reason.slice(0, 4000), autoStart: m.autoStart };
  await replaceFile(file, `${JSON.stringify(body)}\n`, 0o600);
}

/** The marker, or undefined when there is none. Never throws for its content: see `readable`. */
export async function readPostgresDownMarker(keyFile: string | undefined): Promise<PostgresDown | undefined> {
  const file = postgresDownFile(keyFile);
  if (!file) return undefined;
  const unreadable = (why: string): PostgresDown => ({
    since: '',
    reason: `the marker ${file} ${why}`,
    autoStart: false,
    readable: false,
    file,
  });
  let fh;
  try {
    fh = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    return unreadable(code === 'ELOOP' ? 'is a symbolic link' : `cannot be read (${code ?? 'error'})`);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) return unreadable('is not a regular file');
    if (st.size > MAX_BYTES) return unreadable(`is larger than ${MAX_BYTES} bytes`);
    let parsed;
    try {
      parsed = schema.safeParse(JSON.parse(await fh.readFile('utf8')));
    } catch {
      return unreadable('is not JSON');
    }
    if (!parsed.success) return unreadable('does not have the expected form');
    return { ...parsed.data, readable: true, file };
  } finally {
    await fh.close();
  }
}

/** Forgets the marker: PostgreSQL was confirmed running. Throws when it cannot be removed (a directory there). */
export async function clearPostgresDownMarker(keyFile: string | undefined): Promise<void> {
  const file = postgresDownFile(keyFile);
  if (!file) return;
  try {
    await unlink(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
