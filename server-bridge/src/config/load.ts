/** Reads and validates the config file once; everything downstream gets the typed result. */
import { readFile, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../core/errors';
import { registerSecret } from '../core/redact';
import { configSchema, type Config, type ParsedConfig } from './schema';
import { serviceCommands } from './presets';
import { checkCron } from './cron';

/** Formats zod issues as `key.path: problem` lines an admin can act on. */
export function formatIssues(
  issues: ReadonlyArray<{ path: readonly PropertyKey[]; message: string; code?: string; keys?: string[] }>,
): string[] {
  return issues.map((i) => {
    const where = i.path.length ? i.path.map(String).join('.') : '(top level)';
    if (i.code === 'unrecognized_keys' && i.keys) {
      return `${where}: unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')}`;
    }
    return `${where}: ${i.message}`;
  });
}

/** Validates an already-parsed object; `source` names it in error messages. */
export function parseConfig(raw: unknown, source: string): Config {
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const lines = formatIssues(result.error.issues);
    const fields = result.error.issues.map((i, n) => ({
      path: i.path.map(String).join('.'),
      message: (lines[n] ?? '').replace(/^[^:]*: /, ''),
    }));
    throw new ConfigError(`invalid config ${source}`, lines, { fields });
  }
  const cfg = result.data;
  if (cfg.schedule.backup) checkCron(cfg.schedule.backup, cfg.schedule.timezone, 'schedule.backup');
  if (cfg.schedule.verify) checkCron(cfg.schedule.verify, cfg.schedule.timezone, 'schedule.verify');
  if (cfg.schedule.pitrBackup) checkCron(cfg.schedule.pitrBackup, cfg.schedule.timezone, 'schedule.pitrBackup');
  registerSecret(cfg.database.adminUrl);
  registerSecret(cfg.mattermost.botToken);
  const { backup, notices } = resolveFollowUps(cfg);
  return { ...cfg, backup, notices, configFile: source, serviceCommands: serviceCommands(cfg.service) };
}

/**
 * The backup's follow-ups are settings of the backup (backup.replicateAfter, backup.pruneAfter).
 * The keys they replace are still read when the new ones are absent, with a notice naming both.
 */
function resolveFollowUps(cfg: ParsedConfig): { backup: Config['backup']; notices: string[] } {
  const notices: string[] = [];
  const pick = (now: boolean | undefined, old: boolean | undefined, newKey: string, oldKey: string): boolean => {
    if (old !== undefined) {
      notices.push(
        now === undefined
          ? `${oldKey} is deprecated: it is read as ${newKey} (${String(old)}); rename it in the config file`
          : `${oldKey} is deprecated and ignored: ${newKey} (${String(now)}) is set; remove ${oldKey} from the config file`,
      );
    }
    return now ?? old ?? true;
  };
  return {
    backup: {
      ...cfg.backup,
      replicateAfter: pick(
        cfg.backup.replicateAfter,
        cfg.offsite?.replicateAfterBackup,
        'backup.replicateAfter',
        'offsite.replicateAfterBackup',
      ),
      pruneAfter: pick(
        cfg.backup.pruneAfter,
        cfg.schedule.pruneAfterBackup,
        'backup.pruneAfter',
        'schedule.pruneAfterBackup',
      ),
    },
    notices,
  };
}

/** Loads the JSON config file; errors name the file, the key and the problem. */
export async function loadConfig(file: string): Promise<Config> {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${abs}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, [], {
      cause: err,
    });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${abs} is not valid JSON: ${(err as Error).message}`, [], { cause: err });
  }
  const cfg = parseConfig(raw, abs);
  if (cfg.database.adminUrl) {
    const st = await stat(abs);
    if (st.mode & 0o077) {
      throw new ConfigError(`config file ${abs} holds database.adminUrl (a secret) but is readable by others`, [], {
        hint: `chmod 600 ${abs}, or move the DSN to database.adminUrlFile`,
      });
    }
  }
  if (cfg.mattermost.botToken) {
    const st = await stat(abs);
    if (st.mode & 0o077) {
      throw new ConfigError(`config file ${abs} holds mattermost.botToken (a secret) but is readable by others`, [], {
        hint: `chmod 600 ${abs}, or move the token to mattermost.botTokenFile`,
      });
    }
  }
  if (cfg.mattermost.botTokenFile && existsSync(cfg.mattermost.botTokenFile)) {
    cfg.mattermost.botToken = await readSecretFile(cfg.mattermost.botTokenFile, 'mattermost.botTokenFile');
    registerSecret(cfg.mattermost.botToken);
  }
  if (cfg.database.adminUrlFile) {
    const secret = await readSecretFile(cfg.database.adminUrlFile, 'database.adminUrlFile');
    registerSecret(secret);
    cfg.database.adminUrl = secret;
  }
  return cfg;
}

/** Reads a secret from a file that must not be readable by group or others. */
export async function readSecretFile(file: string, key: string): Promise<string> {
  try {
    const st = await stat(file);
    if (st.mode & 0o077) {
      throw new ConfigError(`${key}: ${file} is readable by others; it holds a secret`, [], {
        hint: `chmod 600 ${file}`,
      });
    }
    return (await readFile(file, 'utf8')).trim();
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`${key}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, [], {
      cause: err,
    });
  }
}
