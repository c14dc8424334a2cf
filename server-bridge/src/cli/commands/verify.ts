/** `mm-backup verify <id|latest> [--deep]`. */
import { runOperationCommand } from '../run_with_lock';
import type { GlobalOptions } from './shared';
import { openSource } from './from_source';

export async function verifyCommand(
  globals: GlobalOptions,
  id: string,
  flags: { deep?: boolean; from?: string; offsite?: boolean; trust?: string[]; allowUnsigned?: boolean },
): Promise<void> {
  const { ec, out } = await openSource(globals, flags);
  await runOperationCommand(ec, out, {
    kind: 'verify',
    snapshotId: id,
    deep: !!flags.deep,
    allowUnsigned: !!flags.allowUnsigned,
  });
}
