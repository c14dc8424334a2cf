/**
 * What `pitr enable` changed, so that `pitr disable` undoes exactly that: per PostgreSQL setting,
 * what postgresql.auto.conf held before (null: nothing, so RESET), and the repository access we
 * granted. Kept OUTSIDE the repository, beside the signing key (`mm-backup-pitr/state.json`, 0700
 * directory, 0600 file), like jobs/rollback_marker.ts: `pitr disable` puts its archive_command
 * back with ALTER SYSTEM, i.e. a shell command PostgreSQL runs as postgres, so whoever can write
 * the repository must not be able to supply it. A state an older version left in the repository
 * (`pitr-state.json`) is moved here only when it could not carry a command of anyone's choosing.
 */
import { mkdir, rm, unlink } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { Config } from '../config/schema';
import { BridgeError, PreconditionError } from '../core/errors';
import { buildArchiveCommand } from '../database/pgbackrest/archive_command';
import { resolvePgBackRest } from '../database/pgbackrest/pgbackrest';
import { readRegularFile, replaceFile } from '../database/pgbackrest/safe_fs';
import { MANAGED } from '../database/pgbackrest/settings';
import { signingKeyFile } from '../repository/trust';

const DIR = 'mm-backup-pitr';
const LEGACY_NAME = 'pitr-state.json';

const absolute = z.string().refine((p) => path.isAbsolute(p), 'must be an absolute path');
const stateSchema = z.strictObject({
  version: z.literal(1),
  /** enabling: started, or waiting for a restart; enabled: archiving checked; disabling: waiting for a restart. */
  phase: z.enum(['enabling', 'enabled', 'disabling']),
  stanza: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/),
  configDir: absolute,
  /** pgBackRest's repository: a directory, or s3://bucket/prefix (shown by disable, never used as a path). */
  repoPath: z.union([absolute, z.string().regex(/^s3:\/\/\S+( at https:\/\/\S+)?$/)]),
  dataDir: absolute,
  changed: z.partialRecord(z.enum(MANAGED), z.strictObject({ before: z.string().nullable(), value: z.string() })),
  /** The repository root's group and mode before we let postgres traverse it. */
  repositoryAccess: z
    .strictObject({
      path: absolute,
      gid: z.number().int().min(0),
      mode: z.number().int().min(0).max(0o7777),
    })
    .optional(),
  updatedAt: z.string(),
});
export type PitrState = z.output<typeof stateSchema>;

/** Where the state is kept: beside the signing key. Physical mode needs one (a config file given by absolute path). */
export function pitrStateFile(cfg: Pick<Config, 'configFile' | 'trust'>): string {
  const key = signingKeyFile(cfg);
  if (!key) {
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      'physical mode keeps its state beside the signing key, and there is none',
      {
        hint: 'run mm-backup with --config <absolute path of the config file>',
      },
    );
  }
  return path.join(path.dirname(key), DIR, 'state.json');
}

/** Where versions before this one kept it: in the repository, where anyone who can write there can plant one. */
export function legacyPitrStateFile(repositoryPath: string): string {
  return path.join(repositoryPath, LEGACY_NAME);
}

/**
 * The state, or undefined when physical mode was never enabled here. A state found only in the
 * repository (older versions) is moved beside the signing key when it passes `migratable`;
 * otherwise this refuses, naming the file: nothing of it is used.
 */
export async function loadPitrState(cfg: Config): Promise<PitrState | undefined> {
  const file = pitrStateFile(cfg);
  const own = await readJson(file);
  if (own !== undefined) {
    const parsed = stateSchema.safeParse(own);
    if (!parsed.success) {
      throw new BridgeError('INTERNAL', `${file} is damaged: ${parsed.error.issues[0]?.message ?? ''}`, {
        hint: 'compare the PostgreSQL settings with docs/pitr.md by hand, then remove the file',
      });
    }
    return parsed.data;
  }
  const legacy = legacyPitrStateFile(cfg.repository.path);
  const old = await readJson(legacy);
  if (old === undefined) return undefined;
  const why = migrationProblem(cfg, old);
  if (why) {
    throw new PreconditionError(
      'PRECONDITION_FAILED',
      `${legacy} (a physical-mode state from an older version, in the repository) is not trusted: ${why}; nothing of it was used`,
      {
        hint: `anyone who can write the repository could have planted it: compare PostgreSQL's archive settings (SHOW archive_command) with docs/pitr.md by hand, put them right with ALTER SYSTEM, then delete ${legacy}`,
      },
    );
  }
  const state = stateSchema.parse(old);
  await savePitrState(cfg, state);
  await unlink(legacy).catch(() => undefined);
  return state;
}

/** Why a repository state cannot be trusted, or '' when it can only hold what we would have written. */
function migrationProblem(cfg: Config, raw: unknown): string {
  const parsed = stateSchema.safeParse(raw);
  if (!parsed.success) return `it does not have the expected form (${parsed.error.issues[0]?.message ?? ''})`;
  const s = parsed.data;
  const ours = new Set(['true', '(disabled)', '']);
  try {
    const bin = resolvePgBackRest(cfg.pitr.pgbackrestBin);
    ours.add(buildArchiveCommand({ pgbackrest: bin, configPath: cfg.pitr.configDir, stanza: cfg.pitr.stanza }));
  } catch {
    // No usable pgBackRest here: only the constant values are accepted.
  }
  for (const key of ['before', 'value'] as const) {
    const v = s.changed.archive_command?.[key];
    if (v !== undefined && v !== null && !ours.has(v)) {
      return `its archive_command ${key} is a command mm-backup would not write`;
    }
  }
  const allowed: Record<string, RegExp> = {
    wal_level: /^(minimal|replica|logical|archive|hot_standby)$/,
    archive_mode: /^(on|off|always)$/,
    archive_timeout: /^\d{1,9}(s|min|ms|h)?$/,
  };
  for (const [name, re] of Object.entries(allowed)) {
    const c = s.changed[name as keyof PitrState['changed']];
    if (c && ((c.before !== null && !re.test(c.before)) || !re.test(c.value))) {
      return `its ${name} is not a plain value`;
    }
  }
  if (s.repositoryAccess && path.resolve(s.repositoryAccess.path) !== path.resolve(cfg.repository.path)) {
    return 'its repository access names another directory';
  }
  return '';
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = (await readRegularFile(file)).data.toString('utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null; // not JSON: the schema refuses it with the file's name
  }
}

/** Writes the state (0600, atomic, in the 0700 directory beside the signing key). */
export async function savePitrState(cfg: Config, state: PitrState): Promise<void> {
  const file = pitrStateFile(cfg);
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await replaceFile(file, JSON.stringify({ ...state, updatedAt: new Date().toISOString() }, null, 2), { mode: 0o600 });
}

/** Forgets the state (and any legacy copy in the repository): physical mode is off. */
export async function removePitrState(cfg: Config): Promise<void> {
  await rm(pitrStateFile(cfg), { force: true });
  await rm(legacyPitrStateFile(cfg.repository.path), { force: true });
}
