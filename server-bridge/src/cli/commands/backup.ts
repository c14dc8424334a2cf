/** `mm-backup backup`: offline (default, the official clean backup) or online, then its follow-ups. */
import { COMPONENT_IDS, type ComponentId } from '../../config/schema';
import { UsageError } from '../../core/errors';
import { runOperationCommand } from '../run_with_lock';
import { openCommand, type GlobalOptions } from './shared';

export interface BackupFlags {
  mode?: string;
  exclude?: string;
  /** commander's --no-replicate / --no-prune: false turns the follow-up off for this run. */
  replicate?: boolean;
  prune?: boolean;
  fullWalk?: boolean;
  /** Physical mode: take a logical dump now (pitr.logicalDumpEveryDays otherwise decides). */
  logical?: boolean;
}

export function parseComponentList(list: string | undefined, flag: string): ComponentId[] | undefined {
  if (!list) return undefined;
  const ids = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = ids.filter((i) => !(COMPONENT_IDS as readonly string[]).includes(i));
  if (bad.length) {
    throw new UsageError(`${flag}: unknown component ${bad.join(', ')} (known: ${COMPONENT_IDS.join(', ')})`);
  }
  return ids as ComponentId[];
}

export async function backupCommand(globals: GlobalOptions, flags: BackupFlags): Promise<void> {
  const mode = flags.mode ?? undefined;
  if (mode !== undefined && mode !== 'offline' && mode !== 'online') {
    throw new UsageError(`--mode must be offline or online, not "${mode}"`);
  }
  const exclude = parseComponentList(flags.exclude, '--exclude');
  const { ec, out } = await openCommand(globals);
  await runOperationCommand(ec, out, {
    kind: 'backup',
    mode,
    exclude,
    fullWalk: flags.fullWalk === true ? true : undefined,
    logical: flags.logical === true ? true : undefined,
    // Only a "no" is passed: otherwise backup.replicateAfter / backup.pruneAfter decide.
    replicate: flags.replicate === false ? false : undefined,
    prune: flags.prune === false ? false : undefined,
  });
}
