/**
 * The operations layer: every front end (CLI, HTTP API, /backup, the schedule) builds its job
 * here, so the same request produces the same steps and the same result whoever starts it.
 * The caller holds the lock (operations/lock.ts) and runs the job: the CLI in the foreground,
 * the sidecar's JobManager in the background.
 */
import { UsageError } from '../core/errors';
import { buildBackup } from './backup';
import { buildPrune, buildReplicate } from './maintenance';
import { buildPitrBackup } from './pitr_backup';
import { buildPitrDisable, buildPitrEnable } from './pitr_setup';
import { prepareRestore } from './restore';
import { prepareRestoreAt } from './restore_at';
import type { Operation, OperationRequest, OperationRuntime } from './request';
import { buildVerify } from './verify';

export type { Operation, OperationJobs, OperationRequest, OperationRuntime, JobRequest } from './request';
export { repairStaleLock, takeJobLock } from './lock';
export { prepareRestore } from './restore';

/** Builds the operation `req` asks for; a restore is prepared and built without a confirmation step. */
export async function buildOperation(req: OperationRequest, rt: OperationRuntime): Promise<Operation> {
  switch (req.kind) {
    case 'backup':
      return buildBackup(req, rt);
    case 'verify':
      return buildVerify(req, rt);
    case 'restore':
      if (req.restore?.at) {
        const { at, force } = req.restore;
        return (await prepareRestoreAt({ at, force, allowUnsigned: req.allowUnsigned }, rt)).build();
      }
      if (!req.snapshotId) throw new UsageError('a restore needs a snapshot id');
      return (await prepareRestore(req, rt)).build();
    case 'prune':
      return buildPrune(req, rt);
    case 'replicate':
      return buildReplicate(req, rt);
    case 'pitr-backup':
      return buildPitrBackup(req, rt);
    case 'pitr-enable':
      return buildPitrEnable(req, rt);
    case 'pitr-disable':
      return buildPitrDisable(req, rt);
    default: {
      // A kind added to JobKind without a builder fails the typecheck here, not at run time.
      const unknown: never = req.kind;
      throw new UsageError(`unknown operation ${String(unknown)}`);
    }
  }
}
