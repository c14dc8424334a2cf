/** snake_case views of engine objects for the API (the engine stays camelCase inside). */
import type { JobRecord as ApiJobRecord, PitrPlan, Snapshot, Status } from '@mm-backup/api';
import { planPitrDisable, type PitrEnablePlan } from '../operations/pitr_enable_plan';
import type { JobRecord } from '../jobs/job_record';
import type { InterruptedView, LockView } from '../status/recovery_state';
import type { Manifest } from '../manifest/manifest';
import type { VerificationRecord } from '../repository/verifications';
import type { TrustState } from '../repository/signing';

export function snapshotDto(m: Manifest, v: VerificationRecord | undefined, trust: TrustState): Snapshot {
  return {
    id: m.id,
    started_at: m.startedAt,
    finished_at: m.finishedAt,
    mode: m.mode,
    trigger: m.trigger,
    bytes: m.stats.bytes,
    new_bytes: m.stats.newBytes,
    files: m.stats.files,
    files_read: m.stats.filesRead,
    duration_ms: m.stats.durationMs,
    downtime_ms: m.stats.downtimeMs,
    mattermost_version: m.mattermost.version,
    schema_version: m.mattermost.schemaVersion,
    components: m.components.map((c) => ({
      id: c.id,
      status: c.status,
      reason: c.reason,
      files: c.files,
      bytes: c.bytes,
    })),
    verification: v
      ? { state: v.ok ? (v.deep ? 'deep_ok' : 'ok') : 'failed', at: v.at, issues: v.issues.length }
      : { state: 'not_verified' },
    trust,
  };
}

/** True when every field of the engine's `Server` type is named by the API's `Api` type. */
type AllSent<Server, Api> = [Exclude<keyof Server, keyof NonNullable<Api>>] extends [never] ? true : never;

/**
 * Compile-time guard: the engine's records the API sends are named field for field in the API's
 * schemas. The sidecar sends only the fields its schemas name, so a field added here but not to
 * @mm-backup/api would be dropped silently; this fails the build instead.
 */
export const ENGINE_RECORDS_SENT_IN_FULL: [
  AllSent<JobRecord, ApiJobRecord>,
  AllSent<LockView, Status['lock']>,
  AllSent<InterruptedView, NonNullable<Status['interrupted_jobs']>[number]>,
] = [true, true, true];

/** The enable plan as GET /v1/pitr/plan shows it: checks and changes, never the config text or a secret. */
export function pitrPlanDto(p: PitrEnablePlan): PitrPlan {
  const disable = planPitrDisable(p);
  return {
    phase: p.previous?.phase ?? 'off',
    ready: !p.refusal,
    checks: p.checks.map((c) => ({ id: c.id, title: c.title, status: c.status, detail: c.detail, hint: c.hint })),
    changes: p.changes.map((c) => ({ name: c.name, from: c.from, to: c.to, restart: c.restart })),
    restart_needed: p.restartNeeded,
    other_pending_restart: p.othersPending,
    postgres_version: p.postgresVersion ?? null,
    pgbackrest_version: p.pgbackrestVersion ?? null,
    stanza: p.stanza,
    repository: p.repoPath,
    config_file: p.configFile,
    disable: disable && { reverts: disable.reverts, restart_needed: disable.restartNeeded },
  };
}
