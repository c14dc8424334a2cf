/** Turns the discovered plan into component instances (only the included ones). */
import type { Discovery } from '../discovery/discover';
import type { DatabaseEngine } from '../database/engine';
import type { DbTarget } from '../database/dsn';
import type { BackupComponent } from './component';
import { DatabaseComponent } from './database_component';
import { TreeComponent } from './tree_component';

export function buildComponents(d: Discovery, engineFor: (t: DbTarget) => DatabaseEngine, compressionLevel: number, only?: Set<string>): BackupComponent[] {
  return d.components
    .filter((p) => p.status === 'included' && (!only || only.has(p.id)))
    .map((p) => (p.kind === 'database'
      ? new DatabaseComponent(p, engineFor(p.db as DbTarget), compressionLevel)
      : new TreeComponent(p, d.installDir)));
}
