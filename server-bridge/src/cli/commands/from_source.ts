/**
 * `--from s3://BUCKET/PREFIX`: commands that read snapshots (list, show, verify, restore) can take
 * them straight from a bucket, e.g. on a new host after the old one is lost. The config file is
 * optional then: without one, a minimal config is built (no service commands, state under the
 * temp dir) and the S3 endpoint, region and credentials come from the URL and the standard AWS
 * environment, the key from MM_BACKUP_AGE_IDENTITY_FILE or MM_BACKUP_PASSPHRASE_FILE.
 */
import os from 'node:os';
import path from 'node:path';
import { loadConfig, parseConfig } from '../../config/load';
import type { Config } from '../../config/schema';
import { UsageError } from '../../core/errors';
import { openContext } from '../../jobs/context';
import { createOutput } from '../render';
import { openCommand, type CommandEnv, type GlobalOptions } from './shared';

export interface S3Source {
  bucket: string;
  prefix: string;
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
}

/** Parses s3://BUCKET/PREFIX[?endpoint=URL&region=R&path_style=true|false]. */
export function parseS3Url(url: string): S3Source {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`--from: "${url}" is not a URL; expected s3://BUCKET/PREFIX`);
  }
  if (u.protocol !== 's3:' || !u.hostname) throw new UsageError(`--from: "${url}" is not an s3://BUCKET/PREFIX URL`);
  if (u.username || u.password) {
    throw new UsageError('--from: credentials do not belong in the URL; use the AWS_* environment or offsite.s3.*File');
  }
  const q = u.searchParams;
  const pathStyle = q.get('path_style');
  return {
    bucket: u.hostname,
    prefix: decodeURIComponent(u.pathname).replace(/^\/+|\/+$/g, ''),
    endpoint: q.get('endpoint') ?? undefined,
    region: q.get('region') ?? undefined,
    forcePathStyle: pathStyle === null ? undefined : pathStyle === 'true' || pathStyle === '1',
  };
}

/** Like openCommand, but the repository is the bucket named by `from`. */
export async function openFromSource(globals: GlobalOptions, from: string, installDir?: string): Promise<CommandEnv> {
  const src = parseS3Url(from);
  const file = globals.config ?? process.env.MM_BACKUP_CONFIG;
  const base: Config = file ? await loadConfig(file) : minimalConfig(installDir, src);
  const endpoint =
    src.endpoint ?? base.offsite?.s3.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
  const s3 = {
    ...(base.offsite?.s3 ?? {
      forcePathStyle: false,
      region: process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    }),
    bucket: src.bucket,
    prefix: src.prefix,
    endpoint,
    ...(src.region ? { region: src.region } : {}),
  };
  // Self-hosted endpoints (MinIO, Ceph) usually need path-style URLs; AWS does not.
  s3.forcePathStyle = src.forcePathStyle ?? (base.offsite ? s3.forcePathStyle : !!endpoint);
  const offsite = {
    ...(base.offsite ?? { replicateAfterBackup: false, retry: { attempts: 6, baseDelayMs: 1000, maxDelayMs: 30_000 } }),
    mode: 'direct' as const,
    s3,
  };
  const cfg: Config = { ...base, offsite };
  // Never create a repository in a bucket we were asked to read from: a typo must fail, not initialise.
  const out = createOutput(!!globals.json);
  return {
    ec: await openContext(cfg, { createOffsite: false, notice: out.info, warn: out.warn }),
    out,
    json: !!globals.json,
  };
}

function minimalConfig(installDir: string | undefined, src: S3Source): Config {
  const state =
    process.env.MM_BACKUP_STATE_DIR ?? path.join(os.tmpdir(), `mm-backup-state-${process.getuid?.() ?? 'user'}`);
  return parseConfig(
    {
      mattermost: { installDir: installDir ?? '/opt/mattermost' },
      service: { preset: 'none' },
      repository: { path: state },
      offsite: { mode: 'direct', s3: { bucket: src.bucket, prefix: src.prefix } },
    },
    `(no config file: --from ${src.bucket})`,
  );
}

/** The off-site copy of this host's repository (config offsite block, mode "replicate"), read like a repository. */
export async function openOffsiteCopy(globals: GlobalOptions): Promise<CommandEnv> {
  const file = globals.config ?? process.env.MM_BACKUP_CONFIG;
  if (!file) throw new UsageError('no config file: pass --config FILE (or set MM_BACKUP_CONFIG)');
  const base = await loadConfig(file);
  if (!base.offsite) throw new UsageError('--offsite: no "offsite" block in the config');
  const cfg: Config = { ...base, offsite: { ...base.offsite, mode: 'direct' } };
  const out = createOutput(!!globals.json);
  return {
    ec: await openContext(cfg, { createOffsite: false, notice: out.info, warn: out.warn }),
    out,
    json: !!globals.json,
  };
}

/**
 * Picks the repository a reading command works on: --from URL, --offsite, or the configured one.
 * `trust` (--trust, repeatable) adds signing-key fingerprints to the configured ones for this run.
 */
export async function openSource(
  globals: GlobalOptions,
  flags: { from?: string; offsite?: boolean; trust?: string[] },
  installDir?: string,
): Promise<CommandEnv> {
  if (flags.from && flags.offsite) throw new UsageError('--from and --offsite exclude each other');
  const env = flags.from
    ? await openFromSource(globals, flags.from, installDir)
    : flags.offsite
      ? await openOffsiteCopy(globals)
      : await openCommand(globals);
  env.ec.trust = env.ec.trust.withExtra(flags.trust);
  return env;
}
