/** `mm-backup replicate`: copy new local snapshots off-site, then apply off-site retention. */
import { BridgeError, UsageError } from '../../core/errors';
import type { EngineContext } from '../../jobs/context';
import type { JobLock } from '../../jobs/lock';
import { planReplicate, type ReplicateOutcome } from '../../operations/replicate_plan';
import { size } from '../format';
import type { Output } from '../render';
import { runCliJob, withLock } from '../run_with_lock';
import { openCommand, throwIfFailed, type GlobalOptions } from './shared';

/** The summary fields of a replicate run, shared by `replicate` and the automatic copy after `backup`. */
export function replicateSummary(o: ReplicateOutcome): { json: Record<string, unknown>; text: string } {
  return {
    json: { location: o.location, copied: o.copied, objects_uploaded: o.objectsUploaded, bytes_uploaded: o.bytesUploaded, removed: o.removed, objects_removed: o.objectsRemoved, sweep_skipped: o.sweepSkipped ?? null },
    text: `Off-site (${o.location}): ${o.copied.length} snapshots copied, ${o.objectsUploaded} objects uploaded (${size(o.bytesUploaded)}); ${o.removed.length} dropped by retention, ${o.objectsRemoved} unused objects removed.`,
  };
}

/** Runs a replicate job under an already held lock; throws the job's error. */
export async function runReplicate(ec: EngineContext, lock: JobLock, out: Output): Promise<ReplicateOutcome> {
  if (!ec.offsite) throw new UsageError('no off-site copy is configured: add an "offsite" block (mode "replicate") to the config');
  const plan = planReplicate(ec, ec.offsite);
  throwIfFailed(await runCliJob(plan.job, lock, out));
  return plan.outcome;
}

/**
 * With offsite.mode "replicate" and replicateAfterBackup (the default), a backup is copied
 * off-site at once, under the same lock. If that copy fails the snapshot still exists locally;
 * the error says so and the next backup or `mm-backup replicate` catches up.
 */
export async function replicateAfterBackup(ec: EngineContext, lock: JobLock, out: Output, snapshotId: string): Promise<ReturnType<typeof replicateSummary> | undefined> {
  if (!ec.offsite || !ec.cfg.offsite?.replicateAfterBackup) return undefined;
  try {
    return replicateSummary(await runReplicate(ec, lock, out));
  } catch (err) {
    const e = err instanceof BridgeError ? err : new BridgeError('STORAGE_FAILED', String((err as Error).message ?? err), { cause: err });
    throw new BridgeError(e.code, `snapshot ${snapshotId} was taken, but copying it off-site failed: ${e.message}`, {
      cause: e, hint: e.hint ?? 'run mm-backup replicate once the bucket is reachable; the next backup also catches up',
    });
  }
}

export async function replicateCommand(globals: GlobalOptions): Promise<void> {
  const { ec, out } = await openCommand(globals);
  if (!ec.offsite) {
    throw new UsageError(ec.cfg.offsite?.mode === 'direct'
      ? 'offsite.mode is "direct": backups already go to the bucket, there is nothing to replicate'
      : 'no off-site copy is configured: add an "offsite" block (mode "replicate") to the config');
  }
  await withLock(ec, 'replicate', out, async (lock) => {
    const s = replicateSummary(await runReplicate(ec, lock, out));
    out.summary({ ok: true, ...s.json }, s.text);
  });
}
