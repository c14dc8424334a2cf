/** `mm-backup replicate`: copy new local snapshots off-site, then apply off-site retention. */
import { runOperationCommand } from '../run_with_lock';
import { openCommand, type GlobalOptions } from './shared';

export async function replicateCommand(globals: GlobalOptions): Promise<void> {
  const { ec, out } = await openCommand(globals);
  await runOperationCommand(ec, out, { kind: 'replicate' });
}
