/** The JSON results of the operations (snake_case, as the API and the CLI summaries show them). */
import type { Manifest } from '../manifest/manifest';
import { plural, formatBytes as size, formatDuration as secs } from '../core/units';
import type { PruneOutcome } from './prune_plan';
import type { ReplicateOutcome } from './replicate_plan';

export function snapshotResult(m: Manifest): Record<string, unknown> {
  return {
    snapshot_id: m.id,
    mode: m.mode,
    bytes: m.stats.bytes,
    new_bytes: m.stats.newBytes,
    files: m.stats.files,
    files_read: m.stats.filesRead,
    duration_ms: m.stats.durationMs,
    downtime_ms: m.stats.downtimeMs,
    ...databasePart(m),
  };
}

/** How the snapshot holds its main database: a dump, or (physical mode) a pgBackRest reference. */
export function databasePart(m: Manifest): {
  database: 'dump' | 'physical' | null;
  physical?: Record<string, unknown>;
} {
  const db = m.components.find((c) => c.id === 'database' && c.status === 'included');
  const p = db?.physical;
  if (!p) return { database: db?.database ? 'dump' : null };
  return {
    database: 'physical',
    physical: { label: p.label, lsn: p.lsn, timeline: p.timeline, consistent_at: p.at },
  };
}

export function snapshotText(m: Manifest): string {
  const p = m.components.find((c) => c.physical)?.physical;
  const db = p ? `; database: pgBackRest backup ${p.label} and WAL to ${p.lsn} (consistent at ${p.at})` : '';
  return `Snapshot ${m.id} (${m.mode}): ${size(m.stats.bytes)}, ${size(m.stats.newBytes)} new, ${plural(m.stats.files, 'file')} (${m.stats.filesRead} read), took ${secs(m.stats.durationMs)}, downtime ${secs(m.stats.downtimeMs)}${db}`;
}

export function replicateResult(o: ReplicateOutcome): Record<string, unknown> {
  return {
    location: o.location,
    copied: o.copied,
    objects_uploaded: o.objectsUploaded,
    packs_uploaded: o.packsUploaded,
    bytes_uploaded: o.bytesUploaded,
    removed: o.removed,
    objects_removed: o.objectsRemoved,
    packs_removed: o.packsRemoved,
    sweep_skipped: o.sweepSkipped ?? null,
  };
}

export function replicateText(o: ReplicateOutcome): string {
  const up = o.packsUploaded ? ` and ${plural(o.packsUploaded, 'pack')}` : '';
  const gone = o.packsRemoved ? ` and ${plural(o.packsRemoved, 'unused pack')}` : '';
  return `Off-site (${o.location}): ${plural(o.copied.length, 'snapshot')} copied, ${plural(o.objectsUploaded, 'object')}${up} uploaded (${size(o.bytesUploaded)}); ${o.removed.length} dropped by retention, ${plural(o.objectsRemoved, 'unused object')}${gone} removed.`;
}

/** `kept` is a count (posts, metrics); `kept_snapshots` lists them. */
export function pruneResult(o: PruneOutcome): Record<string, unknown> {
  return {
    dry_run: o.dryRun,
    kept: o.plan?.keep.length ?? 0,
    kept_snapshots: o.plan?.keep ?? [],
    removed: o.plan?.remove ?? [],
    objects_removed: o.objectsRemoved,
    bytes_freed: o.bytesFreed,
    packs_removed: o.packsRemoved,
    packs_repacked: o.packsRepacked,
  };
}

export function pruneText(o: PruneOutcome): string {
  const verb = o.dryRun ? 'would remove' : 'removed';
  const packs =
    o.packsRemoved || o.packsRepacked
      ? `; ${verb} ${plural(o.packsRemoved, 'unused pack')}, ${o.dryRun ? 'would rewrite' : 'rewrote'} ${plural(o.packsRepacked, 'partly used pack')}`
      : '';
  return `${plural(o.plan?.keep.length ?? 0, 'snapshot')} kept; ${verb} ${plural(o.plan?.remove.length ?? 0, 'snapshot')} and ${plural(o.objectsRemoved, 'object')} (${size(o.bytesFreed)})${packs}.`;
}
