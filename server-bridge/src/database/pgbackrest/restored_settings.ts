/**
 * Settings a restore onto a new host writes into the restored cluster's postgresql.auto.conf
 * (which PostgreSQL reads after postgresql.conf, so they win) before its first start.
 */
import path from 'node:path';
import { confQuote } from './archive_command';
import { readRegularFile, replaceFile } from './safe_fs';

/**
 * Replaces every line setting one of `settings`' names with one line each; owner and mode kept.
 * The directory is postgres's: the file is read without following a link and replaced through a
 * randomly named O_EXCL temporary (safe_fs.ts).
 */
export async function setAutoConf(dataDir: string, settings: Record<string, string>): Promise<void> {
  const file = path.join(dataDir, 'postgresql.auto.conf');
  const old = await readRegularFile(file);
  const names = Object.keys(settings);
  for (const n of names) if (!/^[a-z_]+$/.test(n)) throw new Error(`not a setting name: ${n}`);
  const kept = old.data
    .toString('utf8')
    .split('\n')
    .filter((l) => !names.some((n) => new RegExp(`^\\s*${n}\\s*=`).test(l)));
  while (kept.length && kept[kept.length - 1] === '') kept.pop();
  const added = Object.entries(settings).map(([n, v]) => `${n} = ${confQuote(v)}`);
  await replaceFile(file, `${[...kept, ...added].join('\n')}\n`, {
    owner: { uid: old.uid, gid: old.gid },
    mode: old.mode & 0o777,
  });
}
