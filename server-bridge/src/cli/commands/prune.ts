/** `mm-backup prune [--dry-run]`. */
import { planPrune } from '../../operations/prune_plan';
import { size } from '../format';
import { runCliJob, withLock } from '../run_with_lock';
import { openCommand, throwIfFailed, type GlobalOptions } from './shared';

export async function pruneCommand(globals: GlobalOptions, flags: { dryRun?: boolean }): Promise<void> {
  const { ec, out } = await openCommand(globals);
  await withLock(ec, 'prune', out, async (lock) => {
    const plan = planPrune(ec, { dryRun: !!flags.dryRun });
    throwIfFailed(await runCliJob(plan.job, lock, out));
    const o = plan.outcome;
    const verb = o.dryRun ? 'would remove' : 'removed';
    out.summary(
      { ok: true, dry_run: o.dryRun, kept: o.plan?.keep ?? [], removed: o.plan?.remove ?? [], objects_removed: o.objectsRemoved, bytes_freed: o.bytesFreed },
      `${o.plan?.keep.length ?? 0} snapshots kept; ${verb} ${o.plan?.remove.length ?? 0} snapshots and ${o.objectsRemoved} objects (${size(o.bytesFreed)}).`,
    );
  });
}
