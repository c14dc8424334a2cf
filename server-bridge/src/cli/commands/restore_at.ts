/**
 * `mm-backup restore --at <time>|latest [--pg-data-dir <dir>]`: the database to a point in time,
 * in place or onto a new host (docs/pitr.md).
 */
import { createInterface } from 'node:readline/promises';
import { CancelledError, UsageError } from '../../core/errors';
import { prepareRestoreAt } from '../../operations/restore_at';
import { prepareRestoreAtNewHost } from '../../operations/restore_at_new_host';
import type { Operation } from '../../operations/request';
import { withChildSignal } from '../../process/run_process';
import { runRestoreJob, withLock } from '../run_with_lock';
import type { RestoreFlags } from './restore';
import { openCommand, type GlobalOptions } from './shared';

/** Flags of a snapshot restore that mean nothing for a point-in-time one (a new host is --pg-data-dir). */
const NOT_WITH_AT: Array<[keyof RestoreFlags, string]> = [
  ['components', '--components'],
  ['installDir', '--install-dir'],
  ['restoreAbsoluteRoots', '--restore-absolute-roots'],
  ['databaseUrl', '--database-url'],
  ['databaseUrlFile', '--database-url-file'],
  ['from', '--from'],
  ['offsite', '--offsite'],
];

export async function restoreAtCommand(
  globals: GlobalOptions,
  id: string | undefined,
  flags: RestoreFlags,
): Promise<void> {
  if (id) throw new UsageError(`--at restores to a time, not a snapshot: leave out "${id}"`);
  const bad = NOT_WITH_AT.filter(([k]) => flags[k] !== undefined && flags[k] !== false).map(([, f]) => f);
  if (bad.length) {
    throw new UsageError(
      `${bad.join(', ')} cannot be combined with --at (a physical restore: in place, or onto a new host with --pg-data-dir)`,
    );
  }
  if (flags.pgDataDir !== undefined && !flags.pgDataDir.startsWith('/')) {
    throw new UsageError('--pg-data-dir must be an absolute path');
  }
  if (flags.safetySnapshot === false) {
    throw new UsageError('--at always takes a safety snapshot of the files: --no-safety-snapshot is not allowed');
  }
  const { ec, out, json } = await openCommand(globals);
  // A new host trusts the old host's signing key for this run as a snapshot restore does.
  ec.trust = ec.trust.withExtra(flags.trust);
  await withLock(ec, 'restore', out, async (lock) => {
    const rt = { ec, lock, trigger: 'cli' as const, notice: (s: string) => out.info(s) };
    const req = { at: flags.at as string, force: !!flags.force, allowUnsigned: !!flags.allowUnsigned };
    const prepared = await interruptible<{ overwrites: string[]; warnings: string[]; build(): Operation }>(() =>
      flags.pgDataDir ? prepareRestoreAtNewHost({ ...req, pgDataDir: flags.pgDataDir }, rt) : prepareRestoreAt(req, rt),
    );
    if (!flags.yes) {
      if (json || !process.stdin.isTTY) {
        throw new UsageError(
          'restore --at replaces the database: pass --yes to confirm when not running interactively',
        );
      }
      out.info(`Restoring to ${flags.at} will overwrite:\n  ${prepared.overwrites.join('\n  ')}`);
      for (const w of prepared.warnings) out.info(`warning: ${w}`);
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      const answer = await rl.question('Type "restore" to continue: ');
      rl.close();
      if (answer.trim() !== 'restore') throw new UsageError('restore not confirmed; nothing was changed');
    }
    const op = prepared.build();
    await runRestoreJob(op, lock, out);
  });
}

/**
 * The preparation runs before the job (whose own handler cancels it): SIGINT or SIGTERM here stops
 * its children (pgbackrest reading a repository that hangs would otherwise outlive us, in its own
 * process group) and ends the command as cancelled, with the lock released and nothing restored.
 */
async function interruptible<T>(fn: () => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const stop = (sig: NodeJS.Signals) =>
    ac.abort(new CancelledError(`cancelled by ${sig} while the restore was being prepared: nothing was restored`));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const result = await withChildSignal(ac.signal, fn).catch((err: unknown) => {
      throw ac.signal.aborted ? new CancelledError((ac.signal.reason as Error).message, { cause: err }) : err;
    });
    if (ac.signal.aborted) throw ac.signal.reason;
    return result;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
