/**
 * The `pitr` section: physical mode for PostgreSQL with pgBackRest (docs/pitr.md). Every key has
 * a default, so `mm-backup pitr enable` works with no section at all on a Debian host.
 */
import { z } from 'zod';

const absolute = z
  .string()
  .min(1)
  .refine((p) => p.startsWith('/'), 'must be an absolute path');
const argv = z
  .array(z.string().min(1, 'must not be an empty string'))
  .min(1, 'must be a non-empty argument array such as ["systemctl","restart","postgresql@15-main"]');

const postgresServiceSchema = z
  .strictObject({
    /**
     * systemd: `systemctl stop|start|is-active postgresql@<version>-<cluster>` (Debian's units);
     * pg_ctl: `pg_ctl -D <data dir>` run as postgres (no service manager); custom: the three arrays.
     */
    preset: z.enum(['systemd', 'pg_ctl', 'custom']).default('systemd'),
    /** Debian cluster name, for the systemd unit. */
    cluster: z
      .string()
      .regex(/^[A-Za-z0-9._-]+$/, 'must be a cluster name such as main')
      .default('main'),
    /** The systemd unit, when it is not postgresql@<version>-<cluster>. */
    unit: z
      .string()
      .regex(/^[A-Za-z0-9@._-]+$/, 'must be a systemd unit name')
      .optional(),
    /** Directory of pg_ctl for the pg_ctl preset; default /usr/lib/postgresql/<server major>/bin. */
    binDir: absolute.optional(),
    /** pg_ctl preset: the server's log (pg_ctl start -l); default <data dir>/pg_ctl.log. */
    logFile: absolute.optional(),
    /** custom preset (run as root as given): stop, start, and a status command that exits 0 when running. */
    stop: argv.optional(),
    start: argv.optional(),
    status: argv.optional(),
  })
  .superRefine((s, ctx) => {
    if (s.preset === 'custom' && (!s.stop || !s.start || !s.status)) {
      ctx.addIssue({ code: 'custom', message: 'preset custom needs "stop", "start" and "status" argument arrays' });
    }
  });

/**
 * Where pgBackRest keeps backups and WAL: `local` (a directory, pitr.repoPath) or `s3` (the
 * off-site bucket of offsite.s3, under its own prefix). "local" and "s3" are short for the objects.
 */
const repoSchema = z.preprocess(
  (v) => (typeof v === 'string' ? { type: v } : v),
  z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('local') }),
    z.strictObject({
      type: z.literal('s3'),
      /** Key prefix in the off-site bucket; default <offsite.s3.prefix>/pgbackrest. */
      prefix: z
        .string()
        .regex(
          /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/,
          'must be a relative key prefix such as "mattermost/pgbackrest" (letters, digits, . _ -)',
        )
        .optional(),
      /** PEM file of the CA that signed the endpoint's certificate (a private CA, a self-signed endpoint). */
      caFile: absolute.optional(),
      /** pgBackRest's spool-path (archive-async): status files of archive-push, WAL fetched ahead by archive-get. */
      spoolPath: absolute.default('/var/spool/mm-backup/pgbackrest'),
    }),
  ]),
);

export const pitrSchema = z.strictObject({
  /** How far back a point-in-time restore reaches: <n>d or <n>h. Read by physical backups (retention). */
  window: z
    .string()
    .regex(/^[1-9]\d{0,3}[dh]$/, 'must be a duration such as 7d or 36h')
    .default('7d'),
  /** pitr backup without --type takes a full when the newest full is this many days old (or none exists), else an incr. */
  fullEveryDays: z.number().int().min(1).max(366).default(7),
  /**
   * Physical mode: a backup's database part is a pgBackRest reference, and a logical dump is taken
   * only when the newest one of this install is this many days old (or none exists); 0: never.
   */
  logicalDumpEveryDays: z.number().int().min(0).max(366).default(7),
  /** archive_timeout: the longest a quiet server's WAL waits before it is archived (the RPO bound). */
  archiveTimeoutSeconds: z.number().int().min(10).max(86400).default(60),
  /** pgBackRest's stanza (its name for this cluster). */
  stanza: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'must be letters, digits, _ or - (a pgBackRest stanza name)')
    .default('mattermost'),
  /** The cluster's data directory; default: found from the postmaster listening on the DSN's port. */
  dataDir: absolute.optional(),
  /** Where pgBackRest's repository is: local (default) or s3 (the off-site bucket). */
  repo: repoSchema.default({ type: 'local' }),
  /** pgBackRest's repository (repo1-path) when repo is local; default <repository.path>/pgbackrest. */
  repoPath: absolute.optional(),
  /** Directory of our pgbackrest.conf (owned by postgres, 0600), passed as --config-path. */
  configDir: absolute.default('/etc/pgbackrest/mm-backup'),
  /** The pgbackrest binary; default: found on PATH. */
  pgbackrestBin: absolute.optional(),
  /** A 0600 file holding the repository cipher passphrase (aes-256-cbc); set before the first enable, never changed after. */
  cipherPassFile: absolute.optional(),
  /** pgBackRest's process-max (parallel compression and transfer). */
  processMax: z.number().int().min(1).max(32).default(2),
  /** archive-push-queue-max in MiB: WAL waiting beyond this is dropped (archive gap) rather than fill pg_wal. */
  archivePushQueueMaxMiB: z.number().int().min(64).max(1_048_576).default(4096),
  postgresService: postgresServiceSchema.prefault({}),
  /** Where deep verify's restore drill makes its scratch copy; default: the data directory's parent. */
  drillDir: absolute.optional(),
  /** The restore drill gives up when its copy has not recovered within this many minutes. */
  drillTimeoutMinutes: z.number().int().min(1).max(1440).default(60),
});

export type PitrConfig = z.output<typeof pitrSchema>;
