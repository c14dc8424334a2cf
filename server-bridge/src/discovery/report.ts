/**
 * The figures `discover` prints: versions, sizes and free disk against what the official
 * guidance asks for (at least 2 GB, and twice the install size).
 */
import { lstat, readdir, statfs } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/schema';
import { describeTarget } from '../database/dsn';
import type { DatabaseEngine } from '../database/engine';
import { serverVersion, ping } from '../mattermost/health';
import type { Discovery } from './discover';
import { MAIN_DATABASE } from '../components/registry';

export interface DiscoveryReport {
  install_dir: string;
  install_bytes: number;
  config_source: string;
  env_overrides: string[];
  mattermost: { url: string; reachable: string; version?: string; schema_version?: number };
  database: { driver: string; target: string; server_version?: string; size_bytes?: number; error?: string };
  /** name: a store not on this disk (S3 bucket, Azure container), which the backup leaves where it is. */
  file_store: { driver: string; name?: string; location?: string; size_bytes?: number };
  components: Array<{
    id: string;
    title: string;
    status: string;
    location?: string;
    size_bytes?: number;
    reason?: string;
    exclude?: string[];
  }>;
  repository: { path: string; free_bytes: number; needed_bytes: number; enough: boolean };
  warnings: string[];
}

const GB = 1024 ** 3;

export async function buildReport(cfg: Config, d: Discovery, engine: DatabaseEngine): Promise<DiscoveryReport> {
  const warnings: string[] = [];
  const health = await ping(cfg.mattermost.url);
  const version = await serverVersion(cfg.mattermost.url);
  const db: DiscoveryReport['database'] = { driver: d.database.driver, target: describeTarget(d.database) };
  let schema: number | undefined;
  try {
    db.server_version = await engine.serverVersion();
    db.size_bytes = await engine.sizeBytes();
    schema = await engine.schemaVersion();
  } catch (err) {
    db.error = (err as Error).message;
    warnings.push(`cannot reach the database: ${db.error}`);
  }
  const components: DiscoveryReport['components'] = [];
  for (const p of d.components) {
    const location =
      p.kind === 'database'
        ? p.db
          ? describeTarget(p.db)
          : undefined
        : p.include
          ? p.include.map((i) => path.join(p.root as string, i)).join(', ')
          : p.root;
    let size: number | undefined;
    if (p.status === 'included' && p.kind === 'tree') size = await treeSize(p.root as string, p.include, p.exclude);
    if (p.status === 'included' && p.id === MAIN_DATABASE) size = db.size_bytes;
    components.push({
      id: p.id,
      title: p.title,
      status: p.status,
      location,
      size_bytes: size,
      reason: p.reason,
      exclude: p.exclude.length ? p.exclude : undefined,
    });
  }
  const installBytes = await treeSize(d.installDir, undefined, []);
  const data = d.components.find((c) => c.id === 'data');
  const s = await statfs(cfg.repository.path).catch(() => statfs(path.dirname(cfg.repository.path)));
  const free = s.bavail * s.bsize;
  const needed = Math.max(2 * GB, 2 * installBytes);
  if (free < needed) {
    warnings.push(
      `the repository disk has ${(free / GB).toFixed(1)} GB free; the official guidance asks for at least ${(needed / GB).toFixed(1)} GB (2 GB, and twice the install size)`,
    );
  }
  if (d.database.driver === 'mysql') {
    warnings.push(
      'MySQL is supported by Mattermost up to v10.11 ESR only; plan the migration to PostgreSQL before upgrading to v11',
    );
  }
  return {
    install_dir: d.installDir,
    install_bytes: installBytes,
    config_source:
      d.configSource.kind === 'file'
        ? `file ${d.configSource.file}`
        : `database ${d.configSource.db ? describeTarget(d.configSource.db) : ''}`,
    env_overrides: d.overridden,
    mattermost: {
      url: cfg.mattermost.url,
      reachable: health.state === 'ok' ? 'yes' : `${health.state} (${health.detail})`,
      version,
      schema_version: schema,
    },
    database: db,
    file_store: {
      driver: d.fileDriver,
      name: d.fileStoreName,
      location: data?.root,
      size_bytes: components.find((c) => c.id === 'data')?.size_bytes,
    },
    components,
    repository: { path: cfg.repository.path, free_bytes: free, needed_bytes: needed, enough: free >= needed },
    warnings,
  };
}

async function treeSize(root: string, include: string[] | undefined, exclude: string[]): Promise<number> {
  const ex = new Set(exclude);
  const walk = async (rel: string): Promise<number> => {
    if (ex.has(rel)) return 0;
    const abs = rel ? path.join(root, rel) : root;
    const st = await lstat(abs).catch(() => undefined);
    if (!st) return 0;
    if (!st.isDirectory()) return st.isFile() ? st.size : 0;
    let n = 0;
    for (const name of await readdir(abs).catch(() => [] as string[])) n += await walk(rel ? `${rel}/${name}` : name);
    return n;
  };
  if (include) {
    let n = 0;
    for (const i of include) n += await walk(i);
    return n;
  }
  return walk('');
}
