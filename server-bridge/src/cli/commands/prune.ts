/** `mm-backup prune [--dry-run]`. */
import { runOperationCommand } from '../run_with_lock';
import { openCommand, type GlobalOptions } from './shared';

export async function pruneCommand(globals: GlobalOptions, flags: { dryRun?: boolean }): Promise<void> {
  const { ec, out } = await openCommand(globals);
  await runOperationCommand(ec, out, { kind: 'prune', dryRun: !!flags.dryRun });
}
