/**
 * The sidecar's own config file (JSON). Everything about the Mattermost server itself is
 * discovered from its install; this file only says where things are and how to stop/start it.
 */
import { z } from 'zod';
import { offsiteSchema } from './offsite_schema';
import { pitrSchema } from './pitr_schema';
import { FINGERPRINT } from '../core/fingerprint';

function isTimeZone(tz: string): boolean {
  try {
    // Throws a RangeError for a zone the runtime does not know.
    return new Intl.DateTimeFormat('en', { timeZone: tz }).resolvedOptions().timeZone !== '';
  } catch {
    return false;
  }
}

const argv = z
  .array(z.string().min(1, 'must not be an empty string'))
  .min(1, 'must be a non-empty argument array such as ["systemctl","stop","mattermost"]');

export const COMPONENT_IDS = [
  'database',
  'config_store',
  'config',
  'env_file',
  'app',
  'data',
  'export_store',
  'plugins',
  'client_plugins',
  'logs',
  'bleve',
  'tls',
  'extra',
] as const;
export type ComponentId = (typeof COMPONENT_IDS)[number];

// The .describe() texts are the configuration reference: build/config_reference.mjs writes
// docs/configuration.md from them, and a test fails when the two disagree.
const serviceSchema = z.strictObject({
  preset: z
    .enum(['systemd', 'docker-compose', 'none', 'custom'])
    .default('custom')
    .describe(
      'How Mattermost is stopped and started: `systemd` (`systemctl stop/start <unit>`), `docker-compose` (`docker compose -f <composeFile> stop/start <composeService>`), `none` (never stops Mattermost: only `--mode online` backups work), or `custom` (the `stop` and `start` arrays, which it then requires). Since the default is `custom`, a `service` section without `preset` must have `stop` and `start`.',
    ),
  unit: z
    .string()
    .regex(/^[A-Za-z0-9@._-]+$/, 'must be a systemd unit name')
    .default('mattermost')
    .describe('The systemd unit (preset `systemd`).'),
  composeFile: z.string().optional().describe('The compose file (preset `docker-compose`, which requires it).'),
  composeService: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/, 'must be a compose service name')
    .default('mattermost')
    .describe('The compose service (preset `docker-compose`).'),
  stop: argv
    .optional()
    .describe(
      'Argument array that stops Mattermost, e.g. `["systemctl","stop","mattermost"]` (never a shell string); required with preset `custom`, overrides the preset otherwise.',
    ),
  start: argv.optional().describe('Argument array that starts Mattermost; as `stop`.'),
  stopTimeoutSeconds: z
    .number()
    .int()
    .positive()
    .max(3600)
    .default(120)
    .describe('How long Mattermost may keep answering ping after `stop` returns.'),
  healthTimeoutSeconds: z
    .number()
    .int()
    .positive()
    .max(7200)
    .default(600)
    .describe('How long to wait for ping to say `OK` after `start` (migrations can be slow).'),
});

const retentionSchema = z.strictObject({
  keepLast: z
    .number()
    .int()
    .min(1, 'must be at least 1: the newest snapshot is always kept')
    .default(7)
    .describe('The newest snapshots kept, whatever their age (at least 1).'),
  keepDaily: z
    .number()
    .int()
    .min(0)
    .default(7)
    .describe('Days (host time zone) for which the newest snapshot is kept.'),
  keepWeekly: z.number().int().min(0).default(4).describe('Weeks for which the newest snapshot is kept.'),
  keepMonthly: z.number().int().min(0).default(6).describe('Months for which the newest snapshot is kept.'),
});

/**
 * What an ONLINE backup may take from the machine Mattermost runs on (process/budget.ts,
 * core/rate_limit.ts). Offline backups and restores run at full speed: Mattermost is stopped, or
 * waiting for them.
 */
const budgetSchema = z.strictObject({
  enabled: z
    .boolean()
    .default(true)
    .describe(
      'Online backups run under this budget (offline backups and restores always run at full speed: Mattermost is stopped, or waiting for them).',
    ),
  nice: z
    .number()
    .int()
    .min(0)
    .max(19)
    .default(10)
    .describe(
      "Niceness of an online backup's child processes (`pg_dump`, `mysqldump`, `zstd`), and of the whole `mm-backup backup` process when run from the CLI; 0 leaves CPU priority alone.",
    ),
  /**
   * best-effort at level 7 is the lowest priority that still always makes progress; idle waits
   * until the disk has nothing else to do (the kernel only bounds the wait loosely), and a stalled
   * dump keeps its database snapshot, and its locks against migrations, for as long.
   */
  ioClass: z
    .enum(['best-effort', 'idle', 'none'])
    .default('best-effort')
    .describe(
      "The same children's I/O class (`ionice`): `best-effort` with `ioLevel`, `idle`, or `none` (leave it alone). Best-effort 7 is the lowest priority that always makes progress; `idle` can stall a dump that holds its database snapshot. Only disks whose scheduler honours classes (BFQ) apply them.",
    ),
  ioLevel: z.number().int().min(0).max(7).default(7).describe('The best-effort level, 0–7 (7 lowest).'),
  readMBps: z
    .number()
    .positive()
    .max(1_000_000)
    .optional()
    .describe(
      'Cap on what an online backup reads, in MB/s (1 MB = 1024 × 1024 bytes): it paces the database dump and every file read; unset: unlimited. The limit that holds on every disk.',
    ),
});

export const configSchema = z
  .strictObject({
    mattermost: z
      .strictObject({
        installDir: z
          .string()
          .min(1)
          .refine((p) => p.startsWith('/'), 'must be an absolute path')
          .describe('Absolute path of the Mattermost install (`/opt/mattermost`).'),
        url: z
          .url({ protocol: /^https?$/, error: 'must be an http(s) URL such as http://127.0.0.1:8065' })
          .default('http://127.0.0.1:8065')
          .describe(
            'Where `GET /api/v4/system/ping` answers: used to wait until Mattermost is really down or really healthy, and for REST calls.',
          ),
        configPath: z
          .string()
          .optional()
          .describe(
            "Where Mattermost's config is; unset: `MM_CONFIG`, else `<installDir>/config/config.json`. A `postgres://` or `mysql://` DSN means the database config store.",
          ),
        envFile: z
          .string()
          .optional()
          .describe(
            "The service's environment file (systemd `EnvironmentFile=`, docker `.env`): its `MM_*` overrides (e.g. `MM_SQLSETTINGS_DATASOURCE`, `MM_CONFIG`) are applied, and the file is backed up.",
          ),
        botToken: z
          .string()
          .min(26)
          .optional()
          .describe(
            "The bot's access token (secret: the config file must then be 0600; prefer `botTokenFile`). Not with `botTokenFile`.",
          ),
        botTokenFile: z
          .string()
          .optional()
          .describe("A 0600 file holding the bot's access token; read when it exists."),
        statusChannel: z
          .string()
          .regex(
            /^[a-z0-9][a-z0-9_-]{0,63}\/[a-z0-9][a-z0-9_-]{0,63}$/,
            'must be team-name/channel-name (URL names, lower-case)',
          )
          .optional()
          .describe('Where status posts go: `team-name/channel-name` (URL names, not display names).'),
      })
      .describe('The Mattermost install; everything else about it is discovered.'),
    listen: z
      .strictObject({
        host: z
          .string()
          .min(1)
          .default('127.0.0.1')
          .describe("Address the sidecar's HTTP API listens on (`mm-backup serve`); keep it on loopback."),
        port: z.number().int().min(0).max(65535).default(8066).describe('Port of the HTTP API.'),
        publicUrl: z
          .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
          .optional()
          .describe(
            'The URL Mattermost (slash commands) and browsers use to reach the sidecar, e.g. `https://chat.example.com/mm-backup`.',
          ),
        allowedOrigins: z
          .array(z.url({ protocol: /^https?$/, error: 'must be an origin such as https://chat.example.com' }))
          .default([])
          .describe(
            'Origins allowed to call the API from a browser (CORS): the Mattermost site URL when the page calls the sidecar on another origin.',
          ),
      })
      .prefault({})
      .describe('The sidecar (`mm-backup serve`) HTTP API.'),
    schedule: z
      .strictObject({
        backup: z
          .string()
          .optional()
          .describe('Cron expression (5 or 6 fields, checked on load) for backups run by the sidecar; unset: none.'),
        verify: z
          .string()
          .optional()
          .describe('Cron expression for a deep verification (a restore drill) of the latest snapshot.'),
        pitrBackup: z
          .string()
          .optional()
          .describe(
            'Cron expression for physical backups (`pitr backup`, full or incremental by `pitr.fullEveryDays`); needs `pitr enable`.',
          ),
        timezone: z
          .string()
          .refine(isTimeZone, 'must be an IANA time zone such as UTC or Europe/Berlin')
          .default('UTC')
          .describe('IANA time zone of the cron expressions and of `notify.dailySummaryAt`.'),
        pruneAfterBackup: z
          .boolean()
          .optional()
          .describe('Deprecated: read as `backup.pruneAfter` when that is not set, with a notice.'),
      })
      .prefault({})
      .describe("The sidecar's schedule."),
    notify: z
      .strictObject({
        successes: z
          .enum(['each', 'daily', 'none'])
          .default('each')
          .describe(
            'Successful jobs in the status channel: a live post each, one daily summary, or nothing. Failures are always posted.',
          ),
        dailySummaryAt: z
          .string()
          .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM')
          .default('09:00')
          .describe('Local time (`HH:MM`, `schedule.timezone`) of the daily summary.'),
      })
      .prefault({})
      .describe('Status posts of the sidecar.'),
    service: serviceSchema.describe(
      'How Mattermost is stopped and started. Required: a config without it is refused (use `"preset": "none"` for a Mattermost that must never be stopped).',
    ),
    repository: z
      .strictObject({
        path: z
          .string()
          .min(1)
          .refine((p) => p.startsWith('/'), 'must be an absolute path')
          .describe(
            'The local repository directory (also holds the job lock and, in `offsite.mode` `direct`, the staging directory).',
          ),
        reserveBytes: z
          .number()
          .int()
          .min(0)
          .default(0)
          .describe(
            "Free space a backup must leave untouched on the repository's disk; a backup that would eat into it refuses.",
          ),
        packs: z
          .boolean()
          .default(true)
          .describe(
            'Store new files of up to 128 KiB (thumbnails, previews, small attachments) in 16 MiB pack files instead of one object file each ([storage.md](storage.md#packs)): much faster backups and restores of many small files. The first backup that packs marks the repository format version 2, which mm-backup versions without packs refuse. Packed objects are read whatever this says. Set false to keep one object file per object (for a repository that an older mm-backup must still read).',
          ),
      })
      .describe('Where snapshots are kept.'),
    backup: z
      .strictObject({
        mode: z
          .enum(['offline', 'online'])
          .default('offline')
          .describe(
            'The default mode of a backup: `offline` stops Mattermost (the official clean backup, with a short downtime), `online` keeps it running (one consistent database snapshot; files copied after the dump).',
          ),
        exclude: z
          .array(z.enum(COMPONENT_IDS))
          .default([])
          .describe('Component ids never backed up ([commands.md](commands.md#what-is-backed-up)).'),
        extraPaths: z
          .array(z.string().refine((p) => p.startsWith('/'), 'must be an absolute path'))
          .default([])
          .describe('More absolute paths to back up (the `extra` component), restored to the same place.'),
        appExclude: z
          .array(z.string())
          .default([])
          .describe(
            "Paths inside the install (relative) left out of the `app` component, besides other components' directories.",
          ),
        dumpCompressionLevel: z
          .number()
          .int()
          .min(1)
          .max(19)
          .default(1)
          .describe('zstd level of the database dump; 1 is fastest with a good ratio on Mattermost data.'),
        // Follow-ups of every backup, whoever starts it. Absent, the deprecated keys are read (load.ts).
        replicateAfter: z
          .boolean()
          .optional()
          .describe(
            'After every backup (CLI, System Console, `/backup now`, schedule): copy it off-site (with `offsite.mode` `replicate`). Unset: `offsite.replicateAfterBackup` if set (deprecated, with a notice), else `true`.',
          ),
        pruneAfter: z
          .boolean()
          .optional()
          .describe(
            'After every backup, and after its off-site copy: apply the retention policy. Objects no snapshot uses are swept only when the retention removed a snapshot (the sweep reads every index; `mm-backup prune` always sweeps). Unset: `schedule.pruneAfterBackup` if set (deprecated, with a notice), else `true`.',
          ),
        budget: budgetSchema
          .prefault({})
          .describe('What an online backup may take from the machine Mattermost runs on.'),
        fullWalkDays: z
          .number()
          .int()
          .min(0)
          .max(366)
          .default(7)
          .describe(
            'Days between full walks of the file store. In between, day directories of attachments more than two days old whose `FileInfo` rows did not change are taken from the parent snapshot without being walked ([storage.md](storage.md#change-detection-what-a-backup-reads-walks-and-carries)); 0 walks everything every time; `backup --full-walk` forces one.',
          ),
      })
      .prefault({})
      .describe('What a backup takes, and how.'),
    database: z
      .strictObject({
        adminUrl: z
          .string()
          .optional()
          .describe(
            'A DSN allowed to create databases, used only by `verify --deep` (secret: the config file must then be 0600; prefer `adminUrlFile`).',
          ),
        adminUrlFile: z.string().optional().describe('A 0600 file holding that DSN.'),
        pgBinDir: z
          .string()
          .optional()
          .describe(
            'Where `pg_dump`, `pg_restore` and `psql` are; unset: the newest `/usr/lib/postgresql/N/bin`, else `PATH`. Client tools of the same or a newer major version than the server.',
          ),
        restoreJobs: z
          .number()
          .int()
          .min(1)
          .max(64)
          .optional()
          .describe(
            '`pg_restore --jobs` when a restore loads into an empty PostgreSQL database (a new host); unset: one per core, 2 to 8. `1` always loads in one transaction.',
          ),
      })
      .prefault({})
      .describe('Database tools and rights; the database itself is discovered.'),
    retention: retentionSchema
      .prefault({})
      .describe(
        'What `prune` (and `backup.pruneAfter`) keeps locally; the newest snapshot that passed verification is never dropped.',
      ),
    trust: z
      .strictObject({
        fingerprints: z
          .array(
            z.string().regex(FINGERPRINT, 'must be a key fingerprint such as ed25519:… (printed by mm-backup keygen)'),
          )
          .default([])
          .describe(
            "Signing-key fingerprints (`ed25519:…`) whose snapshots are trusted besides this host's own key: older keys after a rotation, the lost server's key on a recovery host.",
          ),
        signingKeyFile: z
          .string()
          .refine((p) => p.startsWith('/'), 'must be an absolute path')
          .optional()
          .describe(
            "This host's snapshot signing key (secret, 0600, made on first use); unset: `mm-backup-signing.key` beside the config file.",
          ),
      })
      .prefault({})
      .describe(
        "Snapshot signatures ([security.md](security.md#snapshot-signatures)): which keys' snapshots this host trusts.",
      ),
    offsite: offsiteSchema(retentionSchema)
      .optional()
      .describe(
        'Off-site copies, or the repository itself, in an S3-compatible bucket ([offsite_dr.md](offsite_dr.md)); unset: none.',
      ),
    pitr: pitrSchema.prefault({}).describe('Physical mode for PostgreSQL with pgBackRest ([pitr.md](pitr.md)).'),
  })
  .superRefine((cfg, ctx) => {
    if (cfg.mattermost.botToken && cfg.mattermost.botTokenFile) {
      ctx.addIssue({
        code: 'custom',
        path: ['mattermost', 'botToken'],
        message: 'set botToken or botTokenFile, not both',
      });
    }
    const s = cfg.service;
    if (s.preset === 'custom' && (!s.stop || !s.start)) {
      ctx.addIssue({
        code: 'custom',
        path: ['service'],
        message: 'needs "stop" and "start" argument arrays, or "preset": "systemd" | "docker-compose" | "none"',
      });
    }
    if (s.preset === 'docker-compose' && !s.composeFile) {
      ctx.addIssue({
        code: 'custom',
        path: ['service', 'composeFile'],
        message: 'is required with preset docker-compose',
      });
    }
  });

export type ConfigInput = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;

/** The validated config with service commands resolved to argv arrays. */
export interface Config extends ParsedConfig {
  configFile: string;
  serviceCommands: { stop: string[] | null; start: string[] | null };
  /** The backup's follow-ups, resolved from the new keys or the deprecated ones (config/load.ts). */
  backup: ParsedConfig['backup'] & { replicateAfter: boolean; pruneAfter: boolean };
  /** Things the admin should change in the file (deprecated keys); each front end shows them once. */
  notices: string[];
}
