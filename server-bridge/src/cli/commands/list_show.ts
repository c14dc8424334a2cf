/** `mm-backup list` and `mm-backup show <id>`. */
import { manifestJsonChunks } from '../../manifest/manifest_json';
import { databasePart } from '../../operations/results';
import { readVerifications } from '../../repository/verifications';
import { duration, size, table } from '../format';
import type { GlobalOptions } from './shared';
import { openSource } from './from_source';
import { offsiteStates } from '../../offsite/offsite_state';
import { recoveryView } from '../../status/recovery_state';
import { pitrLines, readPitrView } from '../../operations/pitr_view';
import type { TrustVerdict } from '../../repository/signing';
import { plural } from '../../core/units';

export async function listCommand(
  globals: GlobalOptions,
  flags: { from?: string; offsite?: boolean; trust?: string[] } = {},
): Promise<void> {
  const { ec, out } = await openSource(globals, flags);
  const { manifests, broken } = await ec.repo.listSnapshotSummaries();
  const verified = await readVerifications(ec.storage, ec.trust);
  const offsite = await offsiteStates(
    ec,
    manifests.map((m) => m.id),
  );
  const trust = new Map(
    await Promise.all(manifests.map(async (m) => [m.id, await ec.trust.checkManifest(ec.repo, m)] as const)),
  );
  const own = await ec.trust.ownKey();
  const rows = manifests.map((m) => {
    const v = verified.get(m.id);
    const t = trust.get(m.id) as TrustVerdict;
    return {
      trust: t.state,
      ...(t.fingerprint ? { signed_by: t.fingerprint } : {}),
      ...(t.reason && t.state !== 'signed' ? { trust_problem: t.reason } : {}),
      id: m.id,
      started_at: m.startedAt,
      mode: m.mode,
      trigger: m.trigger,
      bytes: m.stats.bytes,
      new_bytes: m.stats.newBytes,
      files: m.stats.files,
      duration_ms: m.stats.durationMs,
      downtime_ms: m.stats.downtimeMs,
      mattermost_version: m.mattermost.version,
      schema_version: m.mattermost.schemaVersion,
      ...databasePart(m),
      verification: v ? (v.ok ? (v.deep ? 'deep ok' : 'ok') : 'FAILED') : 'not verified',
      ...(offsite ? { offsite: offsite.states.get(m.id) ?? 'unknown' } : {}),
    };
  });
  const text = rows.length
    ? table(
        rows.map((r) => [
          r.id,
          r.started_at.replace('T', ' ').slice(0, 19),
          r.mode,
          r.trigger,
          size(r.bytes),
          size(r.new_bytes),
          duration(r.downtime_ms),
          r.database === 'physical' ? `pgBackRest ${r.physical?.label as string}` : (r.database ?? ''),
          r.verification,
          r.trust === 'signed' ? 'signed' : r.trust.toUpperCase(),
          ...(offsite ? [r.offsite ?? ''] : []),
        ]),
        [
          'id',
          'started (UTC)',
          'mode',
          'trigger',
          'size',
          'new',
          'downtime',
          'database',
          'verified',
          'trust',
          ...(offsite ? ['offsite'] : []),
        ],
      )
    : 'No snapshots yet: run mm-backup backup.';
  const untrusted = rows.filter((r) => r.trust !== 'signed');
  const brokenText = [
    ...broken.map((b) => `warning: snapshot ${b.id} is unreadable and ignored: ${b.problem}`),
    ...untrusted.map(
      (r) =>
        `warning: snapshot ${r.id} is ${r.trust === 'unsigned' ? 'NOT SIGNED' : 'UNTRUSTED'}: ${r.trust_problem ?? ''}; restore and verify refuse it (see docs/security.md)`,
    ),
    ...(offsite?.warning ? [`warning: ${offsite.warning}`] : []),
  ].join('\n');
  const keyText = own
    ? `This host's signing key: ${own.fingerprint}`
    : 'This host has no signing key yet (it is made by the first backup).';
  // A killed job's stale lock and the jobs marked interrupted (status/recovery_state.ts).
  const rec = await recoveryView(ec.lockDir, ec.cfg.repository.path);
  // This host's physical mode (recovery window, archive health) heads the list of its own repository.
  const pitr = flags.from || flags.offsite ? undefined : await readPitrView(ec.cfg);
  out.summary(
    {
      ok: true,
      snapshots: rows,
      broken,
      signing_key: own ? own.fingerprint : null,
      lock: rec.lock,
      interrupted_jobs: rec.interrupted,
      ...(pitr ? { pitr } : {}),
    },
    [...(pitr ? [...pitrLines(pitr), ''] : []), text, brokenText, ...rec.lines, keyText].filter(Boolean).join('\n'),
  );
}

export async function showCommand(
  globals: GlobalOptions,
  id: string,
  flags: { from?: string; offsite?: boolean; trust?: string[] } = {},
): Promise<void> {
  const { ec, out } = await openSource(globals, flags);
  const m = await ec.repo.loadSnapshot(id);
  const t = await ec.trust.checkManifest(ec.repo, m);
  const lines = [
    `Snapshot ${m.id} (${m.mode}, trigger ${m.trigger}) of ${m.installDir} on ${m.host}`,
    t.state === 'signed'
      ? `Signed by ${t.fingerprint} (trusted)`
      : `${t.state === 'unsigned' ? 'NOT SIGNED' : 'UNTRUSTED'}: ${t.reason}. Restore and verify refuse it (docs/security.md).`,
    `Started ${m.startedAt}, took ${duration(m.stats.durationMs)}, downtime ${duration(m.stats.downtimeMs)}`,
    `Mattermost ${m.mattermost.version ?? 'version unknown'}, schema ${m.mattermost.schemaVersion ?? 'unknown'}, config in ${m.mattermost.configSource}`,
    databaseLine(m),
    '',
    table(
      m.components.map((c) => [
        c.id,
        c.status,
        c.status === 'included' ? plural(c.files, 'file') : '',
        c.status === 'included' ? size(c.bytes) : '',
        c.database
          ? `${c.database.target}, ${plural(Object.keys(c.database.rowCounts).length, 'table')} (dump)`
          : c.physical
            ? `${c.physical.target}: pgBackRest backup ${c.physical.label} and WAL to ${c.physical.lsn}, consistent at ${c.physical.at}`
            : c.status === 'included'
              ? (c.root ?? '')
              : (c.reason ?? ''),
      ]),
      ['component', 'status', 'files', 'size', 'details'],
    ),
  ];
  await out.summaryStreamed(
    { ok: true, trust: t.state, signed_by: t.fingerprint ?? null, ...databasePart(m) },
    'manifest',
    manifestJsonChunks(m),
    lines.join('\n'),
  );
}

/** One line on how the snapshot holds its database (docs/pitr.md, snapshots in physical mode). */
function databaseLine(m: Parameters<typeof databasePart>[0]): string {
  const p = m.components.find((c) => c.physical)?.physical;
  if (p) {
    return `Database: a pgBackRest reference (backup ${p.label}, WAL to ${p.lsn} on timeline ${p.timeline}), consistent at ${p.at}; no dump`;
  }
  return databasePart(m).database === 'dump' ? 'Database: a logical dump' : 'Database: not in this snapshot';
}
