/**
 * A component is one data store of a Mattermost server (database, config dir, file store...).
 * It backs itself up into the repository and describes the result as a ComponentRecord in the
 * manifest; restore and verify work from that record alone, so they need no live discovery.
 */
import type { ComponentRecord } from '../manifest/manifest';
import type { Repository } from '../repository/repository';
import type { StepContext } from '../jobs/runner';
import type { ComponentPlan } from '../discovery/discover';
import type { VerifyIssue } from '../core/errors';
import type { DatabaseEngine } from '../database/engine';

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
}

export interface BackupComponent {
  readonly plan: ComponentPlan;
  estimate(previous?: ComponentRecord): Promise<Estimate>;
  /** Optional: copies what estimate() found changed while Mattermost still runs (offline backups), so less is left for the downtime. */
  precopy?(ctx: BackupContext): Promise<{ filesRead: number; bytesRead: number }>;
  backup(ctx: BackupContext): Promise<ComponentRecord>;
}

export interface RestoreContext {
  repo: Repository;
  step: StepContext;
  /** Where a tree component goes (relocated for --install-dir); databases use `engine`. */
  root?: string;
  engine?: DatabaseEngine;
}

export interface VerifyContext {
  repo: Repository;
  step: StepContext;
  deep: boolean;
  /** Engine on a server where a throwaway database can be created (deep verify). */
  scratchEngine?: DatabaseEngine;
}

export type { VerifyIssue };
