/**
 * A component is one data store of a Mattermost server (database, config dir, file store...).
 * Each kind (components/registry.ts) knows, side by side, where it lives on a server (locate),
 * how to back it up, restore it, verify it, what a restore of it overwrites, and how to describe
 * it: GitLab's backup Task. A backup describes its result as a ComponentRecord in the manifest;
 * restore and verify work from that record alone, so they need no live discovery.
 */
import type { ComponentId } from '../config/schema';
import type { ComponentRecord } from '../manifest/manifest';
import type { Repository } from '../repository/repository';
import type { StepContext } from '../jobs/runner';
import type { VerifyIssue } from '../core/errors';
import type { DatabaseEngine } from '../database/engine';
import type { DbTarget } from '../database/dsn';
import type { BackupBudget } from '../process/budget';
import type { WalkState } from '../repository/walk_state';
import type { RestoredStats } from '../repository/restored_stats';

/** What discovery decided for one component on this server: included (and where) or skipped (and why). */
export interface ComponentPlan {
  id: ComponentId;
  title: string;
  kind: 'tree' | 'database';
  status: 'included' | 'skipped';
  reason?: string;
  /** Tree components: absolute root, optional include list, paths left to other components. */
  root?: string;
  include?: string[];
  exclude: string[];
  db?: DbTarget;
  tables?: string[];
  /** Tree components: the database whose FileInfo rows describe the tree's day directories (the file store). */
  fileInfo?: DbTarget;
}

/**
 * The facts discovery reads from the Mattermost config and the environment, from which each
 * kind locates itself. Paths are absolute.
 */
export interface Site {
  installDir: string;
  configDir: string;
  /** The config lives in a database (MM_CONFIG is a DSN): that database. */
  configDatabase?: DbTarget;
  envFile?: string;
  database: DbTarget;
  fileDriver: string;
  /** A file store not on this disk, named for the skip reason (e.g. `S3 bucket "mm"`). */
  fileStoreName?: string;
  dataDir: string;
  /** FileSettings.DedicatedExportStore is on: its driver, and its directory (local) or its name (S3, Azure). */
  exportStore?: { driver: string; dir?: string; name?: string };
  pluginDir: string;
  clientPluginDir: string;
  logsDir: string;
  bleveDir?: string;
  /** Certificate and key files the config names (TLS, SAML, LDAP) that exist. */
  certificateFiles: string[];
  extraPaths: string[];
}

export interface Estimate {
  files: number;
  bytes: number;
  /** Bytes that will have to be read and may need new space (changed since the previous snapshot). */
  changedBytes: number;
}

export interface BackupContext {
  repo: Repository;
  step: StepContext;
  mode: 'offline' | 'online';
  /** The same component in the parent snapshot, for change detection. */
  previous?: ComponentRecord;
  /** Called once what the backup will contain is fixed (a database's snapshot pinned) while the copy goes on. */
  onPinned?: () => void;
  /** An online backup's budget: children start under `children`, reads pay into `reads` first. Absent: full speed. */
  budget?: BackupBudget;
  walk?: WalkContext;
}

/** What a tree's walk may take from its parent (repository/settled_days.ts). */
export interface WalkContext {
  /** The walk state recorded with the parent snapshot (none after a restore, or when not kept). */
  previous?: WalkState;
  /** A full walk when the last one is this many days old; 0: every backup walks everything. */
  fullWalkDays: number;
}

/** One planned component of one backup (it may keep state between estimate, precopy and backup). */
export interface BackupComponent {
  readonly plan: ComponentPlan;
  estimate(previous?: ComponentRecord, walk?: WalkContext): Promise<Estimate>;
  /**
   * Optional: work that needs nothing of the snapshot being drafted (a physical reference finds its
   * pgBackRest backup), started at the top of preflight so that it runs beside the rest of it.
   * Rejects only when `signal` aborts; estimate() and backup() await the same work.
   */
  prepare?(signal?: AbortSignal): Promise<void>;
  /**
   * Optional: an upper bound of what backing it up can add, known without walking it (the used space
   * of the filesystem `dev` it lies on: components on one filesystem count it once). When the
   * repository has room for every bound, estimate() is not called: the first pass reads as it walks.
   */
  bound?(): Promise<{ dev: number; bytes: number } | undefined>;
  /**
   * Optional: copies what changed while Mattermost still runs (offline backups), so less is left for
   * the downtime: what estimate() found, or, when it was not called, all of it in one pass.
   */
  precopy?(ctx: BackupContext): Promise<{ filesRead: number; bytesRead: number }>;
  backup(ctx: BackupContext): Promise<ComponentRecord>;
  /** Optional: the walk state of the tree backup() just wrote, saved once its snapshot is committed. */
  walkState?(): WalkState | undefined;
  /**
   * Optional: the titles of its steps when they do something else than dump (a database) or copy
   * (a tree): read again when each step starts, so they can follow what the component has found.
   */
  stepTitles?(): ComponentStepTitles | undefined;
}

/** A component's step titles: its one step, or, offline, the step that pins it and the one that finishes it. */
export interface ComponentStepTitles {
  backup: string;
  pin: string;
  finish: string;
}

/** What a backup component needs besides its plan. */
export interface BackupDeps {
  installDir: string;
  engineFor: (t: DbTarget) => DatabaseEngine;
  compressionLevel: number;
}

/**
 * Where a restore writes, resolved by the restore operation (relocation onto a new install dir,
 * --database-url) and asked by each component for its own record.
 */
export interface RestoreTargets {
  /** The root a tree record is written to; throws the unsafe-snapshot error for a root that could leave it. */
  root(r: ComponentRecord): string;
  /** The database discovery found for component `id` on this server (none on a new server or when not discovered). */
  discovered(id: string): DbTarget | undefined;
  /** The database the main dump goes to, without connecting (for the warning): --database-url, else the discovered one. */
  mainTarget(): DbTarget | undefined;
  /** The same as an engine; throws a usage error when there is none. */
  mainEngine(): DatabaseEngine;
  engineFor(t: DbTarget): DatabaseEngine;
}

export interface RestoreContext {
  repo: Repository;
  step: StepContext;
  targets: RestoreTargets;
  /** A tree's restore puts here what it learned of the paths it made (for the post-restore index). */
  stats?: RestoredStats;
}

export interface VerifyContext {
  repo: Repository;
  step: StepContext;
  deep: boolean;
  /** Engine on a server where a throwaway database can be created (deep verify). */
  scratchEngine?: DatabaseEngine;
}

/** An object a record references, for the checksum pass of verify and restore. */
export interface ObjectRef {
  sha256: string;
  path: string;
  size?: number;
}

/** What the API and the webapp show of a kind (GET /v1/components). */
export interface ComponentDescription {
  id: ComponentId;
  title: string;
  description: string;
  /** 'database' (a dump) or 'files' (a file tree). */
  store: 'database' | 'files';
  /** Where it lives, in the words of the Mattermost setting that decides it. */
  location: string;
  /** Holds secrets: browsable by name only, never downloadable from the page (set by the registry). */
  secrets?: boolean;
}

/** What a kind's spec says of itself: everything of its description but the store. */
export type KindIdentity = Omit<ComponentDescription, 'store' | 'secrets'>;

/**
 * What every kind takes from its spec alone: its id, its title and its description, which names
 * `described` as its store. The kinds (database_kind.ts, tree_kind.ts) extend it.
 */
export abstract class SpecKind<S extends KindIdentity> {
  protected constructor(
    protected readonly spec: S,
    private readonly described: ComponentDescription['store'],
  ) {}

  get id(): ComponentId {
    return this.spec.id;
  }
  get title(): string {
    return this.spec.title;
  }

  describe(): ComponentDescription {
    const { id, title, description, location } = this.spec;
    return { id, title, description, store: this.described, location };
  }
}

/** One kind of component: every operation on it, side by side. Contract: all methods work from the record alone. */
export interface ComponentKind {
  readonly id: ComponentId;
  readonly title: string;
  readonly store: 'database' | 'tree';
  describe(): ComponentDescription;
  /** Where it lives on this server (discovery): included with its root or database, or skipped with the reason. */
  locate(site: Site): ComponentPlan;
  /** A backup of it as planned. */
  backup(plan: ComponentPlan, deps: BackupDeps): BackupComponent;
  /** Does this record have this kind's shape (a manifest is input: a tree record with a dump is refused)? */
  fits(r: ComponentRecord): boolean;
  /** The objects the record references, streamed in its order (a large index is never held; an object may repeat). */
  objects(r: ComponentRecord): AsyncIterable<ObjectRef>;
  /** The root the restore writes under, for the containment checks (undefined for a database). */
  restoreRoot(r: ComponentRecord, t: RestoreTargets): string | undefined;
  /** True when the record lies outside the install dir (a restore onto a new install skips it unless asked). */
  outsideInstall(r: ComponentRecord): boolean;
  /** Checks, before anything is stopped, that the record can be written where it goes; throws unsafeSnapshot(). */
  checkRestore(r: ComponentRecord, t: RestoreTargets): Promise<void>;
  /** One line for the confirmation prompt: what a restore of this record overwrites. */
  restoreWarning(r: ComponentRecord, t: RestoreTargets): Promise<string>;
  /** Puts the record back; returns a one-line summary. */
  restore(r: ComponentRecord, ctx: RestoreContext): Promise<string>;
  /** Title of verify's own step for this record, or undefined when its check is part of the checksum pass. */
  verifyTitle(r: ComponentRecord, deep: boolean): string | undefined;
  /** Checks the record beyond its objects' checksums (a dump is read through; a file list is checked as restore would). */
  verify(r: ComponentRecord, ctx: VerifyContext): Promise<VerifyIssue[]>;
}

export type { VerifyIssue };
