/**
 * The database kinds: Mattermost's database, and the config store when the config lives in a
 * database of its own. Backed up as one dump, restored by loading it, verified by reading it
 * through (and with `deep`, loading it into a throwaway database).
 */
import type { DbTarget } from '../database/dsn';
import type { DatabaseEngine } from '../database/engine';
import { BridgeError } from '../core/errors';
import type { ComponentRecord } from '../manifest/manifest';
import { DatabaseComponent, restoreDatabaseRecord, verifyDatabaseRecord } from './database_component';
import { SpecKind } from './component';
import type {
  BackupComponent,
  BackupDeps,
  ComponentKind,
  KindIdentity,
  ComponentPlan,
  ObjectRef,
  RestoreContext,
  RestoreTargets,
  Site,
  VerifyContext,
  VerifyIssue,
} from './component';

export interface DatabaseKindSpec extends KindIdentity {
  /** Included (with its database and tables) or skipped with the reason. */
  locate: (site: Site) => Pick<ComponentPlan, 'status' | 'reason' | 'db' | 'tables'> & { title?: string };
  /** The database a restore loads the dump into. */
  target: (t: RestoreTargets) => { describe: () => DbTarget | undefined; engine: () => DatabaseEngine };
}

export class DatabaseKind extends SpecKind<DatabaseKindSpec> implements ComponentKind {
  readonly store = 'database';
  constructor(spec: DatabaseKindSpec) {
    super(spec, 'database');
  }

  locate(site: Site): ComponentPlan {
    const { title, ...found } = this.spec.locate(site);
    return { id: this.spec.id, title: title ?? this.spec.title, kind: 'database', exclude: [], ...found };
  }

  backup(plan: ComponentPlan, deps: BackupDeps): BackupComponent {
    return new DatabaseComponent(plan, deps.engineFor(plan.db as DbTarget), deps.compressionLevel);
  }

  /** A dump, or (physical mode) a pgBackRest reference: exactly one of the two. */
  fits(r: ComponentRecord): boolean {
    return (r.database !== undefined) !== (r.physical !== undefined) && r.entries.length === 0;
  }

  async *objects(r: ComponentRecord): AsyncGenerator<ObjectRef> {
    if (r.database) yield { sha256: r.database.object, path: 'database dump', size: r.database.size };
    return Promise.resolve();
  }

  restoreRoot(): undefined {
    return undefined;
  }

  outsideInstall(): boolean {
    return false; // a database has no place in the install dir: it goes where --database-url or discovery says
  }

  checkRestore(): Promise<void> {
    // Nothing is written to the file system; the driver is checked against the target when restored.
    return Promise.resolve();
  }

  restoreWarning(r: ComponentRecord, t: RestoreTargets): Promise<string> {
    if (r.physical) {
      return Promise.resolve(
        `${r.id}: the whole PostgreSQL cluster of ${r.physical.target} goes back to ${r.physical.at} (pgBackRest backup ${r.physical.label} and WAL to ${r.physical.lsn})`,
      );
    }
    const target = this.spec.target(t).describe();
    return Promise.resolve(
      `${r.id}: the whole database ${target ? `${target.driver} ${target.host}:${target.port}/${target.database}` : ''} is replaced (${Object.keys(r.database?.rowCounts ?? {}).length} tables)`,
    );
  }

  restore(r: ComponentRecord, ctx: RestoreContext): Promise<string> {
    if (r.physical) {
      // operations/restore.ts sends such a snapshot through the point-in-time restore's steps.
      return Promise.reject(
        new BridgeError('INTERNAL', `${r.id} is a physical reference: it is restored by pgBackRest, not loaded`),
      );
    }
    return restoreDatabaseRecord(r, { repo: ctx.repo, step: ctx.step, engine: this.spec.target(ctx.targets).engine() });
  }

  verifyTitle(r: ComponentRecord, deep: boolean): string | undefined {
    // pgBackRest checks its own backups (checksums in its manifests); there is no object to read here.
    if (r.physical) return undefined;
    return deep ? `Restore drill of the ${r.id} dump in a throwaway database` : `Read the ${r.id} dump and count rows`;
  }

  verify(r: ComponentRecord, ctx: VerifyContext): Promise<VerifyIssue[]> {
    if (r.physical) return Promise.resolve([]);
    return verifyDatabaseRecord(r, ctx);
  }
}

/** Where the main dump goes: --database-url, else the discovered database. */
export function mainDatabase(t: RestoreTargets): {
  describe: () => DbTarget | undefined;
  engine: () => DatabaseEngine;
} {
  return { describe: () => t.mainTarget(), engine: () => t.mainEngine() };
}

/** Where a config-store dump goes: the config database discovered here, else the main one. */
export function configDatabase(
  id: string,
): (t: RestoreTargets) => { describe: () => DbTarget | undefined; engine: () => DatabaseEngine } {
  return (t) => {
    const found = () => t.discovered(id) ?? t.discovered('database');
    return {
      describe: () => found() ?? t.mainTarget(),
      engine: () => {
        const target = found();
        return target ? t.engineFor(target) : t.mainEngine();
      },
    };
  };
}
