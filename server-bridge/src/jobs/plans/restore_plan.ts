/**
 * restore: before touching anything, verify the snapshot's checksums, check the schema version
 * and the target; stop Mattermost, take a safety snapshot of what is about to be overwritten,
 * put each component back, start Mattermost and wait until healthy. If a component fails, every
 * component touched so far is put back from the safety snapshot.
 */
import path from 'node:path';
import { readdir } from 'node:fs/promises';
import { BridgeError, PreconditionError, VerificationError } from '../../core/errors';
import { newJobId, newSnapshotId } from '../../core/ids';
import type { ComponentRecord, Manifest } from '../../manifest/manifest';
import type { Discovery } from '../../discovery/discover';
import { buildComponents } from '../../components/build_components';
import { restoreDatabaseRecord } from '../../components/database_component';
import { restoreTreeRecord } from '../../components/tree_component';
import type { DatabaseEngine } from '../../database/engine';
import type { EngineContext } from '../context';
import type { JobLock } from '../lock';
import type { Job, Step, StepContext } from '../runner';
import { checkObjects } from './verify_plan';
import { ensureStartedStep } from './service_steps';
import { buildManifest, componentSteps, fmt, type SnapshotDraft } from './take_snapshot';
import { pointConfigAtDatabase } from './point_config';

export interface RestoreOptions {
  components?: string[];
  /** Restore onto another install dir (a new server); components inside the install follow it. */
  installDir?: string;
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
  warnings: string[];
}

/** Lists what a restore will overwrite, for the confirmation prompt and the API. */
export function describeRestore(records: ComponentRecord[], opts: RestoreOptions, d?: Discovery): string[] {
  return records.map((r) => {
    if (r.database) {
      const target = opts.databaseEngine?.target ?? d?.database;
      return `${r.id}: the whole database ${target ? `${target.driver} ${target.host}:${target.port}/${target.database}` : ''} is replaced (${Object.keys(r.database.rowCounts).length} tables)`;
    }
    const root = targetRoot(r, opts);
    if (!r.entries.some((e) => e.path === '')) {
      // A component of single files (TLS keys, extra paths, the env file): only those are replaced.
      const files = r.entries.filter((e) => e.type === 'file').map((e) => path.join(root, e.path));
      return `${r.id}: ${files.length} file${files.length === 1 ? '' : 's'} replaced (${files.slice(0, 3).join(', ')}${files.length > 3 ? ', …' : ''}); nothing else there is touched`;
    }
    return `${r.id}: ${root} is made identical to the snapshot (${r.files} files; files not in the snapshot are removed)`;
  });
}

export function selectRecords(m: Manifest, components?: string[]): ComponentRecord[] {
  const included = m.components.filter((c) => c.status === 'included');
  if (!components?.length) return included;
  const unknown = components.filter((c) => !m.components.some((x) => x.id === c));
  if (unknown.length) throw new BridgeError('USAGE', `unknown component(s) ${unknown.join(', ')}; this snapshot has ${m.components.map((c) => c.id).join(', ')}`);
  const skipped = components.filter((c) => !included.some((x) => x.id === c));
  if (skipped.length) throw new BridgeError('USAGE', `component(s) ${skipped.join(', ')} were not backed up in snapshot ${m.id}`);
  return included.filter((c) => components.includes(c.id));
}

export function targetRoot(r: ComponentRecord, opts: RestoreOptions): string {
  if (opts.installDir && r.rootInInstall) return path.resolve(opts.installDir, r.rootInInstall);
  return r.root as string;
}

export function planRestore(ec: EngineContext, m: Manifest, d: Discovery | undefined, lock: JobLock, opts: RestoreOptions): { job: Job; outcome: RestoreOutcome } {
  const outcome: RestoreOutcome = { rolledBack: false, restored: [], warnings: [] };
  const records = selectRecords(m, opts.components);
  const inPlace = !opts.installDir || (d !== undefined && path.resolve(opts.installDir) === d.installDir);
  const dbTarget = (): DatabaseEngine => {
    if (opts.databaseEngine) return opts.databaseEngine;
    if (!d) throw new BridgeError('USAGE', 'restoring the database onto a new server needs --database-url');
    return ec.engineFor(d.database);
  };
  let safety: Manifest | undefined;
  const recordSteps = new Map<string, ComponentRecord>();

  const restoreOne = async (r: ComponentRecord, ctx: StepContext, asUndo = false): Promise<string> => {
    if (r.database) {
      const engine = r.id === 'config_store' && d ? ec.engineFor(d.components.find((c) => c.id === 'config_store')?.db ?? d.database) : dbTarget();
      return restoreDatabaseRecord(r, { repo: ec.repo, step: ctx, engine });
    }
    return restoreTreeRecord(r, { repo: ec.repo, step: ctx, root: asUndo ? (r.root as string) : targetRoot(r, opts) });
  };

  const preflight: Step = {
    id: 'preflight',
    title: 'Verify the snapshot and check the target',
    run: async (ctx) => {
      // Nothing a snapshot says is believed before its signature is (repository/trust.ts).
      const trust = await ec.trust.requireManifest(ec.repo, m, { allowUnsigned: opts.allowUnsigned, action: 'restored' });
      if (trust.state === 'unsigned') outcome.warnings.push(`snapshot ${m.id} is not signed; restored because --allow-unsigned was given`);
      const check = await checkObjects(ec.repo, m, ctx, new Set(records.map((r) => r.id)));
      if (check.issues.length) {
        throw new VerificationError(`snapshot ${m.id} is damaged and will not be restored: ${check.issues.slice(0, 3).map((i) => `${i.component} ${i.path ?? ''}: ${i.problem}`).join('; ')}`, check.issues, {
          hint: 'restore an older snapshot (mm-backup list), and run mm-backup verify on the others',
        });
      }
      const db = records.find((r) => r.id === 'database');
      const appRestored = records.some((r) => r.id === 'app');
      if (db && m.mattermost.schemaVersion !== undefined) {
        const current = await dbTarget().databaseExists().then((ok) => (ok ? dbTarget().schemaVersion() : undefined)).catch(() => undefined);
        if (current !== undefined && m.mattermost.schemaVersion > current && !appRestored) {
          const msg = `the snapshot's database schema (${m.mattermost.schemaVersion}) is newer than the target server's (${current}); the installed Mattermost cannot run it`;
          if (!opts.force) throw new PreconditionError('VERSION_MISMATCH', msg, { hint: 'upgrade Mattermost first, restore the app component too, or pass --force' });
          outcome.warnings.push(`${msg} (--force given)`);
        }
      }
      if (!inPlace && !opts.force) {
        for (const r of records.filter((x) => !x.database && x.rootInInstall === '.')) {
          const root = targetRoot(r, opts);
          const names = await readdir(root).catch(() => [] as string[]);
          if (names.length) throw new PreconditionError('PRECONDITION_FAILED', `the new install dir ${root} is not empty`, { hint: 'use an empty directory, or --force to overwrite it' });
        }
        if (db) {
          const engine = dbTarget();
          if ((await engine.databaseExists()) && Object.keys(await engine.rowCounts()).length) {
            throw new PreconditionError('PRECONDITION_FAILED', `the target database ${engine.target.database} already has tables`, { hint: 'use an empty database, or --force to replace its contents' });
          }
        }
      }
      if (db && opts.databaseEngine && !(await opts.databaseEngine.databaseExists())) {
        await ec.engineFor({ ...opts.databaseEngine.target, database: opts.databaseEngine.target.driver === 'postgres' ? 'postgres' : '' })
          .createDatabase(opts.databaseEngine.target.database);
        ctx.log('info', `created database ${opts.databaseEngine.target.database}`);
      }
      return `${check.objects} objects verified; restoring ${records.map((r) => r.id).join(', ')}${inPlace ? ' in place' : ' onto a new install'}`;
    },
  };

  const stop: Step = {
    id: 'stop',
    title: 'Stop Mattermost',
    skip: () => (!inPlace ? 'restoring onto a new install' : !ec.service.canStop ? 'no service commands configured: make sure Mattermost is stopped' : undefined),
    run: async (ctx) => {
      await lock.update({ mattermostStopped: true });
      await ec.service.stop(ctx.signal);
    },
  };

  const safetyDraft: SnapshotDraft = { id: newSnapshotId(), startedAt: new Date(), mode: 'offline', trigger: 'safety', records: [] };
  const safetySteps: Step[] = [];
  if (inPlace && opts.safetySnapshot && d) {
    const wanted = new Set(records.map((r) => r.id));
    const comps = buildComponents(d, ec.engineFor, ec.cfg.backup.dumpCompressionLevel, wanted);
    safetySteps.push({
      id: 'safety-prepare',
      title: 'Prepare the safety snapshot',
      run: async () => {
        safetyDraft.parent = await ec.repo.newestSnapshot((x) => x.installDir === d.installDir);
        safetyDraft.schemaVersion = await ec.engineFor(d.database).schemaVersion().catch(() => undefined);
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
        return `safety snapshot ${safety.id} (${fmt(safety.stats.newBytes)} new)`;
      },
    });
  }

  const ordered = [...records].sort((a, b) => Number(!!b.database) - Number(!!a.database));
  const restoreSteps: Step[] = ordered.map((r) => {
    recordSteps.set(r.id, r);
    return {
      id: `restore-${r.id}`,
      title: `Restore ${r.title}`,
      run: async (ctx) => {
        const summary = await restoreOne(r, ctx);
        outcome.restored.push(r.id);
        return summary;
      },
      undo: async (ctx) => {
        const back = safety?.components.find((c) => c.id === r.id && c.status === 'included');
        if (!safety || !back) {
          ctx.log('error', `cannot undo ${r.id}: no safety snapshot holds it`);
          return;
        }
        await restoreOne(back, ctx, true);
        outcome.rolledBack = true;
        ctx.log('warn', `${r.id} was put back from safety snapshot ${safety.id}`);
      },
    };
  });

  const pointConfig: Step = {
    id: 'point-config',
    title: 'Point the restored config at the new database',
    skip: () => (!opts.databaseEngine || !records.some((r) => r.id === 'config') ? 'the database address is unchanged' : undefined),
    run: async () => {
      const config = records.find((r) => r.id === 'config') as ComponentRecord;
      return pointConfigAtDatabase(path.join(targetRoot(config, opts), 'config.json'), (opts.databaseEngine as DatabaseEngine).target);
    },
  };

  const start: Step = {
    id: 'start',
    title: 'Start Mattermost and wait until healthy',
    skip: () => (!inPlace || !ec.service.canStop ? 'Mattermost is not managed here' : undefined),
    run: async (ctx) => {
      await ec.service.start(ctx.signal);
      await lock.update({ mattermostStopped: false });
    },
  };

  return {
    job: { id: newJobId(), kind: 'restore', steps: [preflight, stop, ...safetySteps, ...restoreSteps, pointConfig, start], finally: [ensureStartedStep(ec, lock)] },
    outcome,
  };
}
