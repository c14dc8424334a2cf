/**
 * The data-copy part of a backup, shared by `backup` and the restore's safety snapshot: dump
 * databases first, then copy trees (so in online mode every file the dump references exists),
 * then commit the manifest. Stopping/starting Mattermost is the caller's business.
 */
import os from 'node:os';
import type { Step } from '../runner';
import type { BackupComponent } from '../../components/component';
import type { ComponentRecord, Manifest } from '../../manifest/manifest';
import { FORMAT_VERSION } from '../../manifest/manifest';
import type { Repository } from '../../repository/repository';
import type { Discovery } from '../../discovery/discover';

export interface SnapshotDraft {
  id: string;
  startedAt: Date;
  mode: 'offline' | 'online';
  trigger: Manifest['trigger'];
  parent?: Manifest;
  records: ComponentRecord[];
  mattermostVersion?: string;
  schemaVersion?: number;
}

/** One step per component, in dependency order (databases first). */
export function componentSteps(components: BackupComponent[], draft: SnapshotDraft, repo: Repository, prefix = ''): Step[] {
  const ordered = [...components].sort((a, b) => Number(b.plan.kind === 'database') - Number(a.plan.kind === 'database'));
  return ordered.map((c) => ({
    id: `${prefix}${c.plan.id}`,
    title: `${prefix ? 'Safety snapshot: ' : ''}${c.plan.kind === 'database' ? 'Dump' : 'Copy'} ${c.plan.title}`,
    run: async (ctx) => {
      const previous = draft.parent?.components.find((p) => p.id === c.plan.id && p.status === 'included');
      const rec = await c.backup({ repo, step: ctx, mode: draft.mode, previous });
      draft.records.push(rec);
      return `${rec.files} files, ${fmt(rec.bytes)} (${fmt(rec.newBytes)} new)`;
    },
  }));
}

/** Builds the manifest from the draft; skipped components are recorded with their reason. */
export function buildManifest(draft: SnapshotDraft, d: Discovery, downtimeMs: number): Manifest {
  const included = new Map(draft.records.map((r) => [r.id, r]));
  const components: ComponentRecord[] = d.components.map((p) => included.get(p.id) ?? {
    id: p.id, title: p.title, status: 'skipped', reason: p.reason ?? 'not selected', exclude: [], entries: [], files: 0, bytes: 0, newBytes: 0, filesRead: 0, durationMs: 0,
  });
  const sum = (k: 'files' | 'bytes' | 'newBytes' | 'filesRead') => draft.records.reduce((n, r) => n + r[k], 0);
  return {
    format: 'mm-backup-snapshot',
    formatVersion: FORMAT_VERSION,
    id: draft.id,
    parent: draft.parent?.id,
    startedAt: draft.startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    mode: draft.mode,
    trigger: draft.trigger,
    host: os.hostname(),
    installDir: d.installDir,
    mattermost: {
      version: draft.mattermostVersion,
      schemaVersion: draft.schemaVersion,
      configSource: d.configSource.kind,
      fileDriver: d.fileDriver,
    },
    components,
    stats: { files: sum('files'), bytes: sum('bytes'), newBytes: sum('newBytes'), filesRead: sum('filesRead'), durationMs: Date.now() - draft.startedAt.getTime(), downtimeMs },
  };
}

import { formatBytes as fmt } from '../../core/units';

export { fmt };
