/** `mm-backup list` and `mm-backup show <id>`. */
import { readVerifications } from '../../repository/verifications';
import { duration, size, table } from '../format';
import type { GlobalOptions } from './shared';
import { openSource } from './from_source';
import { offsiteStates } from '../../offsite/offsite_state';

export async function listCommand(globals: GlobalOptions, flags: { from?: string; offsite?: boolean } = {}): Promise<void> {
  const { ec, out } = await openSource(globals, flags);
  const { manifests, broken } = await ec.repo.listSnapshotSummaries();
  const verified = await readVerifications(ec.storage);
  const offsite = await offsiteStates(ec, manifests.map((m) => m.id));
  const rows = manifests.map((m) => {
    const v = verified.get(m.id);
    return {
      id: m.id, started_at: m.startedAt, mode: m.mode, trigger: m.trigger, bytes: m.stats.bytes, new_bytes: m.stats.newBytes,
      files: m.stats.files, duration_ms: m.stats.durationMs, downtime_ms: m.stats.downtimeMs,
      mattermost_version: m.mattermost.version, schema_version: m.mattermost.schemaVersion,
      verification: v ? (v.ok ? (v.deep ? 'deep ok' : 'ok') : 'FAILED') : 'not verified',
      ...(offsite ? { offsite: offsite.states.get(m.id) ?? 'unknown' } : {}),
    };
  });
  const text = rows.length
    ? table(rows.map((r) => [r.id, r.started_at.replace('T', ' ').slice(0, 19), r.mode, r.trigger, size(r.bytes), size(r.new_bytes), duration(r.downtime_ms), r.verification, ...(offsite ? [r.offsite ?? ''] : [])]),
      ['id', 'started (UTC)', 'mode', 'trigger', 'size', 'new', 'downtime', 'verified', ...(offsite ? ['offsite'] : [])])
    : 'No snapshots yet: run mm-backup backup.';
  const brokenText = [...broken.map((b) => `warning: snapshot ${b.id} is unreadable and ignored: ${b.problem}`), ...(offsite?.warning ? [`warning: ${offsite.warning}`] : [])].join('\n');
  out.summary({ ok: true, snapshots: rows, broken }, brokenText ? `${text}\n${brokenText}` : text);
}

export async function showCommand(globals: GlobalOptions, id: string, flags: { from?: string; offsite?: boolean } = {}): Promise<void> {
  const { ec, out } = await openSource(globals, flags);
  const m = await ec.repo.loadSnapshot(id);
  const lines = [
    `Snapshot ${m.id} (${m.mode}, trigger ${m.trigger}) of ${m.installDir} on ${m.host}`,
    `Started ${m.startedAt}, took ${duration(m.stats.durationMs)}, downtime ${duration(m.stats.downtimeMs)}`,
    `Mattermost ${m.mattermost.version ?? 'version unknown'}, schema ${m.mattermost.schemaVersion ?? 'unknown'}, config in ${m.mattermost.configSource}`,
    '',
    table(m.components.map((c) => [c.id, c.status, c.status === 'included' ? `${c.files} files` : '', c.status === 'included' ? size(c.bytes) : '',
      c.database ? `${c.database.target}, ${Object.keys(c.database.rowCounts).length} tables` : c.status === 'included' ? c.root ?? '' : c.reason ?? '']),
    ['component', 'status', 'files', 'size', 'details']),
  ];
  out.summary({ ok: true, manifest: m }, lines.join('\n'));
}
