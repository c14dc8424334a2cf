/**
 * The recovery settings pgBackRest's restore leaves in postgresql.auto.conf, corrected where it
 * gets them wrong: its restore_command is replaced by ours (archive_command.ts quotes it).
 */
import { chown, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { confQuote } from './archive_command';

/** Replaces every restore_command line of <dataDir>/postgresql.auto.conf with one of `command`; owner and mode kept. */
export async function setRestoreCommand(dataDir: string, command: string): Promise<void> {
  const file = path.join(dataDir, 'postgresql.auto.conf');
  const st = await stat(file);
  const kept = (await readFile(file, 'utf8')).split('\n').filter((l) => !/^\s*restore_command\s*=/.test(l));
  while (kept.length && kept[kept.length - 1] === '') kept.pop();
  const text = `${[...kept, `restore_command = ${confQuote(command)}`].join('\n')}\n`;
  const tmp = `${file}.mm-backup-${process.pid}`;
  await writeFile(tmp, text, { mode: st.mode & 0o777 });
  await chown(tmp, st.uid, st.gid);
  await rename(tmp, file);
}
