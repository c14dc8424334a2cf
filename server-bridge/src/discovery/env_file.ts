/** Parses systemd EnvironmentFile / docker .env syntax: KEY=VALUE, comments, quotes, `export`. */
import { readFile } from 'node:fs/promises';

export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let value = m[2] ?? '';
    if ((value.startsWith('"') && value.endsWith('"')) || (value.startsWith("'") && value.endsWith("'"))) {
      value = value.slice(1, -1);
    }
    env[m[1] as string] = value;
  }
  return env;
}

export async function readEnvFile(file: string): Promise<Record<string, string>> {
  return parseEnvFile(await readFile(file, 'utf8'));
}
