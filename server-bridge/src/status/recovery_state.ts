/**
 * What `list`, `discover`, `status`, GET /v1/status and the System Console page show about
 * killed jobs: the job lock (free, held by a live job, or stale: its holder was killed and the
 * next job or sidecar start will repair what it left) and the recently interrupted jobs.
 */
import { JobLock } from '../jobs/lock';
import { JobHistory } from '../jobs/job_history';
import { INTERRUPTED, type JobRecord } from '../jobs/job_record';

export interface LockView {
  state: 'free' | 'held' | 'stale';
  job_id?: string;
  kind?: string;
  pid?: number;
  host?: string;
  since?: string;
  mattermost_stopped?: boolean;
  safety_snapshot_id?: string;
  /** A restore had begun overwriting: without a safety snapshot the install may be half-restored. */
  overwriting?: boolean;
  /** One line for people. */
  message: string;
}

export interface InterruptedView {
  id: string;
  kind: string;
  trigger: string;
  created_at: string;
  finished_at?: string;
  message: string;
  hint?: string;
}

/** Interrupted jobs are shown this long after they happened. */
const RECENT_MS = 7 * 86_400_000;

/** Reads the lock without taking or changing it. */
export async function lockView(lockDir: string): Promise<LockView> {
  const cur = await JobLock.inspect(lockDir);
  if (!cur) return { state: 'free', message: 'no job is running' };
  const i = cur.info;
  const base = {
    job_id: i.jobId,
    kind: i.kind,
    pid: i.pid,
    host: i.host,
    since: i.startedAt,
    mattermost_stopped: i.mattermostStopped,
    ...(i.safetySnapshotId ? { safety_snapshot_id: i.safetySnapshotId } : {}),
    ...(i.overwriting ? { overwriting: true } : {}),
  };
  if (cur.alive) {
    return {
      state: 'held',
      ...base,
      message: `${i.kind} ${i.jobId} is running (pid ${i.pid} on ${i.host}, since ${i.startedAt})`,
    };
  }
  const left = [
    i.mattermostStopped ? 'Mattermost was stopped by it and may still be down' : '',
    i.overwriting
      ? i.safetySnapshotId
        ? `a restore was overwriting: it will be rolled back from safety snapshot ${i.safetySnapshotId}`
        : 'a restore was overwriting with no safety snapshot: the install may be half-restored'
      : '',
  ]
    .filter(Boolean)
    .join('; ');
  return {
    state: 'stale',
    ...base,
    message: `STALE LOCK: ${i.kind} ${i.jobId} (pid ${i.pid}, started ${i.startedAt}) was killed${left ? `; ${left}` : ''}. The next mm-backup job or sidecar start repairs this.`,
  };
}

/** Interrupted jobs of the last 7 days, newest first; reads only (no history is created). */
export async function recentInterruptions(
  repositoryPath: string,
  history?: JobHistory,
  limit = 5,
): Promise<InterruptedView[]> {
  const h = history ?? (await JobHistory.openExisting(repositoryPath));
  if (!h) return [];
  const since = Date.now() - RECENT_MS;
  return (await h.list(200))
    .filter((r) => isInterrupted(r) && Date.parse(r.finished_at ?? r.created_at) > since)
    .slice(0, limit)
    .map((r) => ({
      id: r.id,
      kind: r.kind,
      trigger: r.trigger,
      created_at: r.created_at,
      finished_at: r.finished_at,
      message: r.error?.message ?? '',
      ...(r.error?.hint ? { hint: r.error.hint } : {}),
    }));
}

export function isInterrupted(r: JobRecord): boolean {
  return r.error?.code === INTERRUPTED;
}

/** Text lines for the CLI; empty when there is nothing to say. */
export function recoveryLines(lock: LockView, interrupted: InterruptedView[]): string[] {
  return [
    ...(lock.state === 'stale' ? [`warning: ${lock.message}`] : []),
    ...interrupted.map(
      (j) =>
        `interrupted: ${j.kind} ${j.id} (${j.trigger}, ${j.created_at.replace('T', ' ').slice(0, 19)}): ${j.message}`,
    ),
  ];
}

/** The lock, the recent interruptions and their text lines, for a CLI command's summary. */
export async function recoveryView(
  lockDir: string,
  repositoryPath: string,
): Promise<{ lock: LockView; interrupted: InterruptedView[]; lines: string[] }> {
  const lock = await lockView(lockDir);
  const interrupted = await recentInterruptions(repositoryPath);
  return { lock, interrupted, lines: recoveryLines(lock, interrupted) };
}
