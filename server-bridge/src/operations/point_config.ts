/** After a restore onto another database, the restored config.json must name that database. */
import { readFile, writeFile, stat } from 'node:fs/promises';
import { formatDsn, describeTarget, type DbTarget } from '../database/dsn';

export async function pointConfigAtDatabase(configFile: string, target: DbTarget): Promise<string> {
  let text: string;
  try {
    text = await readFile(configFile, 'utf8');
  } catch {
    return `no config.json at ${configFile}: set SqlSettings.DataSource by hand`;
  }
  const cfg = JSON.parse(text) as { SqlSettings?: Record<string, unknown> };
  cfg.SqlSettings = { ...(cfg.SqlSettings ?? {}), DataSource: formatDsn(target) };
  const mode = (await stat(configFile)).mode & 0o777;
  await writeFile(configFile, `${JSON.stringify(cfg, null, 2)}\n`, { mode });
  return `SqlSettings.DataSource now points at ${describeTarget(target)}`;
}
