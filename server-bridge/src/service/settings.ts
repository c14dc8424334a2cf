/**
 * Settings the API may read and change, mapped to the config file ONCE: every writable
 * setting of @mm-backup/api's settingsPatch (SETTINGS_FIELDS) lives in the config file under
 * its own path in camelCase (`retention.keep_last` is `retention.keepLast`), but for those
 * MOVED elsewhere. Reads never include secrets. A change is validated as a whole config
 * (the same schema and cron checks as the file), with problems reported by API path.
 */
import { readFile } from 'node:fs/promises';
import { SETTINGS_FIELDS, valueAt, type Settings, type SettingsPatch } from '@mm-backup/api';
import { parseConfig } from '../config/load';
import type { Config } from '../config/schema';
import { ConfigError } from '../core/errors';
import { replaceFile } from '../core/atomic_file';

/** Settings whose config key is not their API path in camelCase. */
const MOVED: Record<string, string> = {
  status_channel: 'mattermost.statusChannel',
  // A follow-up of every backup now, not of the schedule; the API keeps API 1's place for it.
  'schedule.prune_after_backup': 'backup.pruneAfter',
};

/** Deprecated config keys a written setting replaces (still read, with a notice, when alone). */
const REPLACES: Record<string, string> = {
  'backup.pruneAfter': 'schedule.pruneAfterBackup',
  'backup.replicateAfter': 'offsite.replicateAfterBackup',
};

const camel = (s: string) => s.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
/** The config file key of an API settings path. */
export function configKey(apiPath: string): string {
  return MOVED[apiPath] ?? apiPath.split('.').map(camel).join('.');
}
const API_PATH = new Map(SETTINGS_FIELDS.map((p) => [configKey(p), p]));

/** Sets the value at a dotted path, making the objects on the way; `null` deletes it when `nullDeletes`. */
function setAt(obj: Record<string, unknown>, path: string, v: unknown, nullDeletes = false): void {
  const keys = path.split('.');
  const last = keys.pop() as string;
  let cur = obj;
  for (const k of keys) {
    const next = cur[k];
    // Deleting a key of a section that does not exist deletes nothing (and makes no section).
    if (v === null && nullDeletes && (typeof next !== 'object' || next === null)) return;
    cur = (typeof next === 'object' && next !== null && !Array.isArray(next) ? next : (cur[k] = {})) as Record<
      string,
      unknown
    >;
  }
  // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- removes a key of the config file's JSON, named by its path
  if (v === null && nullDeletes) delete cur[last];
  else cur[last] = v;
}

export function readSettings(cfg: Config): Settings {
  const out: Record<string, unknown> = {};
  // An absent optional setting (no schedule, no status channel) reads as null.
  for (const p of SETTINGS_FIELDS) setAt(out, p, valueAt(cfg, configKey(p)) ?? null);
  // Checked against the settings schema when it is sent (http/typed_route.ts).
  return {
    ...(out as Omit<Settings, 'mattermost_url' | 'listen'>),
    mattermost_url: cfg.mattermost.url,
    listen: { public_url: cfg.listen.publicUrl ?? null, allowed_origins: cfg.listen.allowedOrigins },
  };
}

/** A validated settings change, not yet written or applied. */
export interface SettingsChange {
  next: Config;
  /** The new config file's text. */
  text: string;
}

/**
 * Applies `patch` to the config file's content in memory and validates the result as a
 * config; a ConfigError names each problem by its API path (`fields`). Writes nothing.
 */
export async function prepareSettings(cfg: Config, patch: SettingsPatch): Promise<SettingsChange> {
  const raw = JSON.parse(await readFile(cfg.configFile, 'utf8')) as Record<string, unknown>;
  for (const p of SETTINGS_FIELDS) {
    const v = valueAt(patch, p);
    if (v === undefined) continue;
    // null removes the key: no schedule, no status channel.
    setAt(raw, configKey(p), v, true);
    const old = REPLACES[configKey(p)];
    if (old) setAt(raw, old, null, true);
  }
  let next: Config;
  try {
    next = parseConfig(raw, cfg.configFile);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const fields = err.fields.map((f) => ({ path: API_PATH.get(f.path) ?? f.path, message: f.message }));
    throw new ConfigError(
      'the settings are not valid',
      fields.map((f) => `${f.path}: ${f.message}`),
      { fields, hint: err.hint, cause: err },
    );
  }
  // Secrets resolved from files at load time are carried over; the file itself never held them.
  next = {
    ...next,
    mattermost: { ...next.mattermost, botToken: next.mattermost.botToken ?? cfg.mattermost.botToken },
    database: { ...next.database, adminUrl: next.database.adminUrl ?? cfg.database.adminUrl },
  };
  return { next, text: `${JSON.stringify(raw, null, 2)}\n` };
}

/** Replaces the config file with the change's text, atomically (a temp file renamed over it, 0600). */
export async function commitSettings(change: SettingsChange): Promise<void> {
  await replaceFile(change.next.configFile, change.text);
}
