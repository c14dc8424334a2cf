/**
 * The `mm-backup` entry point: parses arguments, runs one command, and is the only place that
 * turns errors into exit codes and messages (secrets redacted).
 */
import { Command, CommanderError, Option } from 'commander';
import { asBridgeError } from '../core/errors';
import { redact } from '../core/redact';
import { EXIT, exitCodeFor, ReportedFailure } from './exit_codes';
import { startMemoryGovernor } from '../core/memory_governor';
import type { GlobalOptions } from './commands/shared';

const VERSION = '0.1.0';

/** --trust may be given several times (key rotation: the old and the new fingerprint). */
const collect = (v: string, prev: string[] = []): string[] => [...prev, v];
const TRUST_HELP = 'also trust snapshots signed by this key fingerprint (ed25519:…; repeatable; see docs/security.md)';
const UNSIGNED_HELP = 'accept a snapshot with no signature (a repository made before signing; see docs/security.md)';

// Commands are loaded on use: `backup` never pays for the HTTP server, the S3 SDK or the other
// database's driver (start-up time and resident memory; see README, Performance).
// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on use, as said above
const load = (id: string): unknown => require(id);
/** The options a command function takes (commander hands them over untyped). */
type Options<F extends (...args: never[]) => unknown, I extends number> = Parameters<F>[I];

function buildProgram(): Command {
  const program = new Command('mm-backup')
    .description('Back up, verify and restore a self-hosted Mattermost server.')
    .version(VERSION)
    .option('-c, --config <file>', 'the mm-backup config file (or MM_BACKUP_CONFIG)')
    .option('--json', 'print NDJSON progress events and a final summary object')
    .option('--debug', 'print stack traces of internal errors')
    .showHelpAfterError()
    .exitOverride();
  const g = (): GlobalOptions => program.opts<GlobalOptions>();
  program
    .command('status')
    .description('Mattermost health, the job lock (a stale one is left by a killed job) and interrupted jobs')
    .action(() => (load('./commands/status') as typeof import('./commands/status')).statusCommand(g()));
  program
    .command('discover')
    .description('show what will be backed up, where it lives and how big it is')
    .action(() => (load('./commands/discover') as typeof import('./commands/discover')).discoverCommand(g()));
  program
    .command('backup')
    .description('take a snapshot (offline by default: stops Mattermost while copying)')
    .addOption(new Option('--mode <mode>', 'offline or online').choices(['offline', 'online']))
    .option('--exclude <list>', 'components to leave out, comma-separated')
    .option('--no-replicate', 'do not copy the snapshot off-site afterwards (backup.replicateAfter)')
    .option('--no-prune', 'do not apply the retention policy afterwards (backup.pruneAfter)')
    .option('--full-walk', 'walk every directory of the file store, whatever the database says changed')
    .option('--logical', 'physical mode: dump the database now, whatever pitr.logicalDumpEveryDays says')
    .action((flags: Options<(typeof import('./commands/backup'))['backupCommand'], 1>) =>
      (load('./commands/backup') as typeof import('./commands/backup')).backupCommand(g(), flags),
    );
  program
    .command('list')
    .description('list snapshots')
    .option('--from <url>', 'read snapshots from s3://BUCKET/PREFIX (no config file needed on a new host)')
    .option('--offsite', "read this host's off-site copy instead of the local repository")
    .option('--trust <fingerprint>', TRUST_HELP, collect)
    .action((flags: Options<(typeof import('./commands/list_show'))['listCommand'], 1>) =>
      (load('./commands/list_show') as typeof import('./commands/list_show')).listCommand(g(), flags),
    );
  program
    .command('show')
    .argument('<id>', 'snapshot id or "latest"')
    .description('show a snapshot')
    .option('--from <url>', 'read snapshots from s3://BUCKET/PREFIX (no config file needed on a new host)')
    .option('--offsite', "read this host's off-site copy instead of the local repository")
    .option('--trust <fingerprint>', TRUST_HELP, collect)
    .action((id: string, flags: Options<(typeof import('./commands/list_show'))['showCommand'], 2>) =>
      (load('./commands/list_show') as typeof import('./commands/list_show')).showCommand(g(), id, flags),
    );
  program
    .command('verify')
    .argument('<id>', 'snapshot id or "latest"')
    .description('re-hash the snapshot and check its database dump')
    .option(
      '--deep',
      'also restore the dump into a throwaway database and compare row counts; in physical mode also pgbackrest verify and a restore drill of the latest physical backup',
    )
    .option('--from <url>', 'read snapshots from s3://BUCKET/PREFIX (no config file needed on a new host)')
    .option('--offsite', "read this host's off-site copy instead of the local repository")
    .option('--trust <fingerprint>', TRUST_HELP, collect)
    .option('--allow-unsigned', UNSIGNED_HELP)
    .action((id: string, flags: Options<(typeof import('./commands/verify'))['verifyCommand'], 2>) =>
      (load('./commands/verify') as typeof import('./commands/verify')).verifyCommand(g(), id, flags),
    );
  program
    .command('restore')
    .argument('[id]', 'snapshot id or "latest" (none with --at)')
    .description('restore a snapshot in place or onto a new install, or the database to a point in time (--at)')
    .option('--at <time>', 'physical mode: restore in place to this time ("2026-12-01 14:31:00+01:00") or "latest"')
    .option('--pg-data-dir <dir>', 'with --at: onto a new host, into this empty PostgreSQL data directory')
    .option('--components <list>', 'only these components, comma-separated')
    .option('--install-dir <dir>', 'restore onto this install dir instead of the configured one')
    .option(
      '--restore-absolute-roots',
      'with --install-dir: also restore components outside the install (file store elsewhere, TLS, extra paths) to their recorded paths',
    )
    .option('--database-url <url>', 'restore the database into this one (prefer --database-url-file)')
    .option('--database-url-file <file>', 'read the target database URL from a 0600 file')
    .option('--yes', 'do not ask for confirmation')
    .option('--force', 'restore even if the schema is newer or the target is not empty')
    .option('--no-safety-snapshot', 'do not snapshot the current state first')
    .option('--from <url>', 'read snapshots from s3://BUCKET/PREFIX (no config file needed on a new host)')
    .option('--offsite', "read this host's off-site copy instead of the local repository")
    .option('--trust <fingerprint>', TRUST_HELP, collect)
    .option('--allow-unsigned', UNSIGNED_HELP)
    .action((id: string | undefined, flags: Options<(typeof import('./commands/restore'))['restoreCommand'], 2>) =>
      (load('./commands/restore') as typeof import('./commands/restore')).restoreCommand(g(), id, flags),
    );
  program
    .command('prune')
    .description('apply the retention policy and remove unused objects')
    .option('--dry-run', 'show what would be removed')
    .action((flags: Options<(typeof import('./commands/prune'))['pruneCommand'], 1>) =>
      (load('./commands/prune') as typeof import('./commands/prune')).pruneCommand(g(), flags),
    );
  program
    .command('serve')
    .description('run the sidecar service: HTTP API, schedule, status posts, /backup')
    .action(() => (load('./commands/serve') as typeof import('./commands/serve')).serveCommand(g()));
  program
    .command('connect')
    .description('set up the bot, the status channel and the /backup command in Mattermost')
    .option('--admin-token-file <file>', "a system admin's access token (0600 file), used once and not stored")
    .option('--bot-token-file <file>', 'an existing bot token (0600 file)')
    .option('--teams <list>', 'register /backup only in these teams (names, comma-separated)')
    .action((flags: Options<(typeof import('./commands/connect'))['connectCommand'], 1>) =>
      (load('./commands/connect') as typeof import('./commands/connect')).connectCommand(g(), flags),
    );
  program
    .command('replicate')
    .description('copy new snapshots off-site, then apply the off-site retention')
    .action(() => (load('./commands/replicate') as typeof import('./commands/replicate')).replicateCommand(g()));
  program
    .command('sign-snapshots')
    .description('once, for a repository made before signing: verify each unsigned snapshot and sign those that pass')
    .option('--offsite', "work on this host's off-site copy instead of the local repository")
    .action((flags: Options<(typeof import('./commands/sign_snapshots'))['signSnapshotsCommand'], 1>) =>
      (load('./commands/sign_snapshots') as typeof import('./commands/sign_snapshots')).signSnapshotsCommand(
        g(),
        flags,
      ),
    );
  const pitr = program
    .command('pitr')
    .description('physical mode for PostgreSQL with pgBackRest: continuous WAL archiving (docs/pitr.md)');
  pitr
    .command('enable')
    .description('check, configure pgBackRest, set the PostgreSQL archiving settings and check that WAL is archived')
    .option('--restart-postgres', 'restart PostgreSQL once to apply wal_level/archive_mode (never left down)')
    .option('--yes', 'do not ask before restarting')
    .option('--force', 'replace an archive_command of another tool; restart despite other pending PostgreSQL changes')
    .option('--dry-run', 'say what enable would check and change, and change nothing')
    .action((flags: Options<(typeof import('./commands/pitr'))['pitrEnableCommand'], 1>) =>
      (load('./commands/pitr') as typeof import('./commands/pitr')).pitrEnableCommand(g(), flags),
    );
  pitr
    .command('disable')
    .description("put back the PostgreSQL settings pitr enable changed; pgBackRest's repository is kept")
    .option('--restart-postgres', 'restart PostgreSQL once so that archive_mode goes off now')
    .option('--yes', 'do not ask before restarting')
    .action((flags: Options<(typeof import('./commands/pitr'))['pitrDisableCommand'], 1>) =>
      (load('./commands/pitr') as typeof import('./commands/pitr')).pitrDisableCommand(g(), flags),
    );
  pitr
    .command('backup')
    .description('a physical backup with pgBackRest under the job lock, then expiry by pitr.window')
    .option('--type <type>', 'full, diff or incr (default: full when none is pitr.fullEveryDays days old, else incr)')
    .action((flags: Options<(typeof import('./commands/pitr'))['pitrBackupCommand'], 1>) =>
      (load('./commands/pitr') as typeof import('./commands/pitr')).pitrBackupCommand(g(), flags),
    );
  pitr
    .command('status')
    .description("the archiving settings, pg_stat_archiver, pgBackRest's view of the stanza and the recovery window")
    .action(() => (load('./commands/pitr') as typeof import('./commands/pitr')).pitrStatusCommand(g()));
  program
    .command('keygen')
    .description('create an age key pair for off-site encryption (shown once)')
    .option('--output <file>', 'write the identity to this new 0600 file instead of printing it')
    .action((flags: Options<(typeof import('./commands/keygen'))['keygenCommand'], 1>) =>
      (load('./commands/keygen') as typeof import('./commands/keygen')).keygenCommand(g(), flags),
    );
  return program;
}

/** Runs the CLI and resolves with the exit code (never calls process.exit). */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  const stopGovernor = startMemoryGovernor();
  try {
    await program.parseAsync(argv);
    return EXIT.OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') {
        return EXIT.OK;
      }
      return EXIT.USAGE;
    }
    const e = asBridgeError(err);
    const opts = program.opts<GlobalOptions & { debug?: boolean }>();
    const code = exitCodeFor(e.code);
    if (opts.json && !(err instanceof ReportedFailure)) {
      process.stdout.write(
        `${JSON.stringify({ type: 'summary', ok: false, error: { code: e.code, message: redact(e.message), hint: e.hint ? redact(e.hint) : undefined }, exit_code: code })}\n`,
      );
    }
    process.stderr.write(`error: ${redact(e.message)}\n`);
    if (e.hint) process.stderr.write(`hint: ${redact(e.hint)}\n`);
    if (e.code === 'INTERNAL' || opts.debug) {
      process.stderr.write(`${redact(String((e.cause as Error | undefined)?.stack ?? e.stack))}\n`);
    }
    return code;
  } finally {
    stopGovernor();
  }
}
