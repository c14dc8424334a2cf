/**
 * restore: before touching anything, check the snapshot's signature, that its objects are all
 * there (content is hashed as it is written), the schema version and the target; stop Mattermost, take a safety snapshot of what is about to be overwritten,
 * put each component back, start Mattermost and wait until healthy. If a component fails, every
 * component touched so far is put back from the safety snapshot.
 */
import path from 'node:path';
import { lstat, readdir } from 'node:fs/promises';
import { BridgeError, PreconditionError, VerificationError } from '../core/errors';
import { newJobId, newSnapshotId, snapshotIdAfter } from '../core/ids';
import type { ComponentRecord, Manifest } from '../manifest/manifest';
import type { Discovery } from '../discovery/discover';
import { buildComponents } from '../components/build_components';
import type { RestoreTargets } from '../components/component';
import { APPLICATION, CONFIG_DIR, kindOf, MAIN_DATABASE, restoreOrder } from '../components/registry';
import {
  checkTargetsTogether,
  rootInInstallProblem,
  unsafeSnapshot,
  type RestoreTarget,
} from '../manifest/restore_safety';
import { assertNoLinkBelow } from '../repository/tree_restore';
import { forgetCommitted, restoredParents, RestoredIndexes } from '../repository/restore_index';
import { RestoredStats } from '../repository/restored_stats';
import type { DatabaseEngine } from '../database/engine';
import type { DbTarget } from '../database/dsn';
import type { EngineContext } from '../jobs/context';
import type { JobLock } from '../jobs/lock';
import type { Job, Step, StepContext } from '../jobs/runner';
import { checkObjectsPresent } from './object_presence';
import { ensureStartedStep } from './service_steps';
import { buildManifest, componentSteps, fmt, type SnapshotDraft } from './take_snapshot';
import { pointConfigAtDatabase } from './point_config';
import { clearRollbackMarker, writeRollbackMarker } from '../jobs/rollback_marker';
import { plural } from '../core/units';

export interface RestoreOptions {
  components?: string[];
  /** Restore onto another install dir (a new server); components inside the install follow it. */
  installDir?: string;
  /** With installDir: also restore the components whose root lies outside the install (else skipped). */
  absoluteRoots?: boolean;
  /** Restore the database into this one instead of the discovered one. */
  databaseEngine?: DatabaseEngine;
  safetySnapshot: boolean;
  force: boolean;
  /** Restore a snapshot that has no signature (a repository made before signing); documented override. */
  allowUnsigned?: boolean;
}

export interface RestoreOutcome {
  safetySnapshotId?: string;
  rolledBack: boolean;
  restored: string[];
  /** Components put back from the safety snapshot after a failure, and those that could not be. */
  putBack: string[];
  notPutBack: string[];
  /** Components left out because their root is outside the new install dir (no absoluteRoots). */
  skipped: string[];
  warnings: string[];
}

/**
 * Splits the selected records into those restored and those skipped: onto a new install dir
 * (installDir), a component outside the install (absolute root) is restored only when asked.
 */
export function restorableRecords(
  records: ComponentRecord[],
  opts: RestoreOptions,
): { restore: ComponentRecord[]; skipped: ComponentRecord[] } {
  const outside = (r: ComponentRecord) =>
    Boolean(opts.installDir) && !opts.absoluteRoots && kindOf(r).outsideInstall(r);
  return { restore: records.filter((r) => !outside(r)), skipped: records.filter(outside) };
}

/**
 * Refuses, before anything is stopped or written, a snapshot whose restore would leave its
 * target: each component checks its own record as its restore writes it (a tree: its target root
 * and entry list), then the components are checked against each other. Throws the
 * VerificationError of unsafeSnapshot() (or of kindOf(), for a record no kind accepts).
 */
export async function checkRestoreSafety(records: ComponentRecord[], opts: RestoreOptions): Promise<void> {
  const targets = restoreTargets(opts, undefined);
  const written: RestoreTarget[] = [];
  for (const r of records) {
    const kind = kindOf(r);
    await kind.checkRestore(r, targets);
    const root = kind.restoreRoot(r, targets);
    if (root !== undefined) written.push({ id: r.id, root, entries: r.entries });
  }
  await checkTargetsTogether(written);
}

/**
 * Where a restore with these options writes each record (components/component.ts RestoreTargets).
 * `ec` is needed to restore, not to describe; `mainEngine` may be replaced by the caller.
 */
export function restoreTargets(opts: RestoreOptions, d: Discovery | undefined, ec?: EngineContext): RestoreTargets {
  const engineFor = (t: DbTarget): DatabaseEngine => {
    if (!ec) throw new BridgeError('INTERNAL', 'no engine context to restore with');
    return ec.engineFor(t);
  };
  return {
    root: (r) => targetRoot(r, opts),
    discovered: (id) => d?.components.find((c) => c.id === id)?.db,
    mainTarget: () => opts.databaseEngine?.target ?? d?.database,
    mainEngine: () => {
      if (opts.databaseEngine) return opts.databaseEngine;
      if (!d) throw new BridgeError('USAGE', 'restoring the database onto a new server needs --database-url');
      return engineFor(d.database);
    },
    engineFor,
  };
}

/** The records a restore writes under a root relocated into the new install dir, with that root. */
function relocated(records: ComponentRecord[], opts: RestoreOptions): Array<{ record: ComponentRecord; root: string }> {
  const targets = restoreTargets(opts, undefined);
  return records.flatMap((record) => {
    const root = record.rootInInstall === undefined ? undefined : kindOf(record).restoreRoot(record, targets);
    return root === undefined ? [] : [{ record, root }];
  });
}

/** What a failed restore left behind, appended to its error: never "put back" when a part was not. */
export function describeRollback(o: RestoreOutcome): string | undefined {
  const retry = o.safetySnapshotId
    ? ` Safety snapshot ${o.safetySnapshotId} holds the state before the restore: mm-backup restore ${o.safetySnapshotId}`
    : ' No safety snapshot was taken.';
  if (o.notPutBack.length) {
    const done = o.putBack.length
      ? ` (${o.putBack.join(', ')} ${o.putBack.length === 1 ? 'was' : 'were'} put back)`
      : '';
    return `. ${o.notPutBack.join(', ')} could NOT be put back and may be half-restored${done}.${retry}${o.safetySnapshotId ? ` --components ${o.notPutBack.join(',')}` : ''}`;
  }
  if (o.rolledBack) {
    return `. ${o.putBack.join(', ')} ${o.putBack.length === 1 ? 'was' : 'were'} put back from safety snapshot ${o.safetySnapshotId}.`;
  }
  if (o.safetySnapshotId) return `.${retry}`;
  return undefined;
}

/** Lists what a restore will overwrite (and what it skips), for the confirmation prompt and the API. */
export async function describeRestore(
  selected: ComponentRecord[],
  opts: RestoreOptions,
  d?: Discovery,
): Promise<string[]> {
  const { restore: records, skipped } = restorableRecords(selected, opts);
  await checkRestoreSafety(records, opts);
  const targets = restoreTargets(opts, d);
  const warnings: string[] = [];
  for (const r of records) warnings.push(await kindOf(r).restoreWarning(r, targets));
  return [
    ...warnings,
    ...skipped.map(
      (r) =>
        `${r.id}: skipped, ${r.root ?? 'its root'} is outside the install dir (--restore-absolute-roots restores it too)`,
    ),
  ];
}

export function selectRecords(m: Manifest, components?: string[]): ComponentRecord[] {
  const included = m.components.filter((c) => c.status === 'included');
  if (!components?.length) return included;
  const unknown = components.filter((c) => !m.components.some((x) => x.id === c));
  if (unknown.length) {
    throw new BridgeError(
      'USAGE',
      `unknown component(s) ${unknown.join(', ')}; this snapshot has ${m.components.map((c) => c.id).join(', ')}`,
    );
  }
  const skipped = components.filter((c) => !included.some((x) => x.id === c));
  if (skipped.length) {
    throw new BridgeError('USAGE', `component(s) ${skipped.join(', ')} were not backed up in snapshot ${m.id}`);
  }
  return included.filter((c) => components.includes(c.id));
}

/** Where a tree component is written: its root, or relocated under installDir; refuses a root that could leave it. */
export function targetRoot(r: ComponentRecord, opts: RestoreOptions): string {
  if (opts.installDir && r.rootInInstall) {
    const bad = rootInInstallProblem(r.rootInInstall);
    if (bad) throw unsafeSnapshot(r.id, `rootInInstall ${JSON.stringify(r.rootInInstall)}`, bad);
    return path.resolve(opts.installDir, r.rootInInstall);
  }
  if (r.root === undefined) throw unsafeSnapshot(r.id, 'the root', 'is missing');
  return r.root;
}

/**
 * Puts one component of a safety snapshot back where it was taken. The undo of a restore step
 * and the recovery of a killed restore (operations/recover_stale_lock.ts) share it.
 */
export function putBack(
  ec: EngineContext,
  r: ComponentRecord,
  d: Discovery | undefined,
  ctx: StepContext,
  dbTarget: () => DatabaseEngine,
  safetySnapshotId?: string,
): Promise<string> {
  // In place: no relocation, no --database-url; the main database is the caller's.
  const targets: RestoreTargets = {
    ...restoreTargets({ safetySnapshot: false, force: false }, d, ec),
    mainEngine: dbTarget,
  };
  return restoreIndexed(ec, r, targets, ctx, safetySnapshotId);
}

/**
 * Restores one record and keeps its post-restore index (repository/restore_index.ts) in step:
 * a tree's old index goes before anything is written, and once the tree is in place its files'
 * new metadata is recorded for the next backup (`snapshotId`: where the entries came from; none:
 * nothing is recorded). An index that cannot be recorded only costs that backup a re-read.
 */
async function restoreIndexed(
  ec: EngineContext,
  r: ComponentRecord,
  targets: RestoreTargets,
  ctx: StepContext,
  snapshotId: string | undefined,
): Promise<string> {
  const kind = kindOf(r);
  const root = kind.store === 'tree' ? kind.restoreRoot(r, targets) : undefined;
  const indexes = RestoredIndexes.beside(ec.trust.keyFile);
  if (root !== undefined) await indexes.forget(r.id);
  const stats = new RestoredStats();
  try {
    const summary = await kind.restore(r, { repo: ec.repo, step: ctx, targets, stats });
    if (root !== undefined && snapshotId) {
      try {
        await indexes.record(r.id, root, snapshotId, r.entries, { signal: ctx.signal, known: stats });
      } catch (err) {
        ctx.log(
          'warn',
          `${r.id}: the restored files' metadata could not be recorded (${(err as Error).message}); the next backup reads them again`,
        );
      }
    }
    return summary;
  } finally {
    stats.close();
  }
}

export function planRestore(
  ec: EngineContext,
  m: Manifest,
  d: Discovery | undefined,
  lock: JobLock,
  opts: RestoreOptions,
): {
  job: Job;
  outcome: RestoreOutcome;
  /** The safety snapshot its step wrote, as built in memory (its bytes were never re-read), once written. */
  safety: () => Manifest | undefined;
} {
  const outcome: RestoreOutcome = {
    rolledBack: false,
    restored: [],
    putBack: [],
    notPutBack: [],
    skipped: [],
    warnings: [],
  };
  const { restore: records, skipped } = restorableRecords(selectRecords(m, opts.components), opts);
  outcome.skipped = skipped.map((r) => r.id);
  const inPlace = !opts.installDir || (d !== undefined && path.resolve(opts.installDir) === d.installDir);
  const targets = restoreTargets(opts, d, ec);
  const dbTarget = (): DatabaseEngine => targets.mainEngine();
  let safety: Manifest | undefined;
  const recordSteps = new Map<string, ComponentRecord>();

  const restoreOne = async (r: ComponentRecord, ctx: StepContext, asUndo = false): Promise<string> => {
    if (asUndo) return putBack(ec, r, d, ctx, dbTarget, safety?.id);
    // Checked when written, after the components before it: nothing may lead out of a new install.
    if (!inPlace && opts.installDir) {
      for (const x of relocated([r], opts)) await assertNoLinkBelow(path.resolve(opts.installDir), x.root);
    }
    return restoreIndexed(ec, r, targets, ctx, m.id);
  };

  const preflight: Step = {
    id: 'preflight',
    title: 'Verify the snapshot and check the target',
    run: async (ctx) => {
      // Nothing a snapshot says is believed before its signature is (repository/trust.ts).
      const trust = await ec.trust.requireManifest(ec.repo, m, {
        allowUnsigned: opts.allowUnsigned,
        action: 'restored',
      });
      if (trust.state === 'unsigned') {
        outcome.warnings.push(`snapshot ${m.id} is not signed; restored because --allow-unsigned was given`);
      }
      // First: a snapshot that would write outside its target is refused before anything else.
      await checkRestoreSafety(records, opts);
      if (!inPlace && opts.installDir) {
        for (const x of relocated(records, opts)) await assertNoLinkBelow(path.resolve(opts.installDir), x.root);
      }
      // Presence and sizes only: each object's content is hashed as it is written, and a mismatch
      // there fails the restore, which the safety snapshot undoes (object_presence.ts).
      const check = await checkObjectsPresent(ec.repo, m, ctx, new Set(records.map((r) => r.id)));
      if (check.issues.length) {
        throw new VerificationError(
          `snapshot ${m.id} is damaged and will not be restored: ${check.issues
            .slice(0, 3)
            .map((i) => `${i.component} ${i.path ?? ''}: ${i.problem}`)
            .join('; ')}`,
          check.issues,
          {
            hint: 'restore an older snapshot (mm-backup list), and run mm-backup verify on the others',
          },
        );
      }
      const db = records.find((r) => r.id === MAIN_DATABASE);
      const appRestored = records.some((r) => r.id === APPLICATION);
      if (db && m.mattermost.schemaVersion !== undefined) {
        const current = await dbTarget()
          .databaseExists()
          .then((ok) => (ok ? dbTarget().schemaVersion() : undefined))
          .catch(() => undefined);
        if (current !== undefined && m.mattermost.schemaVersion > current && !appRestored) {
          const msg = `the snapshot's database schema (${m.mattermost.schemaVersion}) is newer than the target server's (${current}); the installed Mattermost cannot run it`;
          if (!opts.force) {
            throw new PreconditionError('VERSION_MISMATCH', msg, {
              hint: 'upgrade Mattermost first, restore the app component too, or pass --force',
            });
          }
          outcome.warnings.push(`${msg} (--force given)`);
        }
      }
      if (!inPlace && !opts.force) {
        for (const { root } of relocated(records, opts).filter((x) => x.record.rootInInstall === '.')) {
          const names = await readdir(root).catch(() => [] as string[]);
          if (names.length) {
            throw new PreconditionError('PRECONDITION_FAILED', `the new install dir ${root} is not empty`, {
              hint: 'use an empty directory, or --force to overwrite it',
            });
          }
        }
        if (db) {
          const engine = dbTarget();
          if ((await engine.databaseExists()) && Object.keys(await engine.rowCounts()).length) {
            throw new PreconditionError(
              'PRECONDITION_FAILED',
              `the target database ${engine.target.database} already has tables`,
              { hint: 'use an empty database, or --force to replace its contents' },
            );
          }
        }
      }
      if (db && opts.databaseEngine && !(await opts.databaseEngine.databaseExists())) {
        await ec
          .engineFor({
            ...opts.databaseEngine.target,
            database: opts.databaseEngine.target.driver === 'postgres' ? 'postgres' : '',
          })
          .createDatabase(opts.databaseEngine.target.database);
        ctx.log('info', `created database ${opts.databaseEngine.target.database}`);
      }
      return `${plural(check.objects, 'object')} present${check.sizes ? ' with their sizes' : ''}; restoring ${records.map((r) => r.id).join(', ')}${inPlace ? ' in place' : ' onto a new install'}`;
    },
  };

  const stop: Step = {
    id: 'stop',
    title: 'Stop Mattermost',
    skip: () => {
      if (!inPlace) return 'restoring onto a new install';
      return ec.service.canStop ? undefined : 'no service commands configured: make sure Mattermost is stopped';
    },
    run: async (ctx) => {
      await lock.update({ mattermostStopped: true });
      await ec.service.stop(ctx.signal);
    },
  };

  const safetyDraft: SnapshotDraft = {
    id: newSnapshotId(),
    startedAt: new Date(),
    mode: 'offline',
    trigger: 'safety',
    records: [],
  };
  const safetySteps: Step[] = [];
  if (inPlace && opts.safetySnapshot && d) {
    const wanted = new Set(records.map((r) => r.id));
    const comps = buildComponents(d, ec.engineFor, ec.cfg.backup.dumpCompressionLevel, wanted);
    safetySteps.push({
      id: 'safety-prepare',
      title: 'Prepare the safety snapshot',
      run: async () => {
        safetyDraft.parent = await ec.trust.newestTrusted(ec.repo, (x) => x.installDir === d.installDir);
        safetyDraft.id = snapshotIdAfter(await ec.repo.snapshotIds());
        safetyDraft.restored = await restoredParents(
          RestoredIndexes.beside(ec.trust.keyFile),
          ec.repo,
          comps.map((c) => c.plan),
        );
        safetyDraft.schemaVersion = await ec
          .engineFor(d.database)
          .schemaVersion()
          .catch(() => undefined);
        safetyDraft.mattermostVersion = m.mattermost.version;
      },
    });
    safetySteps.push(...componentSteps(comps, safetyDraft, ec.repo, 'safety-'));
    safetySteps.push({
      id: 'safety-commit',
      title: 'Write the safety snapshot',
      run: async () => {
        safety = buildManifest(safetyDraft, d, 0);
        await ec.repo.writeSnapshot(safety);
        outcome.safetySnapshotId = safety.id;
        await forgetCommitted(RestoredIndexes.beside(ec.trust.keyFile), safety);
        // A successor of a killed restore rolls back from it (operations/recover_stale_lock.ts), only if
        // the marker outside the repository names it too (the lock is in the repository).
        await writeRollbackMarker(ec.trust.keyFile, safety.id);
        await lock.update({ safetySnapshotId: safety.id });
        return `safety snapshot ${safety.id} (${fmt(safety.stats.newBytes)} new)`;
      },
    });
  }

  const ordered = restoreOrder(records);
  const restoreSteps: Step[] = ordered.map((r) => {
    recordSteps.set(r.id, r);
    return {
      id: `restore-${r.id}`,
      title: `Restore ${r.title}`,
      run: async (ctx) => {
        if (!lock.current.overwriting) await lock.update({ overwriting: true });
        const summary = await restoreOne(r, ctx);
        outcome.restored.push(r.id);
        return summary;
      },
      undo: async (ctx) => {
        const back = safety?.components.find((c) => c.id === r.id && c.status === 'included');
        if (!safety || !back) {
          outcome.notPutBack.push(r.id);
          throw new BridgeError('PRECONDITION_FAILED', `${r.id} cannot be put back: no safety snapshot holds it`);
        }
        if (!lock.current.overwriting) await lock.update({ overwriting: true });
        try {
          await restoreOne(back, ctx, true);
        } catch (err) {
          outcome.notPutBack.push(r.id);
          throw err;
        }
        outcome.putBack.push(r.id);
        outcome.rolledBack = true;
        ctx.log('warn', `${r.id} was put back from safety snapshot ${safety.id}`);
      },
    };
  });

  const pointConfig: Step = {
    id: 'point-config',
    title: 'Point the restored config at the new database',
    skip: () =>
      !opts.databaseEngine || !records.some((r) => r.id === CONFIG_DIR)
        ? 'the database address is unchanged'
        : undefined,
    run: async () => {
      const config = records.find((r) => r.id === CONFIG_DIR) as ComponentRecord;
      const file = path.join(targetRoot(config, opts), 'config.json');
      // The restored config.json is rewritten in place: a link there would carry the write elsewhere.
      if ((await lstat(file).catch(() => undefined))?.isSymbolicLink()) {
        throw unsafeSnapshot('config', file, 'is a symbolic link; it is not rewritten');
      }
      return pointConfigAtDatabase(file, (opts.databaseEngine as DatabaseEngine).target);
    },
  };

  const start: Step = {
    id: 'start',
    title: 'Start Mattermost and wait until healthy',
    skip: () => (!inPlace || !ec.service.canStop ? 'Mattermost is not managed here' : undefined),
    run: async (ctx) => {
      // Every component is in place: a successor of a kill from here on only starts Mattermost.
      await lock.update({ overwriting: false });
      await ec.service.start(ctx.signal);
      await lock.update({ mattermostStopped: false });
    },
  };

  // The restore ended (done, or undone as far as it could be): nothing may roll back to its safety snapshot later.
  const forgetRollback: Step = {
    id: 'forget-rollback',
    title: 'Forget the rollback marker',
    skip: () => (safety ? undefined : 'no safety snapshot was taken'),
    run: async () => clearRollbackMarker(ec.trust.keyFile),
  };

  return {
    job: {
      id: newJobId(),
      kind: 'restore',
      steps: [preflight, stop, ...safetySteps, ...restoreSteps, pointConfig, start],
      finally: [ensureStartedStep(ec, lock), forgetRollback],
    },
    outcome,
    safety: () => safety,
  };
}
