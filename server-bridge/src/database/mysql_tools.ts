/**
 * MySQL/MariaDB client tools read credentials from a 0600 option file passed with
 * --defaults-extra-file, so the password never appears in argv or the environment.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DbTarget } from './dsn';

export interface OptionFile {
  path: string;
  dispose(): Promise<void>;
}

function esc(v: string): string {
  return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** Writes a private [client] option file for `t`; callers must dispose() it. */
export async function writeOptionFile(t: DbTarget): Promise<OptionFile> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mm-backup-my-'));
  const file = path.join(dir, 'client.cnf');
  const lines = ['[client]', `user=${esc(t.user)}`, `password=${esc(t.password)}`];
  if (t.socket) lines.push(`socket=${esc(t.socket)}`);
  else lines.push(`host=${esc(t.host)}`, `port=${t.port}`, 'protocol=TCP');
  await writeFile(file, `${lines.join('\n')}\n`, { mode: 0o600 });
  return { path: file, dispose: () => rm(dir, { recursive: true, force: true }) };
}

/** MariaDB ships mariadb-dump/mariadb; Oracle MySQL ships mysqldump/mysql. */
export function mysqlTool(kind: 'dump' | 'client'): string {
  const candidates = kind === 'dump' ? ['mariadb-dump', 'mysqldump'] : ['mariadb', 'mysql'];
  for (const c of candidates) {
    for (const dir of (process.env.PATH ?? '/usr/bin').split(':')) {
      if (existsSync(path.join(dir, c))) return c;
    }
  }
  return candidates[1] as string;
}
