/**
 * Runs an operation in the foreground: under the repository lock, taken the same way as the
 * sidecar takes it (operations/lock.ts: a stale lock's holder was killed, so a half-done restore
 * is rolled back and Mattermost started again first), with SIGINT/SIGTERM wired to the job's
 * AbortSignal, progress rendered by `out`, and the error of a failed job thrown with what it
 * could not put back, for main() to turn into an exit code.
 */
import { BridgeError } from '../core/errors';
import type { EngineContext } from '../jobs/context';
import type { JobLock } from '../jobs/lock';
import { describeUndoFailed, runJob, type JobResult } from '../jobs/runner';
import { buildOperation, takeJobLock, type Operation, type OperationRequest } from '../operations';
import { jobNeedsDatabase } from '../operations/needs_database';
import { StateStore } from '../operations/state_store';
import { postNotice } from '../status/post_notice';
import type { Output } from './render';

export async function withLock<T>(
  ec: EngineContext,
  kind: string,
  out: Output,
  fn: (lock: JobLock) => Promise<T>,
  /** false: the job goes on while PostgreSQL is left down (operations/needs_database.ts). */
  needsDatabase = true,
): Promise<T> {
  const jobId = `pending-${process.pid}`;
  const lock = await takeJobLock(ec, jobId, kind, {
    needsDatabase,
    log: (level, message) => out.emit({ type: 'log', jobId, level, message }),
    onRecovery: async (r) => {
      // Best effort: the status channel hears it as from the sidecar; a CLI run never waits long for it.
      if (!r.mattermostRunning) return;
      const token =
        ec.cfg.mattermost.botToken ??
        (await StateStore.open(ec.cfg.repository.path).catch(() => undefined))?.get().bot_token;
      await postNotice(ec.cfg, token, r.message).catch(() => false);
    },
    onPostgres: async (r) => {
      // Mattermost cannot post while its database is down: only its return is said, best effort.
      if (r.outcome === 'down') return;
      const token =
        ec.cfg.mattermost.botToken ??
        (await StateStore.open(ec.cfg.repository.path).catch(() => undefined))?.get().bot_token;
      await postNotice(ec.cfg, token, r.message).catch(() => false);
    },
  });
  try {
    return await fn(lock);
  } finally {
    await lock.release();
  }
}

/** Builds `req` under the lock, runs it, and prints its summary. */
export async function runOperationCommand(ec: EngineContext, out: Output, req: OperationRequest): Promise<void> {
  await withLock(
    ec,
    req.kind,
    out,
    async (lock) => {
      const op = await buildOperation(req, { ec, lock, trigger: 'cli', ownProcess: true, notice: (t) => out.info(t) });
      await runCliJob(op, lock, out);
      const s = op.summary();
      out.summary(s.json, s.text);
    },
    jobNeedsDatabase(req),
  );
}

/** A restore's job (plain or --at): run, its warnings said even when it fails, then its summary. */
export async function runRestoreJob(op: Operation, lock: JobLock, out: Output): Promise<void> {
  try {
    await runCliJob(op, lock, out);
  } finally {
    for (const w of (op.result()?.warnings ?? []) as string[]) out.info(`warning: ${w}`);
  }
  const s = op.summary();
  out.summary(s.json, s.text);
}

/**
 * Runs the operation's job, aborting it on SIGINT/SIGTERM so undo and finally steps still run.
 * Follow-ups that failed are printed as warnings; a failed job throws its error, said together
 * with what it could not put back (rendered here, at the boundary, from the result's data).
 */
export async function runCliJob(op: Operation, lock: JobLock, out: Output): Promise<JobResult> {
  const { job } = op;
  await lock.update({ jobId: job.id, kind: job.kind });
  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    out.info(`received ${sig}: cancelling; Mattermost will be started again if it was stopped`);
    ac.abort(new BridgeError('CANCELLED', `cancelled by ${sig}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let result: JobResult;
  try {
    result = await runJob(job, ac.signal, out.emit);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  for (const w of result.warnings ?? []) {
    out.info(
      `warning: ${w.followUp} after the ${job.kind} failed at ${w.step}: ${w.message}${w.hint ? ` (${w.hint})` : ''}`,
    );
  }
  const e = result.error;
  if (e) {
    const said =
      [e.message, describeUndoFailed(result.undoFailed)].filter(Boolean).join('. ') + (op.failureNote?.() ?? '');
    throw said === e.message ? e : new BridgeError(e.code, said, { cause: e, hint: e.hint, details: e.details });
  }
  return result;
}
