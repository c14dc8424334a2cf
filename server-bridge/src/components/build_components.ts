/** Turns the discovered plan into component instances (only the included ones), each built by its kind. */
import type { DbTarget } from '../database/dsn';
import type { DatabaseEngine } from '../database/engine';
import type { BackupComponent, ComponentPlan } from './component';
import { componentKind } from './registry';

/** `d` is a Discovery (only what is read here is named, so components/ does not import discovery/). */
export function buildComponents(
  d: { installDir: string; components: readonly ComponentPlan[] },
  engineFor: (t: DbTarget) => DatabaseEngine,
  compressionLevel: number,
  only?: Set<string>,
): BackupComponent[] {
  return d.components
    .filter((p) => p.status === 'included' && (!only || only.has(p.id)))
    .map((p) => componentKind(p.id).backup(p, { installDir: d.installDir, engineFor, compressionLevel }));
}
