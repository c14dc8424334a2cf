/** The prune and replicate operations run on their own (a backup runs them as follow-ups). */
import { UsageError } from '../core/errors';
import { planPrune } from './prune_plan';
import { planReplicate } from './replicate_plan';
import type { Operation, OperationRequest, OperationRuntime } from './request';
import { pruneResult, pruneText, replicateResult, replicateText } from './results';

export function buildPrune(req: OperationRequest, rt: OperationRuntime): Operation {
  const plan = planPrune(rt.ec, { dryRun: !!req.dryRun });
  return {
    job: plan.job,
    result: () => pruneResult(plan.outcome),
    // The CLI's `kept` has always listed the kept snapshots.
    summary: () => ({
      json: { ok: true, ...pruneResult(plan.outcome), kept: plan.outcome.plan?.keep ?? [] },
      text: pruneText(plan.outcome),
    }),
  };
}

export function buildReplicate(_req: OperationRequest, rt: OperationRuntime): Operation {
  const { ec } = rt;
  if (!ec.offsite) {
    throw new UsageError(
      ec.cfg.offsite?.mode === 'direct'
        ? 'offsite.mode is "direct": backups already go to the bucket, there is nothing to replicate'
        : 'no off-site copy is configured: add an "offsite" block (mode "replicate") to the config',
    );
  }
  const plan = planReplicate(ec, ec.offsite);
  return {
    job: plan.job,
    result: () => replicateResult(plan.outcome),
    summary: () => ({ json: { ok: true, ...replicateResult(plan.outcome) }, text: replicateText(plan.outcome) }),
  };
}
