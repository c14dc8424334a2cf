/** snake_case views of engine objects for the API (the engine stays camelCase inside). */
import type { Manifest } from '../manifest/manifest';
import type { VerificationRecord } from '../repository/verifications';
import type { TrustState } from '../repository/signing';

export interface SnapshotDto {
  id: string;
  started_at: string;
  finished_at: string;
  mode: string;
  trigger: string;
  bytes: number;
  new_bytes: number;
  files: number;
  files_read: number;
  duration_ms: number;
  downtime_ms: number;
  mattermost_version?: string;
  schema_version?: number;
  components: Array<{ id: string; status: string; reason?: string; files: number; bytes: number }>;
  verification: { state: 'not_verified' | 'ok' | 'deep_ok' | 'failed'; at?: string; issues?: number };
  /** Signed by a trusted key, unsigned (made before signing), or untrusted; restore refuses all but signed (docs/security.md). */
  trust: TrustState;
}

export function snapshotDto(m: Manifest, v: VerificationRecord | undefined, trust: TrustState): SnapshotDto {
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
