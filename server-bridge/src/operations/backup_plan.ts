/**
 * backup: preflight (disk, versions), stop Mattermost (offline), dump, copy, start and wait
 * healthy, then commit the manifest. Mattermost is started again on every failure path.
 */
import { newJobId, newSnapshotId, snapshotIdAfter } from '../core/ids';
import { PreconditionError } from '../core/errors';
import type { ComponentId } from '../config/schema';
import { buildComponents } from '../components/build_components';
import { MAIN_DATABASE } from '../components/registry';
import type { BackupComponent } from '../components/component';
import type { WalkState } from '../repository/walk_state';
import type { Discovery } from '../discovery/discover';
import type { Manifest } from '../manifest/manifest';
import { serverVersion } from '../mattermost/health';
import type { EngineContext } from '../jobs/context';
import type { JobLock } from '../jobs/lock';
import type { Job, Step } from '../jobs/runner';
import {
  buildManifest,
  componentSteps,
  fmt,
  offlineSnapshotSteps,
  previousOf,
  walkOf,
  type SnapshotDraft,
} from './take_snapshot';
import { WalkStates } from '../repository/walk_state';
import { forgetCommitted, restoredParents, RestoredIndexes } from '../repository/restore_index';
import { ensureStartedStep } from './service_steps';
import { spaceNeeded } from './space_needed';
import { withDatabasePart, type DatabasePart } from './physical_snapshot';
import { backupBudget, budgetGaps, describeBudget } from '../process/budget';
import { applyToProcess } from '../process/own_priority';
import { plural } from '../core/units';

export interface BackupOptions {
  mode: 'offline' | 'online';
  trigger: Manifest['trigger'];
  exclude?: ComponentId[];
  /**
   * The job has this process to itself (the CLI): an online backup lowers the whole process, so its
   * own hashing and reading yield too. Never in the sidecar, whose main thread answers the API.
   */
  ownProcess?: boolean;
  /** Walk every directory of the file store, whatever the database says changed (backup --full-walk). */
  fullWalk?: boolean;
  /** Physical mode: the database part is a pgBackRest reference rather than a dump (physical_snapshot.ts). */
  databasePart?: DatabasePart;
}

export interface BackupPlan {
  job: Job;
  /** Filled in once the manifest is committed. */
  result: { manifest?: Manifest };
}

/** Minimum headroom kept on the repository disk besides the estimate, for the manifest and temp files. */
const MARGIN = 64 * 1024 * 1024;

export function planBackup(ec: EngineContext, d: Discovery, lock: JobLock, opts: BackupOptions): BackupPlan {
  const result: BackupPlan['result'] = {};
  const walks = WalkStates.beside(ec.trust.keyFile);
  const components: BackupComponent[] = withDatabasePart(
    buildComponents(d, ec.engineFor, ec.cfg.backup.dumpCompressionLevel),
    opts.databasePart,
    ec.cfg,
    ec.engineFor,
  );
  const draft: SnapshotDraft = {
    id: newSnapshotId(),
    startedAt: new Date(),
    mode: opts.mode,
    trigger: opts.trigger,
    records: [],
    budget: backupBudget(ec.cfg.backup.budget, opts.mode),
  };
  let stoppedAt = 0;
  let downtimeMs = 0;

  const preflight: Step = {
    id: 'preflight',
    title: 'Check disk space, versions and the previous snapshot',
    run: async (ctx) => {
      if (opts.mode === 'offline' && !ec.service.canStop) {
        throw new PreconditionError(
          'PRECONDITION_FAILED',
          'an offline backup must stop Mattermost, but no service stop/start commands are configured (preset "none")',
          {
            hint: 'configure service (systemd, docker-compose or custom commands), or run with --mode online',
          },
        );
      }
      // Beside everything below (a physical reference's pgBackRest and psql calls); awaited before
      // the estimates. Marked handled here so that a refusal before then leaves no stray rejection.
      const prepared = Promise.all(components.flatMap((c) => (c.prepare ? [c.prepare(ctx.signal)] : [])));
      prepared.catch(() => undefined);
      const cleaned = await ec.repo.cleanStaging();
      if (cleaned) ctx.log('warn', `removed ${cleaned} temporary files left by an interrupted job`);
      if (draft.budget) {
        ctx.log('info', describeBudget(draft.budget.children, draft.budget.readMBps));
        const gaps = budgetGaps(draft.budget.children);
        if (gaps.length) ctx.log('warn', `the backup runs without ${gaps.join(' and ')}`);
        // After the lock is taken: a stale lock's recovery (a rollback, a restart) runs at full speed.
        if (opts.ownProcess) await applyToProcess(draft.budget.children);
      }
      draft.parent = await ec.trust.newestTrusted(ec.repo, (m) => m.installDir === d.installDir);
      draft.id = snapshotIdAfter(await ec.repo.snapshotIds());
      draft.restored = await restoredParents(
        RestoredIndexes.beside(ec.trust.keyFile),
        ec.repo,
        components.map((c) => c.plan),
      );
      const db = components.find((c) => c.plan.id === MAIN_DATABASE);
      const engine = db ? ec.engineFor(d.database) : undefined;
      draft.schemaVersion = await engine?.schemaVersion();
      draft.mattermostVersion = (await serverVersion(ec.cfg.mattermost.url)) ?? draft.parent?.mattermost.version;
      let needed = MARGIN;
      draft.walk = {
        states: await loadWalkStates(walks, components, draft.parent),
        fullWalkDays: opts.fullWalk ? 0 : ec.cfg.backup.fullWalkDays,
      };
      await prepared;
      // A bucket has no free-space figure (space() is undefined): only local disks are checked.
      const space = await ec.repo.space();
      const usable = space ? space.free - ec.cfg.repository.reserveBytes : Infinity;
      const need = await spaceNeeded(components, usable - needed, (c) =>
        c.estimate(previousOf(draft, c), walkOf(draft, c)),
      );
      needed += need.bytes;
      if (space && usable < needed) {
        throw new PreconditionError(
          'DISK_SPACE',
          `not enough space in the repository: this backup needs up to ${fmt(needed)}, ${fmt(Math.max(0, usable))} is usable (${fmt(space.free)} free, ${fmt(ec.cfg.repository.reserveBytes)} reserved)`,
          {
            hint: 'free space on that disk, run mm-backup prune, or move repository.path',
            details: { neededBytes: needed, freeBytes: space.free, reserveBytes: ec.cfg.repository.reserveBytes },
          },
        );
      }
      const restored = draft.restored.size ? `; as restored: ${[...draft.restored.keys()].join(', ')}` : '';
      const part = opts.databasePart ? `; database: ${opts.databasePart.reason}` : '';
      const how = need.scanned ? '' : ' (bounded by the used space of the disks backed up: no scan)';
      return `up to ${fmt(needed)} needed${how}, ${space ? `${fmt(usable)} usable` : 'no local disk to check'}; parent ${draft.parent?.id ?? 'none (full backup)'}${restored}${part}`;
    },
  };

  // Offline only: whatever changed since the parent is read before the stop, so the downtime is
  // spent re-checking metadata and reading only what changed in the meantime.
  const precopy: Step = {
    id: 'precopy',
    title: 'Copy changed files while Mattermost still runs',
    skip: () =>
      opts.mode === 'online'
        ? `online backup: files are copied after the database ${opts.databasePart?.physical ? 'reference' : 'dump'}`
        : undefined,
    run: async (ctx) => {
      let files = 0;
      let bytes = 0;
      for (const c of components) {
        const read = await c.precopy?.({
          repo: ec.repo,
          step: ctx,
          mode: opts.mode,
          previous: previousOf(draft, c),
          walk: walkOf(draft, c),
        });
        files += read?.filesRead ?? 0;
        bytes += read?.bytesRead ?? 0;
      }
      // The pass made during the stop nearly always stores something (a log file grew): the pack
      // index is loaded now, while Mattermost runs. At a million packed objects its load took 1.3 s
      // of the downtime of a backup in which nothing else changed.
      await ec.repo.prepareWrites({ signal: ctx.signal });
      return `${plural(files, 'changed file')} (${fmt(bytes)}) copied ahead of the stop`;
    },
  };

  const stop: Step = {
    id: 'stop',
    title: 'Stop Mattermost',
    skip: () => (opts.mode === 'online' ? 'online backup: Mattermost keeps running' : undefined),
    run: async (ctx) => {
      // Recorded before the command runs: if this process dies mid-stop, the next run restarts it.
      await lock.update({ mattermostStopped: true });
      stoppedAt = Date.now();
      await ec.service.stop(ctx.signal);
    },
  };

  const start: Step = {
    id: 'start',
    title: 'Start Mattermost and wait until healthy',
    skip: () => (opts.mode === 'online' ? 'online backup' : undefined),
    run: async (ctx) => {
      await ec.service.start(ctx.signal);
      downtimeMs = Date.now() - stoppedAt;
      await lock.update({ mattermostStopped: false });
      return `downtime ${(downtimeMs / 1000).toFixed(1)} s`;
    },
  };

  const commit: Step = {
    id: 'commit',
    title: 'Write the snapshot manifest',
    run: async (ctx) => {
      const manifest = buildManifest(draft, d, downtimeMs);
      await ec.repo.writeSnapshot(manifest);
      result.manifest = manifest;
      // Committed: this snapshot is the parent from now on, post-restore indexes are spent.
      await forgetCommitted(RestoredIndexes.beside(ec.trust.keyFile), manifest);
      const unsaved = await saveWalkStates(walks, components, manifest.id);
      if (unsaved) ctx.log('warn', `${unsaved}; the next backup walks every directory`);
      return `snapshot ${manifest.id}: ${fmt(manifest.stats.bytes)}, ${fmt(manifest.stats.newBytes)} new`;
    },
  };

  const copy =
    opts.mode === 'offline'
      ? offlineSnapshotSteps(components, draft, ec.repo)
      : { steps: componentSteps(components, draft, ec.repo), after: [] };
  return {
    job: {
      id: newJobId(),
      kind: 'backup',
      steps: [preflight, precopy, stop, ...copy.steps, start, ...copy.after, commit],
      finally: [
        ensureStartedStep(ec, lock),
        {
          // A failed backup leaves nothing half-written in the staging directory: the pack it was
          // filling is removed now, not at the next job's cleanup (a commit stores it, so then none).
          id: 'discard-pack',
          title: 'Remove the pack a failed backup was writing',
          skip: () => (ec.repo.packs.writing ? undefined : 'no pack is being written'),
          run: async () => {
            await ec.repo.packs.reset();
            return 'the unfinished pack was removed';
          },
        },
      ],
    },
    result,
  };
}

/** The walk states recorded with the parent snapshot, for the trees that keep one. */
async function loadWalkStates(
  walks: WalkStates,
  components: BackupComponent[],
  parent: Manifest | undefined,
): Promise<Map<string, WalkState>> {
  const states = new Map<string, WalkState>();
  if (!parent) return states;
  for (const c of components) {
    if (!c.walkState || !c.plan.root) continue;
    const s = await walks.load(c.plan.id, c.plan.root, parent.id);
    if (s) states.set(c.plan.id, s);
  }
  return states;
}

/** Saves each tree's walk state under the committed snapshot; what could not be saved, or undefined. */
async function saveWalkStates(
  walks: WalkStates,
  components: BackupComponent[],
  snapshotId: string,
): Promise<string | undefined> {
  const failed: string[] = [];
  for (const c of components) {
    const s = c.walkState?.();
    if (!s || !c.plan.root) continue;
    // A cache: failing to keep it costs the next backup a full walk, never this snapshot.
    await walks.save(c.plan.id, c.plan.root, snapshotId, s).catch((err: unknown) => {
      failed.push(`the walk state of ${c.plan.id} was not saved (${(err as Error).message})`);
    });
  }
  return failed.length ? failed.join('; ') : undefined;
}
