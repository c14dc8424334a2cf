/** What every command gets: the loaded config, the opened engine context and the output. */
import { loadConfig } from '../../config/load';
import { openContext, type EngineContext } from '../../jobs/context';
import { UsageError } from '../../core/errors';
import { createOutput, type Output } from '../render';

export interface GlobalOptions {
  config?: string;
  json?: boolean;
}

export interface CommandEnv {
  ec: EngineContext;
  out: Output;
  json: boolean;
}

export async function openCommand(globals: GlobalOptions): Promise<CommandEnv> {
  const file = globals.config ?? process.env.MM_BACKUP_CONFIG;
  if (!file) throw new UsageError('no config file: pass --config FILE (or set MM_BACKUP_CONFIG)');
  const cfg = await loadConfig(file);
  const out = createOutput(!!globals.json);
  for (const n of cfg.notices) out.info(`config: ${n}`);
  return { ec: await openContext(cfg, { notice: out.info, warn: out.warn }), out, json: !!globals.json };
}
