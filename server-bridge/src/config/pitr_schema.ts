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
     * pg_ctl: `pg_ctl -D <data dir>` run as postgres (no service manager); docker-compose: the
     * compose service (its data directory a bind mount here); custom: the three arrays.
     */
    preset: z
      .enum(['systemd', 'pg_ctl', 'docker-compose', 'custom'])
      .default('systemd')
      .describe(
        "How PostgreSQL is restarted: `systemd` (`systemctl stop/start/is-active postgresql@<version>-<cluster>`, Debian's units), `pg_ctl` (`pg_ctl -D <data dir>` run as postgres), `docker-compose` (`docker compose -f <composeFile> stop/start <composeService>`, status `docker compose -f <composeFile> exec -T --user postgres <composeService> pg_ctl status`; requires `composeFile`), or `custom` (`stop`, `start` and `status`, which it then requires).",
      ),
    cluster: z
      .string()
      .regex(/^[A-Za-z0-9._-]+$/, 'must be a cluster name such as main')
      .default('main')
      .describe('Debian cluster name, for the systemd unit.'),
    unit: z
      .string()
      .regex(/^[A-Za-z0-9@._-]+$/, 'must be a systemd unit name')
      .optional()
      .describe('The systemd unit, when it is not `postgresql@<version>-<cluster>`.'),
    binDir: absolute
      .optional()
      .describe('Directory of `pg_ctl` (preset `pg_ctl`); unset: `/usr/lib/postgresql/<server major>/bin`.'),
    logFile: absolute
      .optional()
      .describe("The server's log for `pg_ctl start -l` (preset `pg_ctl`); unset: `<data dir>/pg_ctl.log`."),
    composeFile: absolute
      .optional()
      .describe('The compose file (preset `docker-compose`, which requires it): an absolute path.'),
    composeService: z
      .string()
      .regex(/^[A-Za-z0-9._-]+$/, 'must be a compose service name')
      .default('postgres')
      .describe('The compose service running PostgreSQL (preset `docker-compose`).'),
    stop: argv.optional().describe('Preset `custom`: argument array that stops PostgreSQL (run as root as given).'),
    start: argv.optional().describe('Preset `custom`: argument array that starts PostgreSQL.'),
    status: argv.optional().describe('Preset `custom`: argument array that exits 0 when PostgreSQL runs.'),
  })
  .superRefine((s, ctx) => {
    if (s.preset === 'custom' && (!s.stop || !s.start || !s.status)) {
      ctx.addIssue({ code: 'custom', message: 'preset custom needs "stop", "start" and "status" argument arrays' });
    }
    if (s.preset === 'docker-compose' && !s.composeFile) {
      ctx.addIssue({ code: 'custom', path: ['composeFile'], message: 'is required with preset docker-compose' });
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
      prefix: z
        .string()
        .regex(
          /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/,
          'must be a relative key prefix such as "mattermost/pgbackrest" (letters, digits, . _ -)',
        )
        .optional()
        .describe('Key prefix in the off-site bucket; unset: `<offsite.s3.prefix>/pgbackrest`.'),
      caFile: absolute
        .optional()
        .describe("PEM file of the CA that signed the endpoint's certificate (a private CA, a self-signed endpoint)."),
      spoolPath: absolute
        .default('/var/spool/mm-backup/pgbackrest')
        .describe(
          "pgBackRest's spool-path (archive-async): status files of archive-push, WAL fetched ahead by archive-get.",
        ),
    }),
  ]),
);

export const pitrSchema = z.strictObject({
  window: z
    .string()
    .regex(/^[1-9]\d{0,3}[dh]$/, 'must be a duration such as 7d or 36h')
    .default('7d')
    .describe('How far back a point-in-time restore reaches: `<n>d` or `<n>h`. Read by physical backups (retention).'),
  fullEveryDays: z
    .number()
    .int()
    .min(1)
    .max(366)
    .default(7)
    .describe(
      '`pitr backup` without `--type` takes a full backup when the newest full is this many days old (or none exists), else an incremental one.',
    ),
  logicalDumpEveryDays: z
    .number()
    .int()
    .min(0)
    .max(366)
    .default(7)
    .describe(
      "In physical mode a backup's database part is a pgBackRest reference; a logical dump is taken only when the newest one of this install is this many days old (or none exists); 0: never.",
    ),
  archiveTimeoutSeconds: z
    .number()
    .int()
    .min(10)
    .max(86400)
    .default(60)
    .describe(
      "PostgreSQL's `archive_timeout`: the longest a quiet server's WAL waits before it is archived (the RPO bound).",
    ),
  stanza: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'must be letters, digits, _ or - (a pgBackRest stanza name)')
    .default('mattermost')
    .describe("pgBackRest's stanza (its name for this cluster)."),
  dataDir: absolute
    .optional()
    .describe("The cluster's data directory; unset: found from the postmaster listening on the DSN's port."),
  repo: repoSchema
    .default({ type: 'local' })
    .describe(
      'Where pgBackRest\'s repository is: `"local"` (a directory, `pitr.repoPath`) or `"s3"` (the off-site bucket of `offsite.s3`, under its own prefix); the strings are short for `{"type": …}`.',
    ),
  repoPath: absolute
    .optional()
    .describe("pgBackRest's repository (`repo1-path`) when `repo` is local; unset: `<repository.path>/pgbackrest`."),
  configDir: absolute
    .default('/etc/pgbackrest/mm-backup')
    .describe('Directory of our `pgbackrest.conf` (owned by postgres, 0600), passed as `--config-path`.'),
  pgbackrestBin: absolute.optional().describe('The `pgbackrest` binary; unset: found on `PATH`.'),
  cipherPassFile: absolute
    .optional()
    .describe(
      'A 0600 file holding the repository cipher passphrase (aes-256-cbc); required when `repo` is s3; set before the first `pitr enable`, never changed after.',
    ),
  processMax: z
    .number()
    .int()
    .min(1)
    .max(32)
    .default(2)
    .describe("pgBackRest's `process-max` (parallel compression and transfer)."),
  archivePushQueueMaxMiB: z
    .number()
    .int()
    .min(64)
    .max(1_048_576)
    .default(4096)
    .describe(
      '`archive-push-queue-max` in MiB: WAL waiting beyond this is dropped (an archive gap) rather than fill `pg_wal`.',
    ),
  postgresService: postgresServiceSchema
    .prefault({})
    .describe('How PostgreSQL is restarted when `pitr enable`/`disable` change its settings.'),
  drillDir: absolute
    .optional()
    .describe("Where deep verify's restore drill makes its scratch copy; unset: the data directory's parent."),
  drillTimeoutMinutes: z
    .number()
    .int()
    .min(1)
    .max(1440)
    .default(60)
    .describe('The restore drill gives up when its copy has not recovered within this many minutes.'),
});

export type PitrConfig = z.output<typeof pitrSchema>;
