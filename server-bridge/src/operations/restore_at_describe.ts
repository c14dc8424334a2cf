/**
 * A point-in-time restore described for its confirmation (the API's restore/prepare with `at`,
 * `/backup restore --at`): the CLI's own preparation, so every refusal it makes before anything
 * changes is said at the first step; run without the lock and never built (the job prepares
 * again under the lock, when it starts).
 */
import { parseRecoveryTarget } from '../database/pgbackrest/recovery_target';
import type { EngineContext } from '../jobs/context';
import type { Trigger } from '../jobs/job_record';
import { prepareRestoreAt } from './restore_at';

export interface RestoreAtDescription {
  /** The target as the job takes it: `latest`, or the time in UTC (`…Z`). */
  at: string;
  /** The file snapshot the config, plugins and attachments come from. */
  filesSnapshotId: string;
  overwrites: string[];
  warnings: string[];
}

/** `latest` or the time in UTC, read by `restore --at`'s own parser (a time needs its offset). */
export function canonicalAt(text: string): string {
  const t = parseRecoveryTarget(text);
  return t.kind === 'latest' ? 'latest' : t.at.toISOString();
}

export async function describeRestoreAt(
  ec: EngineContext,
  at: string,
  trigger: Trigger,
  notice: (text: string) => void = () => undefined,
): Promise<RestoreAtDescription> {
  const canonical = canonicalAt(at);
  const p = await prepareRestoreAt({ at: canonical }, { ec, trigger, notice });
  return { at: canonical, filesSnapshotId: p.inputs.before.id, overwrites: p.overwrites, warnings: p.warnings };
}
