/**
 * The data-copy part of a backup, shared by `backup` and the restore's safety snapshot: dump
 * databases first, then copy trees (so in online mode every file the dump references exists),
 * then commit the manifest. Stopping/starting Mattermost is the caller's business.
 */
import os from 'node:os';
import { backgroundTask, type Step } from '../jobs/runner';
import type { BackupComponent, WalkContext } from '../components/component';
import type { WalkState } from '../repository/walk_state';
import type { ComponentRecord, Manifest } from '../manifest/manifest';
import { FORMAT_VERSION, PHYSICAL_FORMAT_VERSION } from '../manifest/manifest';
import type { Repository } from '../repository/repository';
import type { Discovery } from '../discovery/discover';
import { plural, formatBytes as fmt } from '../core/units';
import type { BackupBudget } from '../process/budget';

/** Byte counts as people read them (re-exported for the other plans). */
export { fmt };

export interface SnapshotDraft {
  id: string;
  startedAt: Date;
  mode: 'offline' | 'online';
  trigger: Manifest['trigger'];
  parent?: Manifest;
  /** Per component id: a post-restore index compared against instead of the parent's record (repository/restore_index.ts). */
  restored?: Map<string, ComponentRecord>;
  records: ComponentRecord[];
  mattermostVersion?: string;
  schemaVersion?: number;
  /** What the copy may take from the machine (online backups); absent for full speed (a restore's safety snapshot). */
  budget?: BackupBudget;
  /** Change detection from the database (repository/settled_days.ts): the parent's walk states by component id. */
  walk?: { states: Map<string, WalkState>; fullWalkDays: number };
}

/** One step per component, in dependency order (databases first). */
export function componentSteps(
  components: BackupComponent[],
  draft: SnapshotDraft,
  repo: Repository,
  prefix = '',
): Step[] {
  return ordered(components).map((c) => ({
    id: `${prefix}${c.plan.id}`,
    // A getter: the runner reads it again when the step starts (a reference may have become a dump).
    get title() {
      const own = c.stepTitles?.()?.backup ?? `${c.plan.kind === 'database' ? 'Dump' : 'Copy'} ${c.plan.title}`;
      return `${prefix ? 'Safety snapshot: ' : ''}${own}`;
    },
    run: async (ctx) => {
      const rec = await c.backup({
        repo,
        step: ctx,
        mode: draft.mode,
        previous: previousOf(draft, c),
        budget: draft.budget,
        walk: walkOf(draft, c),
      });
      draft.records.push(rec);
      return summarize(rec);
    },
  }));
}

/**
 * The same steps for an offline backup, where a dump whose snapshot is pinned (PostgreSQL's
 * exported snapshot, with the tables locked against DDL) no longer needs Mattermost stopped:
 * its step starts the dump as a background task of the job and returns once the snapshot is
 * pinned; the dump goes on while the trees are copied and after Mattermost is started, and
 * `after` holds the steps that await it. A failing job stops the dump (jobs/runner.ts).
 */
export function offlineSnapshotSteps(
  components: BackupComponent[],
  draft: SnapshotDraft,
  repo: Repository,
): { steps: Step[]; after: Step[] } {
  const after: Step[] = [];
  const steps = ordered(components).map((c): Step => {
    if (c.plan.kind !== 'database') return componentSteps([c], draft, repo)[0] as Step;
    const dump = backgroundTask<ComponentRecord>(`dump-${c.plan.id}`);
    after.push({
      id: `${c.plan.id}-finish`,
      get title() {
        return c.stepTitles?.()?.finish ?? `Finish the dump of ${c.plan.title}`;
      },
      run: async (ctx) => {
        const rec = await ctx.awaitBackground(dump);
        draft.records.push(rec);
        return summarize(rec);
      },
    });
    return {
      id: c.plan.id,
      get title() {
        return c.stepTitles?.()?.pin ?? `Pin a snapshot of ${c.plan.title} and start its dump`;
      },
      run: async (ctx) => {
        let pinned!: () => void;
        const isPinned = new Promise<void>((r) => {
          pinned = r;
        });
        const record = ctx.startBackground(dump, (bg) =>
          c.backup({
            repo,
            step: bg,
            mode: draft.mode,
            previous: previousOf(draft, c),
            onPinned: () => pinned(),
            budget: draft.budget,
          }),
        );
        await Promise.race([isPinned, record]);
        return c.stepTitles?.()
          ? 'WAL position read; its archiving is awaited while Mattermost runs again'
          : 'snapshot pinned; the dump goes on while Mattermost runs again';
      },
    };
  });
  return { steps, after };
}

function ordered(components: BackupComponent[]): BackupComponent[] {
  return [...components].sort((a, b) => Number(b.plan.kind === 'database') - Number(a.plan.kind === 'database'));
}

/** What a component's walk may take from the parent: none after a restore (the parent is then its post-restore index). */
export function walkOf(draft: SnapshotDraft, c: BackupComponent): WalkContext | undefined {
  if (!draft.walk) return undefined;
  const previous = draft.restored?.has(c.plan.id) ? undefined : draft.walk.states.get(c.plan.id);
  return { previous, fullWalkDays: draft.walk.fullWalkDays };
}

/** What a component's backup compares against: its post-restore index if it has one, else the parent's record. */
export function previousOf(draft: SnapshotDraft, c: BackupComponent): ComponentRecord | undefined {
  const restored = draft.restored?.get(c.plan.id);
  if (restored) return restored;
  return draft.parent?.components.find((p) => p.id === c.plan.id && p.status === 'included');
}

function summarize(rec: ComponentRecord): string {
  if (rec.physical) return `no dump: pgBackRest backup ${rec.physical.label} and WAL to ${rec.physical.lsn}`;
  return `${plural(rec.files, 'file')}, ${fmt(rec.bytes)} (${fmt(rec.newBytes)} new)`;
}

/** Builds the manifest from the draft; skipped components are recorded with their reason. */
export function buildManifest(draft: SnapshotDraft, d: Discovery, downtimeMs: number): Manifest {
  const included = new Map(draft.records.map((r) => [r.id, r]));
  const components: ComponentRecord[] = d.components.map(
    (p) =>
      included.get(p.id) ?? {
        id: p.id,
        title: p.title,
        status: 'skipped',
        reason: p.reason ?? 'not selected',
        exclude: [],
        entries: [],
        files: 0,
        bytes: 0,
        newBytes: 0,
        filesRead: 0,
        durationMs: 0,
      },
  );
  const sum = (k: 'files' | 'bytes' | 'newBytes' | 'filesRead') => draft.records.reduce((n, r) => n + r[k], 0);
  return {
    format: 'mm-backup-snapshot',
    // Version 2 only when needed: a snapshot of dumps stays readable by versions that know only 1.
    formatVersion: draft.records.some((r) => r.physical) ? PHYSICAL_FORMAT_VERSION : FORMAT_VERSION,
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
    stats: {
      files: sum('files'),
      bytes: sum('bytes'),
      newBytes: sum('newBytes'),
      filesRead: sum('filesRead'),
      durationMs: Date.now() - draft.startedAt.getTime(),
      downtimeMs,
    },
  };
}
