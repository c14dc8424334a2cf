/**
 * A restore must work when the live config is what broke: if the install cannot be discovered,
 * discover it from the config.json (and environment file) stored in the snapshot being restored.
 */
import path from 'node:path';
import { ConfigError } from '../core/errors';
import type { Config } from '../config/schema';
import type { Manifest } from '../manifest/manifest';
import type { Repository } from '../repository/repository';
import { discover, type Discovery } from './discover';

/** The content of the file that lived at `abs` when the snapshot was taken, if it holds it. */
export async function snapshotFileText(m: Manifest, repo: Repository, abs: string): Promise<string | undefined> {
  for (const c of m.components) {
    if (!c.root || c.status !== 'included') continue;
    const rel = path.relative(c.root, abs).split(path.sep).join('/');
    if (rel.startsWith('..') || path.isAbsolute(rel)) continue;
    for await (const e of c.entries) {
      if (e.path !== rel || e.type !== 'file' || !e.sha256) continue;
      return (await repo.readObjectBytes(e.sha256, { size: e.size })).toString('utf8');
    }
  }
  return undefined;
}

export async function discoverOrFromSnapshot(
  cfg: Config,
  m: Manifest,
  repo: Repository,
  note: (s: string) => void,
): Promise<Discovery> {
  try {
    return await discover(cfg);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const configFile = path.join(cfg.mattermost.installDir, 'config', 'config.json');
    const configText = await snapshotFileText(m, repo, cfg.mattermost.configPath ?? configFile);
    const envText = cfg.mattermost.envFile ? await snapshotFileText(m, repo, cfg.mattermost.envFile) : undefined;
    if (configText === undefined) throw err;
    note(
      `the live Mattermost config cannot be used (${err.message.split('\n')[0]}); using the one in snapshot ${m.id}`,
    );
    return discover(cfg, { configText, envText });
  }
}
