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

const serviceSchema = z.strictObject({
  /** systemd and docker-compose expand into stop/start argv arrays; none never stops anything. */
  preset: z.enum(['systemd', 'docker-compose', 'none', 'custom']).default('custom'),
  unit: z
    .string()
    .regex(/^[A-Za-z0-9@._-]+$/, 'must be a systemd unit name')
    .default('mattermost'),
  composeFile: z.string().optional(),
  composeService: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/, 'must be a compose service name')
    .default('mattermost'),
  stop: argv.optional(),
  start: argv.optional(),
  /** How long to wait for the server to stop answering after `stop` returns. */
  stopTimeoutSeconds: z.number().int().positive().max(3600).default(120),
  /** How long to wait for ping to say OK after `start` (Mattermost may run migrations). */
  healthTimeoutSeconds: z.number().int().positive().max(7200).default(600),
});

const retentionSchema = z.strictObject({
  keepLast: z.number().int().min(1, 'must be at least 1: the newest snapshot is always kept').default(7),
  keepDaily: z.number().int().min(0).default(7),
  keepWeekly: z.number().int().min(0).default(4),
  keepMonthly: z.number().int().min(0).default(6),
});

/**
 * What an ONLINE backup may take from the machine Mattermost runs on (process/budget.ts,
 * core/rate_limit.ts). Offline backups and restores run at full speed: Mattermost is stopped, or
 * waiting for them.
 */
const budgetSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** Niceness of the backup's child processes (pg_dump, mysqldump, zstd); 0 leaves it alone. */
  nice: z.number().int().min(0).max(19).default(10),
  /**
   * best-effort at level 7 is the lowest priority that still always makes progress; idle waits
   * until the disk has nothing else to do (the kernel only bounds the wait loosely), and a stalled
   * dump keeps its database snapshot, and its locks against migrations, for as long.
   */
  ioClass: z.enum(['best-effort', 'idle', 'none']).default('best-effort'),
  ioLevel: z.number().int().min(0).max(7).default(7),
  /** Cap on what the backup reads (files, the database dump), in MB/s (1 MB = 1024 × 1024 bytes); absent = unlimited. */
  readMBps: z.number().positive().max(1_000_000).optional(),
});

export const configSchema = z
  .strictObject({
    mattermost: z.strictObject({
      installDir: z
        .string()
        .min(1)
        .refine((p) => p.startsWith('/'), 'must be an absolute path'),
      url: z
        .url({ protocol: /^https?$/, error: 'must be an http(s) URL such as http://127.0.0.1:8065' })
        .default('http://127.0.0.1:8065'),
      /** Overrides where Mattermost's config is read from; default <installDir>/config/config.json or MM_CONFIG. */
      configPath: z.string().optional(),
      /** The service's environment file (systemd EnvironmentFile, docker .env) holding MM_* overrides. */
      envFile: z.string().optional(),
      /** The bot's access token (secret; prefer botTokenFile, a 0600 file). Written by `mm-backup connect`. */
      botToken: z.string().min(26).optional(),
      botTokenFile: z.string().optional(),
      /** Where status posts go: `team-name/channel-name` (URL names, not display names). */
      statusChannel: z
        .string()
        .regex(
          /^[a-z0-9][a-z0-9_-]{0,63}\/[a-z0-9][a-z0-9_-]{0,63}$/,
          'must be team-name/channel-name (URL names, lower-case)',
        )
        .optional(),
    }),
    listen: z
      .strictObject({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8066),
        /** The URL Mattermost (slash commands) and browsers use to reach the sidecar, e.g. https://chat.example.com/mm-backup. */
        publicUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
        /** Origins allowed to call the API from a browser (the Mattermost site URL when the page calls the sidecar directly). */
        allowedOrigins: z
          .array(z.url({ protocol: /^https?$/, error: 'must be an origin such as https://chat.example.com' }))
          .default([]),
      })
      .prefault({}),
    schedule: z
      .strictObject({
        /** Cron expression for backups (5 or 6 fields); absent = no scheduled backups. */
        backup: z.string().optional(),
        /** Cron expression for a deep verification (restore drill) of the latest snapshot. */
        verify: z.string().optional(),
        /** Cron expression for physical backups (`pitr backup`, type by pitr.fullEveryDays); needs pitr enable. */
        pitrBackup: z.string().optional(),
        timezone: z
          .string()
          .refine(isTimeZone, 'must be an IANA time zone such as UTC or Europe/Berlin')
          .default('UTC'),
        /** Deprecated: read as backup.pruneAfter when that is not set (config/load.ts says so once). */
        pruneAfterBackup: z.boolean().optional(),
      })
      .prefault({}),
    notify: z
      .strictObject({
        /** Successful jobs: a post each, one daily summary, or nothing. Failures are always posted. */
        successes: z.enum(['each', 'daily', 'none']).default('each'),
        /** Local time (HH:MM, schedule.timezone) of the daily summary. */
        dailySummaryAt: z
          .string()
          .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM')
          .default('09:00'),
      })
      .prefault({}),
    service: serviceSchema,
    repository: z.strictObject({
      path: z
        .string()
        .min(1)
        .refine((p) => p.startsWith('/'), 'must be an absolute path'),
      /** Free space to leave untouched on the repository's disk; a backup that would eat into it refuses. */
      reserveBytes: z.number().int().min(0).default(0),
    }),
    backup: z
      .strictObject({
        mode: z.enum(['offline', 'online']).default('offline'),
        exclude: z.array(z.enum(COMPONENT_IDS)).default([]),
        /** Absolute paths backed up as the `extra` component and restored to the same place. */
        extraPaths: z.array(z.string().refine((p) => p.startsWith('/'), 'must be an absolute path')).default([]),
        /** Paths (relative to the install dir) the `app` component leaves out, besides other components' dirs. */
        appExclude: z.array(z.string()).default([]),
        /** zstd level for the database dump; 1 is fastest with a good ratio on Mattermost data. */
        dumpCompressionLevel: z.number().int().min(1).max(19).default(1),
        /**
         * Follow-ups of every backup, whoever starts it (CLI, console, /backup, schedule): copy it
         * off-site (offsite.mode "replicate"), then apply the retention policy. Default true; absent,
         * the deprecated offsite.replicateAfterBackup / schedule.pruneAfterBackup are read instead.
         */
        replicateAfter: z.boolean().optional(),
        pruneAfter: z.boolean().optional(),
        budget: budgetSchema.prefault({}),
        /**
         * Days between full walks of the file store. In between, a day directory of attachments
         * older than two days whose FileInfo rows did not change is taken from the parent snapshot
         * without being walked; a full walk catches what changed behind Mattermost's back. 0: walk
         * everything every time.
         */
        fullWalkDays: z.number().int().min(0).max(366).default(7),
      })
      .prefault({}),
    database: z
      .strictObject({
        /** A DSN with rights to create databases, used only by `verify --deep`; secret. */
        adminUrl: z.string().optional(),
        adminUrlFile: z.string().optional(),
        /** Directory holding pg_dump/pg_restore/psql; default: the newest /usr/lib/postgresql/N/bin, else PATH. */
        pgBinDir: z.string().optional(),
        /**
         * Sessions of `pg_restore --jobs` when a restore loads into an EMPTY PostgreSQL database (a new
         * host); default one per core, 2 to 8. 1 loads in one transaction as in place.
         */
        restoreJobs: z.number().int().min(1).max(64).optional(),
      })
      .prefault({}),
    retention: retentionSchema.prefault({}),
    /** Snapshot signatures (docs/security.md): which keys' snapshots this host trusts. */
    trust: z
      .strictObject({
        /** Fingerprints of signing keys (older keys of this host, the lost host's key on a new host); this host's own key is always trusted. */
        fingerprints: z
          .array(
            z.string().regex(FINGERPRINT, 'must be a key fingerprint such as ed25519:… (printed by mm-backup keygen)'),
          )
          .default([]),
        /** This host's signing key (secret, 0600, made on first use); default mm-backup-signing.key beside this config file. */
        signingKeyFile: z
          .string()
          .refine((p) => p.startsWith('/'), 'must be an absolute path')
          .optional(),
      })
      .prefault({}),
    /** Off-site copies or a repository in S3 (config/offsite_schema.ts). */
    offsite: offsiteSchema(retentionSchema).optional(),
    /** Physical mode for PostgreSQL with pgBackRest (config/pitr_schema.ts, docs/pitr.md). */
    pitr: pitrSchema.prefault({}),
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
