/**
 * backup: preflight (disk, versions), stop Mattermost (offline), dump, copy, start and wait
 * healthy, then commit the manifest. Mattermost is started again on every failure path.
 */
import { newJobId, newSnapshotId } from '../core/ids';
import { PreconditionError } from '../core/errors';
import type { ComponentId } from '../config/schema';
import { buildComponents } from '../components/build_components';
import { MAIN_DATABASE } from '../components/registry';
import type { BackupComponent } from '../components/component';
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
  type SnapshotDraft,
} from './take_snapshot';
import { forgetCommitted, restoredParents, RestoredIndexes } from '../repository/restore_index';
import { ensureStartedStep } from './service_steps';
import { backupBudget, budgetGaps, describeBudget } from '../process/budget';
import { applyToProcess } from '../process/own_priority';

export interface BackupOptions {
  mode: 'offline' | 'online';
  trigger: Manifest['trigger'];
  exclude?: ComponentId[];
  /**
   * The job has this process to itself (the CLI): an online backup lowers the whole process, so its
   * own hashing and reading yield too. Never in the sidecar, whose main thread answers the API.
   */
  ownProcess?: boolean;
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
  const components: BackupComponent[] = buildComponents(d, ec.engineFor, ec.cfg.backup.dumpCompressionLevel);
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
      for (const c of components) needed += (await c.estimate(previousOf(draft, c))).changedBytes;
      // A bucket has no free-space figure (space() is undefined): only local disks are checked.
      const space = await ec.repo.space();
      const usable = space ? space.free - ec.cfg.repository.reserveBytes : Infinity;
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
      return `up to ${fmt(needed)} needed, ${space ? `${fmt(usable)} usable` : 'no local disk to check'}; parent ${draft.parent?.id ?? 'none (full backup)'}${restored}`;
    },
  };

  // Offline only: whatever changed since the parent is read before the stop, so the downtime is
  // spent re-checking metadata and reading only what changed in the meantime.
  const precopy: Step = {
    id: 'precopy',
    title: 'Copy changed files while Mattermost still runs',
    skip: () => (opts.mode === 'online' ? 'online backup: files are copied after the dump' : undefined),
    run: async (ctx) => {
      let files = 0;
      let bytes = 0;
      for (const c of components) {
        const read = await c.precopy?.({ repo: ec.repo, step: ctx, mode: opts.mode });
        files += read?.filesRead ?? 0;
        bytes += read?.bytesRead ?? 0;
      }
      return `${files} changed files (${fmt(bytes)}) copied ahead of the stop`;
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
    run: async () => {
      const manifest = buildManifest(draft, d, downtimeMs);
      await ec.repo.writeSnapshot(manifest);
      result.manifest = manifest;
      // Committed: this snapshot is the parent from now on, post-restore indexes are spent.
      await forgetCommitted(RestoredIndexes.beside(ec.trust.keyFile), manifest);
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
      finally: [ensureStartedStep(ec, lock)],
    },
    result,
  };
}
