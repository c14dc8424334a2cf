/**
 * Writer mode: keeps "users" posting with image attachments while the stand-in runs, to exercise
 * online backups. Each post follows Mattermost's order: write the file (and its thumbnail and
 * preview) into the file store FIRST, THEN insert the FileInfo row, THEN the post. A backup that
 * copies the database before the files must therefore find every referenced file.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { newId } from '../ids';
import { colSql, tableSql } from '../sandbox_schema';
import { openSqlConn, type SqlConn } from '../sql_conn';
import { log } from './http_api';
import type { StandinSettings } from './mm_config';

/** A running writer. */
export interface Writer {
  /** Stops after the post in progress and closes the connection. */
  stop(): Promise<void>;
  /** Posts written so far and consecutive failures. */
  stats(): { posts: number; errors: number };
}

interface Slot {
  channelId: string;
  teamId: string;
  userId: string;
}

function insertSql(driver: 'postgres' | 'mysql', table: string, cols: string[]): string {
  return `INSERT INTO ${tableSql(driver, table)} (${cols.map((c) => colSql(driver, c)).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`;
}

function day(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}${String(d.getUTCDate()).padStart(2, '0')}`;
}

const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00]);

/** Starts writing one post with an attachment every `intervalMs`; DB outages are retried, not fatal. */
export function startWriter(s: StandinSettings, intervalMs: number): Writer {
  const d = s.driver;
  let conn: SqlConn | undefined;
  let slots: Slot[] = [];
  // Widened: TypeScript does not see that stop() (a closure) sets it.
  let stopping = false as boolean;
  let posts = 0;
  let errors = 0;
  const sleeper: { wake?: () => void } = {};

  const FILE_COLS = [
    'Id',
    'CreatorId',
    'PostId',
    'ChannelId',
    'CreateAt',
    'UpdateAt',
    'DeleteAt',
    'Path',
    'ThumbnailPath',
    'PreviewPath',
    'Name',
    'Extension',
    'Size',
    'MimeType',
    'Width',
    'Height',
    'HasPreviewImage',
    'MiniPreview',
    'Content',
    'RemoteId',
    'Archived',
  ];
  const POST_COLS = [
    'Id',
    'CreateAt',
    'UpdateAt',
    'EditAt',
    'DeleteAt',
    'IsPinned',
    'UserId',
    'ChannelId',
    'RootId',
    'OriginalId',
    'Message',
    'Type',
    'Props',
    'Hashtags',
    'Filenames',
    'FileIds',
    'HasReactions',
    'RemoteId',
  ];
  const fileSql = insertSql(d, 'FileInfo', FILE_COLS);
  const postSql = insertSql(d, 'Posts', POST_COLS);
  const channelSql =
    `UPDATE ${tableSql(d, 'Channels')} SET ${colSql(d, 'LastPostAt')} = ?, ${colSql(d, 'TotalMsgCount')} = ${colSql(d, 'TotalMsgCount')} + 1, ` +
    `${colSql(d, 'TotalMsgCountRoot')} = ${colSql(d, 'TotalMsgCountRoot')} + 1, ${colSql(d, 'LastRootPostAt')} = ? WHERE ${colSql(d, 'Id')} = ?`;

  async function connect(): Promise<SqlConn> {
    if (conn && !conn.broken) return conn;
    await conn?.close();
    conn = undefined;
    const c = await openSqlConn(s.db);
    conn = c;
    if (slots.length === 0) {
      const t = (n: string) => tableSql(d, n);
      const col = (n: string) => colSql(d, n);
      // Lower-case aliases come back as written on both databases.
      const rows = await c.query<{ channelid: string; teamid: string; userid: string }>(
        `SELECT c.${col('Id')} AS channelid, c.${col('TeamId')} AS teamid, m.${col('UserId')} AS userid FROM ${t('ChannelMembers')} m ` +
          `JOIN ${t('Channels')} c ON c.${col('Id')} = m.${col('ChannelId')} WHERE c.${col('DeleteAt')} = 0 ORDER BY c.${col('Id')}, m.${col('UserId')} LIMIT 500`,
      );
      slots = rows.map((r) => ({ channelId: r.channelid, teamId: r.teamid ?? '', userId: r.userid }));
      if (slots.length === 0) throw new Error('no channel members to post as');
    }
    return c;
  }

  async function writeOne(): Promise<void> {
    const c = await connect();
    const slot = slots[Math.floor(Math.random() * slots.length)] as Slot;
    const now = Date.now();
    const postId = newId();
    const fileId = newId();
    const n = posts + 1;
    const name = `writer ${n}.jpg`;
    const dir = `${day(now)}/teams/${slot.teamId || 'noteam'}/channels/${slot.channelId}/users/${slot.userId}/${fileId}`;
    const size = 2048 + Math.floor(Math.random() * 10_240);
    // 1. The files.
    await mkdir(join(s.fileDir, dir), { recursive: true });
    await writeFile(join(s.fileDir, dir, name), Buffer.concat([JPEG, randomBytes(size - JPEG.length)]));
    await writeFile(join(s.fileDir, dir, `writer ${n}_thumb.jpg`), Buffer.concat([JPEG, randomBytes(300)]));
    await writeFile(join(s.fileDir, dir, `writer ${n}_preview.jpg`), Buffer.concat([JPEG, randomBytes(1200)]));
    // 2. The FileInfo row, 3. the post.
    await c.query(fileSql, [
      fileId,
      slot.userId,
      postId,
      slot.channelId,
      now,
      now,
      0,
      `${dir}/${name}`,
      `${dir}/writer ${n}_thumb.jpg`,
      `${dir}/writer ${n}_preview.jpg`,
      name,
      'jpg',
      size,
      'image/jpeg',
      640,
      480,
      true,
      null,
      '',
      null,
      false,
    ]);
    await c.query(postSql, [
      postId,
      now,
      now,
      0,
      0,
      false,
      slot.userId,
      slot.channelId,
      '',
      '',
      `Writer post #${n} 📝 ${new Date(now).toISOString()}`,
      '',
      '{}',
      '',
      '[]',
      JSON.stringify([fileId]),
      false,
      null,
    ]);
    await c.query(channelSql, [now, now, slot.channelId]);
    posts++;
  }

  const loop = (async () => {
    log(`writer: posting every ${intervalMs} ms into ${s.fileDir}`);
    for (;;) {
      if (stopping) break;
      try {
        await writeOne();
        errors = 0;
        if (posts % 100 === 0) log(`writer: ${posts} posts written`);
      } catch (err) {
        errors++;
        if (errors === 1 || errors % 50 === 0) {
          log(`writer: post failed (${errors} in a row): ${(err as Error).message}`);
        }
        await conn?.close();
        conn = undefined;
      }
      if (stopping) break;
      const delay = errors > 0 ? Math.min(1000, intervalMs * 10) : intervalMs;
      await new Promise<void>((r) => {
        sleeper.wake = r;
        setTimeout(r, delay);
      });
    }
    await conn?.close();
    log(`writer: stopped after ${posts} posts`);
  })();

  return {
    async stop() {
      stopping = true;
      sleeper.wake?.();
      await loop;
    },
    stats: () => ({ posts, errors }),
  };
}
