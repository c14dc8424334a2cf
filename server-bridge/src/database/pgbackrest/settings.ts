/**
 * The PostgreSQL settings physical mode depends on, read in one query (as superuser: data_directory
 * and pg_file_settings are not visible to others), and what enabling changes in them.
 */
import { z } from 'zod';
import { PreconditionError, ProcessError } from '../../core/errors';
import type { LocalSuperuser } from './local_superuser';

/** The settings we may change, in the order they are shown. */
export const MANAGED = ['wal_level', 'archive_mode', 'archive_command', 'archive_timeout'] as const;
export type ManagedSetting = (typeof MANAGED)[number];
/** Those that only a restart applies. */
export const NEEDS_RESTART: ReadonlySet<ManagedSetting> = new Set(['wal_level', 'archive_mode']);

const settingSchema = z.object({ setting: z.string(), unit: z.string().nullable(), pending_restart: z.boolean() });
const snapshotSchema = z.object({
  version_num: z.string().regex(/^\d+$/),
  data_directory: z.string(),
  is_superuser: z.boolean(),
  settings: z.record(z.string(), settingSchema),
  /** Other settings changed in a file but waiting for a restart: a restart of ours would apply them too. */
  pending: z.array(z.string()),
  /** What postgresql.auto.conf (ALTER SYSTEM) holds now, by name. */
  auto_conf: z.record(z.string(), z.string()),
});
export type SettingsSnapshot = z.output<typeof snapshotSchema>;

const QUERY = `SELECT json_build_object(
  'version_num', current_setting('server_version_num'),
  'data_directory', current_setting('data_directory'),
  'is_superuser', (SELECT rolsuper FROM pg_roles WHERE rolname = current_user),
  'settings', (SELECT json_object_agg(name, json_build_object('setting', CASE
                 -- with archive_mode off PostgreSQL shows archive_command as '(disabled)': the files say what it is
                 WHEN name = 'archive_command' AND setting = '(disabled)' THEN coalesce((SELECT f.setting FROM pg_file_settings f
                   WHERE f.name = 'archive_command' AND f.applied ORDER BY f.seqno DESC LIMIT 1), '')
                 ELSE setting END, 'unit', unit, 'pending_restart', pending_restart))
               FROM pg_settings WHERE name IN ('wal_level','archive_mode','archive_command','archive_timeout','archive_library')),
  'pending', (SELECT coalesce(json_agg(name ORDER BY name), '[]'::json) FROM pg_settings WHERE pending_restart),
  'auto_conf', (SELECT coalesce(json_object_agg(name, setting), '{}'::json) FROM pg_file_settings
                WHERE sourcefile = current_setting('data_directory') || '/postgresql.auto.conf' AND error IS NULL)
)::text`;

/** Reads the snapshot; a login that is not a superuser is refused (ALTER SYSTEM needs one). */
export async function readSettings(su: LocalSuperuser, signal?: AbortSignal): Promise<SettingsSnapshot> {
  const parsed = snapshotSchema.safeParse(await su.json(QUERY, signal));
  if (!parsed.success) {
    throw new ProcessError(
      `PostgreSQL's settings came back in an unexpected shape: ${parsed.error.issues[0]?.message ?? ''}`,
    );
  }
  if (!parsed.data.is_superuser) {
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      'the postgres account does not log in as a PostgreSQL superuser',
      {
        hint: 'physical mode changes settings with ALTER SYSTEM as the postgres superuser over the local socket',
      },
    );
  }
  return parsed.data;
}

/** The effective value of `name` as PostgreSQL would print it (archive_timeout in seconds). */
export function current(s: SettingsSnapshot, name: ManagedSetting | 'archive_library'): string {
  return s.settings[name]?.setting ?? '';
}

export interface SettingChange {
  name: ManagedSetting;
  from: string;
  to: string;
  restart: boolean;
}

/** What enabling changes: wal_level raised to replica only when below it; archiving on with our command. */
export function plannedChanges(
  s: SettingsSnapshot,
  archiveCommand: string,
  archiveTimeoutSeconds: number,
): SettingChange[] {
  const want: Record<ManagedSetting, string> = {
    wal_level: current(s, 'wal_level') === 'minimal' ? 'replica' : current(s, 'wal_level'),
    archive_mode: current(s, 'archive_mode') === 'always' ? 'always' : 'on',
    archive_command: archiveCommand,
    archive_timeout: String(archiveTimeoutSeconds),
  };
  // A value waiting for a restart (an earlier disable) differs from what the restart will apply: set it again.
  return MANAGED.filter((n) => current(s, n) !== want[n] || s.settings[n]?.pending_restart).map((name) => ({
    name,
    from: current(s, name),
    to: want[name],
    restart: NEEDS_RESTART.has(name),
  }));
}

const archiverSchema = z.object({
  archived_count: z.number().int(),
  last_archived_wal: z.string().nullable(),
  last_archived_time: z.string().nullable(),
  failed_count: z.number().int(),
  last_failed_wal: z.string().nullable(),
  last_failed_time: z.string().nullable(),
});
export type ArchiverStats = z.output<typeof archiverSchema>;

/** pg_stat_archiver: what PostgreSQL says about its archive_command's successes and failures. */
export async function readArchiver(su: LocalSuperuser, signal?: AbortSignal): Promise<ArchiverStats> {
  const raw = await su.json(
    `SELECT json_build_object('archived_count', archived_count, 'last_archived_wal', last_archived_wal,
       'last_archived_time', last_archived_time, 'failed_count', failed_count, 'last_failed_wal', last_failed_wal,
       'last_failed_time', last_failed_time)::text FROM pg_stat_archiver`,
    signal,
  );
  const parsed = archiverSchema.safeParse(raw);
  if (!parsed.success) throw new ProcessError('pg_stat_archiver came back in an unexpected shape');
  return parsed.data;
}

/** Completed WAL segments waiting for archive_command (.ready in pg_wal/archive_status), and how long the oldest has waited. */
export interface WaitingSegments {
  count: number;
  /** Seconds since the oldest waiting segment was completed; 0 when none waits. */
  oldestSeconds: number;
}

const waitingSchema = z.object({ count: z.number().int(), oldest_seconds: z.number().nullable() });

export async function readWaitingSegments(su: LocalSuperuser, signal?: AbortSignal): Promise<WaitingSegments> {
  const raw = await su.json(
    `SELECT json_build_object('count', count(*), 'oldest_seconds', extract(epoch FROM now() - min(modification)))::text
       FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'`,
    signal,
  );
  const parsed = waitingSchema.safeParse(raw);
  if (!parsed.success) throw new ProcessError('pg_ls_archive_statusdir came back in an unexpected shape');
  return { count: parsed.data.count, oldestSeconds: Math.max(0, parsed.data.oldest_seconds ?? 0) };
}
