/** Prometheus text for /metrics: outcomes and sizes only, never paths of secrets or user data. */
import type { PitrStatus } from '@mm-backup/api';
import { INTERRUPTED, type JobRecord } from '../jobs/job_record';

/** `pitr`: physical mode's last reading (absent when it is off: its metrics are then not written). */
export function renderMetrics(
  jobs: JobRecord[],
  snapshots: number,
  repositoryBytes: number,
  running: boolean,
  pitr?: PitrStatus,
  /** A job left PostgreSQL down (the marker beside the signing key is there). */
  postgresDown = false,
): string {
  const lines: string[] = [];
  const metric = (name: string, help: string, type: string, samples: Array<[string, number]>) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of samples) lines.push(`${name}${labels} ${Number.isFinite(v) ? v : 0}`);
  };
  const lastOk = (kind: string) => jobs.find((j) => j.kind === kind && j.status === 'succeeded');
  const kinds = ['backup', 'verify', 'restore', 'prune', 'pitr-backup'];
  metric(
    'mm_backup_last_success_timestamp_seconds',
    'End time of the last successful job of each kind.',
    'gauge',
    kinds.flatMap((k) => {
      const j = lastOk(k);
      return j?.finished_at ? [[`{kind="${k}"}`, Date.parse(j.finished_at) / 1000] as [string, number]] : [];
    }),
  );
  const b = lastOk('backup');
  metric(
    'mm_backup_last_backup_duration_seconds',
    'Duration of the last successful backup.',
    'gauge',
    b ? [['', (b.duration_ms ?? 0) / 1000]] : [],
  );
  metric(
    'mm_backup_last_backup_size_bytes',
    'Size of the last successful backup (all components).',
    'gauge',
    b?.result ? [['', Number(b.result.bytes ?? 0)]] : [],
  );
  metric(
    'mm_backup_last_backup_new_bytes',
    'New data stored by the last successful backup.',
    'gauge',
    b?.result ? [['', Number(b.result.new_bytes ?? 0)]] : [],
  );
  metric(
    'mm_backup_last_backup_downtime_seconds',
    'Mattermost downtime of the last successful backup.',
    'gauge',
    b?.result ? [['', Number(b.result.downtime_ms ?? 0) / 1000]] : [],
  );
  metric(
    'mm_backup_job_failures_total',
    'Failed jobs in the kept history, by kind.',
    'counter',
    kinds.map((k) => [`{kind="${k}"}`, jobs.filter((j) => j.kind === k && j.status === 'failed').length]),
  );
  // Also counted in the failures above; this says which of them were killed outright (see job_record.ts).
  metric(
    'mm_backup_jobs_interrupted_total',
    'Jobs in the kept history whose process was killed before they ended, by kind.',
    'counter',
    kinds.map((k) => [`{kind="${k}"}`, jobs.filter((j) => j.kind === k && j.error?.code === INTERRUPTED).length]),
  );
  metric('mm_backup_snapshots', 'Snapshots in the repository.', 'gauge', [['', snapshots]]);
  metric('mm_backup_repository_bytes', 'Bytes stored in the repository.', 'gauge', [['', repositoryBytes]]);
  metric('mm_backup_job_running', '1 while a job runs.', 'gauge', [['', running ? 1 : 0]]);
  metric(
    'mm_backup_postgres_left_down',
    '1 while PostgreSQL is recorded as left down by a job of mm-backup (retried every 5 minutes; docs/pitr.md).',
    'gauge',
    [['', postgresDown ? 1 : 0]],
  );
  if (pitr) {
    const at = (iso: string | null | undefined) => (iso ? [['', Date.parse(iso) / 1000] as [string, number]] : []);
    metric(
      'mm_backup_recovery_window_start_seconds',
      'Earliest time a point-in-time restore can reach (the oldest physical backup is consistent).',
      'gauge',
      at(pitr.window?.start),
    );
    metric(
      'mm_backup_recovery_window_end_seconds',
      'Latest time a point-in-time restore can reach (WAL archived up to it).',
      'gauge',
      at(pitr.window?.end),
    );
    metric(
      'mm_backup_wal_archive_age_seconds',
      'Seconds since the last WAL segment was archived, at the last reading.',
      'gauge',
      pitr.archive.age_seconds === null ? [] : [['', pitr.archive.age_seconds]],
    );
    metric(
      'mm_backup_wal_archive_failed_total',
      "Failed archive_command runs since PostgreSQL's statistics were reset (pg_stat_archiver).",
      'counter',
      [['', pitr.archive.failed_count]],
    );
    metric('mm_backup_wal_archive_healthy', '1 when WAL archiving works, 0 when it fails or stalls.', 'gauge', [
      ['', pitr.archive.state === 'ok' ? 1 : 0],
    ]);
  }
  return `${lines.join('\n')}\n`;
}
