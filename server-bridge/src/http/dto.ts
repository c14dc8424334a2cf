/** snake_case views of engine objects for the API (the engine stays camelCase inside). */
import type { Snapshot } from '@mm-backup/api';
import type { Manifest } from '../manifest/manifest';
import type { VerificationRecord } from '../repository/verifications';
import type { TrustState } from '../repository/signing';

export function snapshotDto(m: Manifest, v: VerificationRecord | undefined, trust: TrustState): Snapshot {
  return {
    id: m.id, started_at: m.startedAt, finished_at: m.finishedAt, mode: m.mode, trigger: m.trigger,
    bytes: m.stats.bytes, new_bytes: m.stats.newBytes, files: m.stats.files, files_read: m.stats.filesRead,
    duration_ms: m.stats.durationMs, downtime_ms: m.stats.downtimeMs,
    mattermost_version: m.mattermost.version, schema_version: m.mattermost.schemaVersion,
    components: m.components.map((c) => ({ id: c.id, status: c.status, reason: c.reason, files: c.files, bytes: c.bytes })),
    verification: v ? { state: v.ok ? (v.deep ? 'deep_ok' : 'ok') : 'failed', at: v.at, issues: v.issues.length } : { state: 'not_verified' },
    trust,
  };
}
