/**
 * The backup operation, whoever starts it: discovery, the snapshot's steps (backup_plan.ts),
 * then its follow-ups as steps of the SAME job (one lock, one record): the off-site copy
 * (backup.replicateAfter, with offsite.mode "replicate") and then the retention policy
 * (backup.pruneAfter). The copy goes first so a prune never races it. A failing follow-up is a
 * warning of the job: the snapshot exists, so the job still succeeds, and its result and
 * record say which follow-up failed and why (jobs/runner.ts, FollowUp).
 */
import { MAIN_DATABASE } from '../components/registry';
import { discover } from '../discovery/discover';
import type { FollowUp } from '../jobs/runner';
import { planBackup } from './backup_plan';
import { chooseDatabasePart } from './physical_snapshot';
import { planPrune } from './prune_plan';
import { planReplicate } from './replicate_plan';
import type { Operation, OperationRequest, OperationRuntime } from './request';
import { pruneResult, pruneText, replicateResult, replicateText, snapshotResult, snapshotText } from './results';

export async function buildBackup(req: OperationRequest, rt: OperationRuntime): Promise<Operation> {
  const { ec } = rt;
  const d = await discover(ec.cfg, { exclude: req.exclude });
  const databasePart = await chooseDatabasePart(ec, d, req.logical);
  const plan = planBackup(ec, d, rt.lock, {
    mode: req.mode ?? ec.cfg.backup.mode,
    trigger: rt.trigger,
    ownProcess: rt.ownProcess,
    fullWalk: req.fullWalk,
    databasePart,
  });
  const followUps: FollowUp[] = [];

  const replicate =
    ec.offsite && (req.replicate ?? ec.cfg.backup.replicateAfter) ? planReplicate(ec, ec.offsite) : undefined;
  if (replicate) followUps.push({ id: 'replicate', title: 'The off-site copy', steps: replicate.job.steps });
  const prune =
    (req.prune ?? ec.cfg.backup.pruneAfter)
      ? planPrune(ec, { dryRun: false, idPrefix: 'prune-', sweepOnlyAfterRemoval: true })
      : undefined;
  if (prune) followUps.push({ id: 'prune', title: 'The retention policy', steps: prune.job.steps });
  plan.job.followUps = followUps;

  // A follow-up's figures appear once it got going (a failed one's are partial; the record's
  // warnings say it failed).
  const ranReplicate = () => replicate?.outcome.location !== undefined;
  const ranPrune = () => prune?.outcome.plan !== undefined;

  const result = (): Record<string, unknown> | undefined => {
    const m = plan.result.manifest;
    if (!m) return undefined;
    return {
      ...snapshotResult(m),
      // Why the database part is a dump or a reference (physical mode: docs/pitr.md); a snapshot
      // that left the database out has neither.
      ...(m.components.some((c) => c.id === MAIN_DATABASE && c.status === 'included')
        ? { database_reason: databasePart.reason }
        : {}),
      ...(ranReplicate() && replicate ? { offsite: replicateResult(replicate.outcome) } : {}),
      ...(ranPrune() && prune ? { prune: pruneResult(prune.outcome) } : {}),
    };
  };
  return {
    job: plan.job,
    result,
    summary: () => {
      const m = plan.result.manifest;
      const r = result() ?? {};
      if (!m) return { json: { ok: true, ...r }, text: 'No snapshot was written.' };
      const { snapshot_id: id, ...stats } = snapshotResult(m);
      return {
        json: { ok: true, ...r, snapshot: { id, ...stats } },
        text: [
          snapshotText(m),
          ...(ranReplicate() && replicate ? [replicateText(replicate.outcome)] : []),
          ...(ranPrune() && prune ? [`Retention: ${pruneText(prune.outcome)}`] : []),
        ].join('\n'),
      };
    },
  };
}
