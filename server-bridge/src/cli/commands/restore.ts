/** `mm-backup restore <id|latest>`: in place, or onto a new install dir and database. */
import { createInterface } from 'node:readline/promises';
import { readSecretFile } from '../../config/load';
import { UsageError } from '../../core/errors';
import { prepareRestore } from '../../operations';
import { runRestoreJob, withLock } from '../run_with_lock';
import { parseComponentList } from './backup';
import type { GlobalOptions } from './shared';
import { openSource } from './from_source';
import { restoreAtCommand } from './restore_at';

export interface RestoreFlags {
  components?: string;
  installDir?: string;
  /** With --install-dir: components outside the install go back to their recorded absolute roots too. */
  restoreAbsoluteRoots?: boolean;
  databaseUrl?: string;
  databaseUrlFile?: string;
  yes?: boolean;
  force?: boolean;
  safetySnapshot?: boolean;
  /** s3://BUCKET/PREFIX: restore from a bucket (a new host needs no config file). */
  from?: string;
  /** Restore from this host's off-site copy (the config's offsite block). */
  offsite?: boolean;
  /** Signing-key fingerprints trusted for this run, besides the config's (docs/security.md). */
  trust?: string[];
  /** Restore a snapshot that has no signature (made before signing); never one signed by another key. */
  allowUnsigned?: boolean;
  /** Physical mode: restore in place to this time (or "latest") instead of a snapshot. */
  at?: string;
  /** With --at: onto a new host, into this empty data directory. */
  pgDataDir?: string;
}

export async function restoreCommand(
  globals: GlobalOptions,
  id: string | undefined,
  flags: RestoreFlags,
): Promise<void> {
  if (flags.at !== undefined) {
    await restoreAtCommand(globals, id, flags);
    return;
  }
  if (!id) throw new UsageError('restore needs a snapshot id (or "latest"), or --at <time>');
  if (flags.pgDataDir !== undefined) throw new UsageError('--pg-data-dir only applies with --at (a physical restore)');
  const components = parseComponentList(flags.components, '--components');
  if (flags.installDir && !flags.installDir.startsWith('/')) {
    throw new UsageError('--install-dir must be an absolute path');
  }
  if (flags.restoreAbsoluteRoots && !flags.installDir) {
    throw new UsageError(
      '--restore-absolute-roots only applies with --install-dir (an in-place restore writes every root)',
    );
  }
  if (flags.from && !flags.installDir && !(globals.config ?? process.env.MM_BACKUP_CONFIG)) {
    throw new UsageError(
      '--from without a config file needs --install-dir (where to rebuild Mattermost) and --database-url-file',
    );
  }
  const { ec, out, json } = await openSource(globals, flags, flags.installDir);
  // The URL may also come from a file or the environment, so the password stays out of `ps`.
  const url =
    flags.databaseUrl ??
    (flags.databaseUrlFile
      ? await readSecretFile(flags.databaseUrlFile, '--database-url-file')
      : process.env.MM_BACKUP_DATABASE_URL);
  if (flags.databaseUrl && /:[^:@/]+@/.test(flags.databaseUrl)) {
    out.info(
      'warning: a password on the command line is visible to other users; prefer --database-url-file or MM_BACKUP_DATABASE_URL',
    );
  }
  await withLock(ec, 'restore', out, async (lock) => {
    const prepared = await prepareRestore(
      {
        kind: 'restore',
        snapshotId: id,
        include: components,
        allowUnsigned: !!flags.allowUnsigned,
        restore: {
          installDir: flags.installDir,
          absoluteRoots: !!flags.restoreAbsoluteRoots,
          databaseUrl: url,
          safetySnapshot: flags.safetySnapshot !== false,
          force: !!flags.force,
        },
      },
      { ec, lock, trigger: 'cli', notice: (s) => out.info(s) },
    );
    const m = prepared.manifest;
    if (!flags.yes) {
      if (json || !process.stdin.isTTY) {
        throw new UsageError('restore overwrites data: pass --yes to confirm when not running interactively');
      }
      out.info(`Restoring snapshot ${m.id} (${m.startedAt}) will overwrite:\n  ${prepared.overwrites.join('\n  ')}`);
      out.info(
        prepared.options.safetySnapshot
          ? 'A safety snapshot of the current state is taken first.'
          : 'NO safety snapshot will be taken (--no-safety-snapshot).',
      );
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      const answer = await rl.question(`Type the snapshot id (${m.id}) to continue: `);
      rl.close();
      if (answer.trim() !== m.id) throw new UsageError('restore not confirmed; nothing was changed');
    }
    const op = prepared.build();
    const skipped = (op.result()?.skipped ?? []) as string[];
    for (const c of skipped) {
      out.info(`skipped ${c}: its root is outside the install dir; --restore-absolute-roots restores it too`);
    }
    await runRestoreJob(op, lock, out);
  });
}
