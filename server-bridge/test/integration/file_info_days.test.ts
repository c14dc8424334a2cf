/**
 * The day fingerprints change detection reads (database/file_info_days.ts), on both engines and
 * the sandbox's real FileInfo table: one per day directory that holds attachments, with as many
 * rows as that day has attachment directories on disk (counted independently, from the files),
 * and a fingerprint that moves when a row of that day is added or soft-deleted.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { generateSandbox, makeTempDir, removeTempDir, startMariadb, startPostgres, freePort } from '@mm-backup/testkit';
import { parseDsn } from '../../src/database/dsn';
import { fileInfoDays } from '../../src/database/file_info_days';
import { query } from '../../src/database/sql_client';

/** Attachment directories (<day>/teams/<t>/channels/<c>/users/<u>/<fileid>) per day, from the disk. */
async function attachmentDirs(dataDir: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const day of (await readdir(dataDir)).filter((d) => /^\d{8}$/.test(d))) {
    const files = await readdir(path.join(dataDir, day), { recursive: true, withFileTypes: true });
    // The file id directory is the one at depth 7 (day/teams/t/channels/c/users/u/fileid).
    const ids = files.filter(
      (f) => f.isDirectory() && path.relative(dataDir, path.join(f.parentPath, f.name)).split(path.sep).length === 8,
    );
    out[day] = ids.length;
  }
  return out;
}

for (const driver of ['postgres', 'mysql'] as const) {
  test(`${driver}: one fingerprint per attachment day, moving with that day's rows`, async () => {
    const db = driver === 'postgres' ? await startPostgres() : await startMariadb();
    const root = await makeTempDir(`fileinfo-${driver}-`);
    try {
      const sb = await generateSandbox({
        root,
        db,
        port: await freePort(),
        size: { users: 4, channels: 2, posts: 80, attachments: 25, attachmentBytes: 20_000 },
      });
      const target = parseDsn(sb.dbUrl);
      const days = await fileInfoDays(target);
      const onDisk = await attachmentDirs(sb.dataDir);
      expect(Object.keys(onDisk).length).toBeGreaterThan(1);
      expect(Object.fromEntries([...days].map(([d, fp]) => [d, Number(fp.split(':')[0])]))).toEqual(onDisk);
      const [day] = Object.keys(onDisk) as [string];
      const table = driver === 'postgres' ? 'fileinfo' : 'FileInfo';
      await query(
        target,
        `UPDATE ${table} SET deleteat = 1, updateat = updateat + 1 WHERE id = (SELECT id FROM (SELECT id FROM ${table} WHERE path LIKE '${day}/%' LIMIT 1) x)`,
      );
      const after = await fileInfoDays(target);
      expect(after.get(day)).not.toBe(days.get(day));
      for (const [d, fp] of days) if (d !== day) expect(after.get(d)).toBe(fp);
      // One row removed and another added with the same size and older times: still a change.
      const [, other] = Object.keys(onDisk) as [string, string];
      const row = (
        await query(target, `SELECT id, size, createat, updateat FROM ${table} WHERE path LIKE '${other}/%' LIMIT 1`)
      )[0] as { id: string; size: number; createat: number; updateat: number };
      await query(target, `DELETE FROM ${table} WHERE id = '${row.id}'`);
      await query(
        target,
        `INSERT INTO ${table} (id, path, thumbnailpath, previewpath, name, extension, size, createat, updateat, deleteat, archived)
         VALUES ('swappedrow0000000000000000', '${other}/teams/t/channels/c/users/u/swappedrow0000000000000000/x.txt', '', '', 'x.txt', 'txt', ${row.size}, 1, 1, 0, false)`,
      );
      expect((await fileInfoDays(target)).get(other)).not.toBe(after.get(other));
    } finally {
      await db.destroy();
      await removeTempDir(root);
    }
  }, 180_000);
}
