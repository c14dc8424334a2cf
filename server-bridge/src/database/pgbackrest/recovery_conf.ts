/**
 * The recovery settings pgBackRest's restore leaves in postgresql.auto.conf, corrected where it
 * gets them wrong: its restore_command is replaced by ours (archive_command.ts quotes it).
 */
import path from 'node:path';
import { confQuote } from './archive_command';
import { readRegularFile, replaceFile } from './safe_fs';

/**
 * Replaces every restore_command line of <dataDir>/postgresql.auto.conf with one of `command`;
 * owner and mode kept. The directory is postgres's: the file is read without following a link and
 * replaced through a randomly named O_EXCL temporary (safe_fs.ts).
 */
export async function setRestoreCommand(dataDir: string, command: string): Promise<void> {
  const file = path.join(dataDir, 'postgresql.auto.conf');
  const old = await readRegularFile(file);
  const kept = old.data
    .toString('utf8')
    .split('\n')
    .filter((l) => !/^\s*restore_command\s*=/.test(l));
  while (kept.length && kept[kept.length - 1] === '') kept.pop();
  const text = `${[...kept, `restore_command = ${confQuote(command)}`].join('\n')}\n`;
  await replaceFile(file, text, { owner: { uid: old.uid, gid: old.gid }, mode: old.mode & 0o777 });
}
