/** What every command gets: the loaded config, the opened engine context and the output. */
import { loadConfig } from '../../config/load';
import { openContext, type EngineContext } from '../../jobs/context';
import { UsageError } from '../../core/errors';
import { createOutput, type Output } from '../render';
import type { JobResult } from '../../jobs/runner';

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
  return { ec: await openContext(cfg, { notice: out.info }), out, json: !!globals.json };
}

/** Throws the job's error so main() maps it to an exit code; the events were already printed. */
export function throwIfFailed(result: JobResult): void {
  if (result.error) throw result.error;
}
