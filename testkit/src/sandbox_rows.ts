/**
 * Generates the sandbox's database rows. Bulk tables (users, memberships, posts, reactions, ...)
 * are produced server-side with INSERT ... SELECT over generate_series (PostgreSQL) or the
 * SEQUENCE engine's seq_0_to_N (MariaDB), so a million posts never pass through Node. Every id and
 * every relation is a pure function of the row number (see SandboxModel), which lets Node compute
 * where a post's attachment has to go without reading the posts back.
 */
import { derivedId } from './ids';
import {
  CHANNELS,
  EMOJI,
  FIRST_NAMES,
  HEADERS,
  LAST_NAMES,
  LOCALES,
  MEMBER_NOTIFY_PROPS,
  MESSAGES_A,
  MESSAGES_B,
  PASSWORD_HASH,
  POSITIONS,
  STATUSES,
  TEAMS,
  TIMEZONES,
  USER_NOTIFY_PROPS,
} from './sandbox_content';
import { colSql, tableSql } from './sandbox_schema';
import { quoteLiteral, type SqlConn, type SqlDriver } from './sql_conn';

const DAY = 86_400_000;

/** Row counts and time base of a sandbox; all ids and relations derive from these numbers. */
export interface ModelParams {
  seed: string;
  users: number;
  teams: number;
  channels: number;
  posts: number;
  /** Epoch ms of post 0. */
  t0: number;
  /** Milliseconds between consecutive posts. */
  step: number;
}

/**
 * The sandbox's relational layout. Users 0..U-1 are people (0 is the system admin), U.. are bots.
 * Channels 0..C-1 belong to team c % T (c < T: town-square, c < 2T: off-topic); C..C+D-1 are DMs
 * between users 2d and 2d+1. Channel c has M members: users (c*M + k) % U. Posts come in blocks of
 * 10 per channel; posts 3, 4, 5 of a block reply to post 0 of the block.
 */
export class SandboxModel {
  readonly U: number;
  readonly T: number;
  readonly C: number;
  readonly D: number;
  readonly CT: number;
  readonly M: number;
  readonly N: number;
  readonly bots = ['system-bot', 'playbooks'] as const;

  constructor(readonly p: ModelParams) {
    this.U = Math.max(1, Math.floor(p.users));
    this.T = Math.max(1, Math.floor(p.teams));
    this.C = Math.max(this.T, Math.floor(p.channels));
    this.D = this.U >= 2 ? Math.min(5, Math.floor(this.U / 2)) : 0;
    this.CT = this.C + this.D;
    this.M = Math.min(this.U, 50);
    this.N = Math.max(0, Math.floor(p.posts));
  }

  userId(i: number): string {
    return derivedId(this.p.seed, 'u', i);
  }
  teamId(t: number): string {
    return derivedId(this.p.seed, 't', t);
  }
  channelId(c: number): string {
    return derivedId(this.p.seed, 'c', c);
  }
  postId(i: number): string {
    return derivedId(this.p.seed, 'p', i);
  }
  botUserIndex(b: number): number {
    return this.U + b;
  }

  /** Channel index of post i. */
  postChannel(i: number): number {
    return Math.floor(i / 10) % this.CT;
  }
  /** Team id of channel c ('' for direct messages). */
  channelTeamId(c: number): string {
    return c < this.C ? this.teamId(c % this.T) : '';
  }
  /** User index of post i's author. */
  postAuthor(i: number): number {
    const ch = this.postChannel(i);
    if (ch < this.C) return (ch * this.M + ((i * 7) % this.M)) % this.U;
    return 2 * (ch - this.C) + (i % 2);
  }
  /** CreateAt of post i. */
  postCreateAt(i: number): number {
    return this.p.t0 + i * this.p.step;
  }
}

/** SQL expression builders for one dialect; `i` expressions are integers. */
class Dialect {
  readonly pg: boolean;
  constructor(
    readonly driver: SqlDriver,
    readonly seed: string,
  ) {
    this.pg = driver === 'postgres';
  }
  t(name: string): string {
    return tableSql(this.driver, name);
  }
  c(name: string): string {
    return colSql(this.driver, name);
  }
  /** FROM item yielding a signed bigint column `alias.i` = 0..n-1. */
  seq(n: number, alias: string): string {
    // MariaDB's seq is BIGINT UNSIGNED: subtraction below zero would be an error, so cast it.
    return this.pg
      ? `generate_series(0::bigint, ${n - 1}::bigint) AS ${alias}(i)`
      : `(SELECT CAST(seq AS SIGNED) AS i FROM seq_0_to_${n - 1}) AS ${alias}`;
  }
  id(kind: string, expr: string): string {
    return `substr(md5(concat('${this.seed}:${kind}:', ${expr})), 1, 26)`;
  }
  lit(s: string): string {
    return quoteLiteral(this.driver, s);
  }
  pick(expr: string, values: readonly string[]): string {
    const lits = values.map((v) => this.lit(v)).join(', ');
    return this.pg
      ? `(ARRAY[${lits}]::text[])[1 + ((${expr}) % ${values.length})::int]`
      : `ELT(1 + ((${expr}) % ${values.length}), ${lits})`;
  }
  div(a: string, b: number): string {
    return this.pg ? `((${a}) / ${b})` : `((${a}) DIV ${b})`;
  }
  json(expr: string): string {
    return this.pg ? `(${expr})::jsonb` : expr;
  }
  enumv(expr: string, type: string): string {
    return this.pg ? `(${expr})::${type}` : expr;
  }
  repeat(s: string, n: number): string {
    return `repeat(${this.lit(s)}, ${n})`;
  }
}

/** Inserts `cols` (PascalCase column → SQL expression) from `from` into `table`. */
async function insertSelect(
  conn: SqlConn,
  d: Dialect,
  table: string,
  cols: Record<string, string>,
  from: string,
  where = '',
): Promise<void> {
  const names = Object.keys(cols)
    .map((c) => d.c(c))
    .join(', ');
  const exprs = Object.values(cols).join(',\n  ');
  await conn.exec(
    `INSERT INTO ${d.t(table)} (${names})\nSELECT\n  ${exprs}\nFROM ${from}${where ? `\nWHERE ${where}` : ''}`,
  );
}

/** Inserts literal rows (PascalCase keys, same keys in every row) with parameters, 500 rows per statement. */
export async function insertRows(conn: SqlConn, table: string, rows: Array<Record<string, unknown>>): Promise<void> {
  const first = rows[0];
  if (!first) return;
  const keys = Object.keys(first);
  const cols = keys.map((k) => colSql(conn.driver, k)).join(', ');
  for (let start = 0; start < rows.length; start += 500) {
    const chunk = rows.slice(start, start + 500);
    const placeholders = chunk.map(() => `(${keys.map(() => '?').join(', ')})`).join(', ');
    const params = chunk.flatMap((r) => keys.map((k) => r[k] ?? null));
    await conn.query(`INSERT INTO ${tableSql(conn.driver, table)} (${cols}) VALUES ${placeholders}`, params);
  }
}

/** Server-side generation of teams, users, memberships, channels, posts, reactions, preferences, sessions, status. */
export async function generateBulkRows(conn: SqlConn, m: SandboxModel): Promise<void> {
  const d = new Dialect(conn.driver, m.p.seed);
  const { U, T, C, D, CT, M, N } = m;
  // Ids are unique by construction; skipping the checks lets InnoDB bulk-load empty tables.
  if (conn.driver === 'mysql') await conn.exec('SET SESSION unique_checks = 0, foreign_key_checks = 0');
  const t0 = m.p.t0;
  const firsts = FIRST_NAMES.map((f) => f[0]);
  const lasts = LAST_NAMES.map((l) => l[0]);

  // Teams
  await insertSelect(
    conn,
    d,
    'Teams',
    {
      Id: d.id('t', 'g.i'),
      CreateAt: `${t0 - 200 * DAY}`,
      UpdateAt: `${t0 - 100 * DAY}`,
      DeleteAt: '0',
      DisplayName: d.pick(
        'g.i',
        TEAMS.map((t) => t[0]),
      ),
      Name: `concat(${d.pick(
        'g.i',
        TEAMS.map((t) => t[1]),
      )}, CASE WHEN g.i < ${TEAMS.length} THEN '' ELSE concat('-', g.i) END)`,
      Description: `CASE WHEN g.i % 2 = 0 THEN 'Where the work happens' ELSE 'Équipe — «support» & co' END`,
      Email: `'admin@example.com'`,
      Type: d.enumv(`CASE WHEN g.i % 3 = 2 THEN 'I' ELSE 'O' END`, 'team_type'),
      CompanyName: `''`,
      AllowedDomains: `''`,
      InviteId: d.id('ti', 'g.i'),
      AllowOpenInvite: `(g.i % 3 <> 2)`,
      LastTeamIconUpdate: '0',
      SchemeId: 'NULL',
      GroupConstrained: 'false',
      CloudLimitsArchived: 'false',
      RemoteId: 'NULL',
    },
    d.seq(T, 'g'),
  );

  // Users (people; bots are added by insertStaticRows)
  const username = `CASE WHEN g.i = 0 THEN 'sysadmin' ELSE concat(${d.pick('g.i', firsts)}, '.', ${d.pick(d.div('g.i', firsts.length), lasts)}, g.i) END`;
  const userCreate = `(${t0 - 150 * DAY} + (g.i % 60) * ${DAY})`;
  await insertSelect(
    conn,
    d,
    'Users',
    {
      Id: d.id('u', 'g.i'),
      CreateAt: userCreate,
      UpdateAt: `(${userCreate} + 1000)`,
      DeleteAt: `CASE WHEN g.i > 0 AND g.i % 97 = 96 THEN ${t0} ELSE 0 END`,
      Username: username,
      Password: d.lit(PASSWORD_HASH),
      AuthData: 'NULL',
      AuthService: `''`,
      Email: `concat(${username}, '@example.com')`,
      EmailVerified: 'true',
      Nickname: `CASE WHEN g.i % 5 = 0 THEN ${d.pick('g.i', ['Nick 🦊', 'Ché', 'the boss', 'ジョン', "D'Artagnan"])} ELSE '' END`,
      FirstName: d.pick(
        'g.i',
        FIRST_NAMES.map((f) => f[1]),
      ),
      LastName: d.pick(
        d.div('g.i', firsts.length),
        LAST_NAMES.map((l) => l[1]),
      ),
      Position: d.pick('g.i', POSITIONS),
      Roles: `CASE WHEN g.i = 0 THEN 'system_admin system_user' ELSE 'system_user' END`,
      AllowMarketing: 'false',
      Props: d.json(
        `CASE WHEN g.i % 4 = 1 THEN ${d.lit('{"customStatus":"{\\"emoji\\":\\"coffee\\",\\"text\\":\\"Café ☕\\"}"}')} ELSE '{}' END`,
      ),
      NotifyProps: d.json(d.lit(USER_NOTIFY_PROPS)),
      LastPasswordUpdate: userCreate,
      LastPictureUpdate: `CASE WHEN g.i < 200 THEN ${userCreate} ELSE 0 END`,
      FailedAttempts: '0',
      Locale: d.pick('g.i', LOCALES),
      Timezone: d.json(d.pick('g.i', TIMEZONES)),
      MfaActive: 'false',
      MfaSecret: `''`,
      RemoteId: 'NULL',
      LastLogin: `${t0 + Math.max(0, N - 1) * m.p.step}`,
      MfaUsedTimestamps: 'NULL',
    },
    d.seq(U, 'g'),
  );

  // Every person is in every team.
  await insertSelect(
    conn,
    d,
    'TeamMembers',
    {
      TeamId: d.id('t', 't.i'),
      UserId: d.id('u', 'u.i'),
      Roles: `CASE WHEN u.i = 0 THEN 'team_user team_admin' ELSE 'team_user' END`,
      DeleteAt: '0',
      SchemeUser: 'true',
      SchemeAdmin: '(u.i = 0)',
      SchemeGuest: 'false',
      CreateAt: `${t0 - 100 * DAY}`,
    },
    `${d.seq(U, 'u')} CROSS JOIN ${d.seq(T, 't')}`,
  );

  // Team channels
  const chSlug = `CASE WHEN g.i < ${T} THEN 'town-square' WHEN g.i < ${2 * T} THEN 'off-topic' ELSE concat(${d.pick(
    'g.i',
    CHANNELS.map((c) => c[1]),
  )}, '-', g.i) END`;
  await insertSelect(
    conn,
    d,
    'Channels',
    {
      Id: d.id('c', 'g.i'),
      CreateAt: `${t0 - 90 * DAY}`,
      UpdateAt: `${t0 - 90 * DAY}`,
      DeleteAt: `CASE WHEN g.i >= ${2 * T} AND g.i % 23 = 22 THEN ${t0} ELSE 0 END`,
      TeamId: d.id('t', `g.i % ${T}`),
      Type: d.enumv(`CASE WHEN g.i >= ${2 * T} AND g.i % 4 = 3 THEN 'P' ELSE 'O' END`, 'channel_type'),
      DisplayName: `CASE WHEN g.i < ${T} THEN 'Town Square' WHEN g.i < ${2 * T} THEN 'Off-Topic' ELSE concat(${d.pick(
        'g.i',
        CHANNELS.map((c) => c[0]),
      )}, ' ', g.i) END`,
      Name: chSlug,
      Header: d.pick('g.i', HEADERS),
      Purpose: `CASE WHEN g.i % 3 = 0 THEN 'Discussion about 🍕 and other things' ELSE '' END`,
      LastPostAt: '0',
      TotalMsgCount: '0',
      ExtraUpdateAt: '0',
      CreatorId: d.id('u', '0'),
      SchemeId: 'NULL',
      GroupConstrained: 'false',
      Shared: 'false',
      TotalMsgCountRoot: '0',
      LastRootPostAt: '0',
    },
    d.seq(C, 'g'),
  );

  const memberCols = (channel: string, user: string, admin: string): Record<string, string> => ({
    ChannelId: channel,
    UserId: user,
    Roles: `CASE WHEN ${admin} THEN 'channel_user channel_admin' ELSE 'channel_user' END`,
    LastViewedAt: `${t0}`,
    MsgCount: '0',
    MentionCount: '0',
    NotifyProps: d.json(d.lit(MEMBER_NOTIFY_PROPS)),
    LastUpdateAt: `${t0}`,
    SchemeUser: 'true',
    SchemeAdmin: `(${admin})`,
    SchemeGuest: 'false',
    MentionCountRoot: '0',
    MsgCountRoot: '0',
    UrgentMentionCount: '0',
  });
  await insertSelect(
    conn,
    d,
    'ChannelMembers',
    memberCols(d.id('c', 'c.i'), d.id('u', `(c.i * ${M} + k.i) % ${U}`), 'k.i = 0'),
    `${d.seq(C, 'c')} CROSS JOIN ${d.seq(M, 'k')}`,
  );

  if (D > 0) {
    // Direct-message channels: Mattermost names them "<smaller id>__<larger id>".
    const a = d.id('u', '2 * g.i');
    const b = d.id('u', '2 * g.i + 1');
    await insertSelect(
      conn,
      d,
      'Channels',
      {
        Id: d.id('c', `${C} + g.i`),
        CreateAt: `${t0 - 80 * DAY}`,
        UpdateAt: `${t0 - 80 * DAY}`,
        DeleteAt: '0',
        TeamId: `''`,
        Type: d.enumv(`'D'`, 'channel_type'),
        DisplayName: `''`,
        Name: `CASE WHEN ${a} < ${b} THEN concat(${a}, '__', ${b}) ELSE concat(${b}, '__', ${a}) END`,
        Header: `''`,
        Purpose: `''`,
        LastPostAt: '0',
        TotalMsgCount: '0',
        ExtraUpdateAt: '0',
        CreatorId: a,
        SchemeId: 'NULL',
        GroupConstrained: 'false',
        Shared: 'false',
        TotalMsgCountRoot: '0',
        LastRootPostAt: '0',
      },
      d.seq(D, 'g'),
    );
    await insertSelect(
      conn,
      d,
      'ChannelMembers',
      memberCols(d.id('c', `${C} + g.i`), d.id('u', '2 * g.i + k.i'), 'false'),
      `${d.seq(D, 'g')} CROSS JOIN ${d.seq(2, 'k')}`,
    );
  }

  if (N > 0) {
    const ch = `(${d.div('g.i', 10)} % ${CT})`;
    const author = (offset: number) =>
      `CASE WHEN ${ch} < ${C} THEN ${d.id('u', `(${ch} * ${M} + ((g.i * 7 + ${offset}) % ${M})) % ${U}`)} ELSE ${d.id('u', `2 * (${ch} - ${C}) + ((g.i + ${offset}) % 2)`)} END`;
    const createAt = `(${t0} + g.i * ${m.p.step})`;
    const system = 'g.i % 97 = 1';
    const message =
      `CASE WHEN ${system} THEN 'A new member joined the channel.'` +
      ` WHEN g.i % 1000 = 999 THEN ${d.repeat('Lorem ipsum dolor sit amet, consectetur adipiscing elit — ünïcödé 🎉. ', 60)}` +
      ` ELSE concat(${d.pick(
        'g.i',
        MESSAGES_A.map((x) => x[0]),
      )}, ' ', ${d.pick(d.div('g.i', MESSAGES_A.length), MESSAGES_B)}) END`;
    // PostgreSQL: slices keep each transaction moderate. MariaDB: one statement, because InnoDB's
    // bulk-load path (empty table, unique_checks=0) only applies to the first insert into the table.
    const slice = conn.driver === 'postgres' ? 250_000 : N;
    for (let start = 0; start < N; start += slice) {
      const end = Math.min(N, start + slice);
      await insertSelect(
        conn,
        d,
        'Posts',
        {
          Id: d.id('p', 'g.i'),
          CreateAt: createAt,
          UpdateAt: `CASE WHEN g.i % 17 = 0 THEN ${createAt} + 60000 ELSE ${createAt} END`,
          EditAt: `CASE WHEN g.i % 17 = 0 THEN ${createAt} + 60000 ELSE 0 END`,
          DeleteAt: `CASE WHEN g.i % 503 = 250 THEN ${createAt} + 5000 ELSE 0 END`,
          IsPinned: '(g.i % 211 = 5)',
          UserId: author(0),
          ChannelId: d.id('c', ch),
          RootId: `CASE WHEN g.i % 10 IN (3, 4, 5) THEN ${d.id('p', 'g.i - (g.i % 10)')} ELSE '' END`,
          OriginalId: `''`,
          Message: message,
          Type: `CASE WHEN ${system} THEN 'system_join_channel' ELSE '' END`,
          Props: d.json(
            `CASE WHEN ${system} THEN '{"username":"newcomer"}'` +
              ` WHEN g.i % 13 = 0 THEN '{"disable_group_highlight":true}'` +
              ` WHEN g.i % 29 = 0 THEN ${d.lit('{"attachments":[{"color":"#2389d7","title":"CI","text":"Build #1234 passed ✅"}]}')}` +
              ` ELSE '{}' END`,
          ),
          Hashtags: `CASE WHEN ${system} OR g.i % 1000 = 999 THEN '' ELSE ${d.pick(
            'g.i',
            MESSAGES_A.map((x) => x[1]),
          )} END`,
          Filenames: `'[]'`,
          FileIds: `'[]'`,
          HasReactions: '(g.i % 9 = 0)',
          RemoteId: 'NULL',
        },
        `(SELECT q.i + ${start} AS i FROM ${d.seq(end - start, 'q')}) AS g`,
      );
    }

    // Reactions on every 9th post (HasReactions above says the same); a second one on every 18th.
    const r = Math.ceil(N / 9);
    const reactionCols = (emoji: string, offset: number): Record<string, string> => ({
      UserId: author(offset),
      PostId: d.id('p', 'g.i'),
      EmojiName: emoji,
      CreateAt: `${createAt} + 30000`,
      UpdateAt: `${createAt} + 30000`,
      DeleteAt: '0',
      RemoteId: 'NULL',
      ChannelId: d.id('c', ch),
    });
    await insertSelect(
      conn,
      d,
      'Reactions',
      reactionCols(d.pick(d.div('g.i', 9), EMOJI), 1),
      `(SELECT r.i * 9 AS i FROM ${d.seq(r, 'r')}) AS g`,
    );
    await insertSelect(
      conn,
      d,
      'Reactions',
      reactionCols(d.pick(`${d.div('g.i', 9)} + 1`, EMOJI), 0),
      `(SELECT r.i * 9 AS i FROM ${d.seq(r, 'r')}) AS g`,
      'g.i % 18 = 0',
    );
  }

  await insertSelect(
    conn,
    d,
    'Preferences',
    {
      UserId: d.id('u', 'g.i'),
      Category: `'display_settings'`,
      Name: `'use_military_time'`,
      Value: `CASE WHEN g.i % 2 = 0 THEN 'false' ELSE 'true' END`,
    },
    d.seq(U, 'g'),
  );
  await insertSelect(
    conn,
    d,
    'Preferences',
    {
      UserId: d.id('u', 'g.i'),
      Category: `'theme'`,
      Name: `''`,
      Value: d.pick('g.i', ['{"type":"Denim"}', '{"type":"Onyx","sidebarBg":"#121317"}', '{"type":"Quartz"}']),
    },
    d.seq(U, 'g'),
  );
  await insertSelect(
    conn,
    d,
    'Preferences',
    {
      UserId: d.id('u', 'g.i'),
      Category: `'tutorial_step'`,
      Name: d.id('u', 'g.i'),
      Value: `'999'`,
    },
    d.seq(U, 'g'),
  );

  await insertSelect(
    conn,
    d,
    'Sessions',
    {
      Id: d.id('s', 'g.i'),
      Token: d.id('st', 'g.i'),
      CreateAt: `${t0}`,
      ExpiresAt: `${t0 + 30 * DAY}`,
      LastActivityAt: `${t0}`,
      UserId: d.id('u', 'g.i'),
      DeviceId: `''`,
      Roles: `CASE WHEN g.i = 0 THEN 'system_admin system_user' ELSE 'system_user' END`,
      IsOAuth: 'false',
      ExpiredNotify: 'false',
      Props: d.json(
        `'{"browser":"Firefox/128.0","csrf":"x5kq9cp3nbgw7ewrz6s1b7ktpe","isSaml":"false","is_guest":"false","os":"Linux","platform":"Linux"}'`,
      ),
    },
    `(SELECT s.i * 3 AS i FROM ${d.seq(Math.ceil(U / 3), 's')}) AS g`,
  );

  await insertSelect(
    conn,
    d,
    'Status',
    {
      UserId: d.id('u', 'g.i'),
      Status: d.pick('g.i', STATUSES),
      Manual: '(g.i % 11 = 0)',
      LastActivityAt: `${t0}`,
      DNDEndTime: '0',
      PrevStatus: `''`,
    },
    d.seq(U, 'g'),
  );
}

/** After the bulk load and the attachments: Posts.FileIds, Threads, channel/member counters. */
export async function finishRows(conn: SqlConn): Promise<void> {
  const pg = conn.driver === 'postgres';
  if (pg) {
    await conn.exec(`UPDATE posts p SET fileids = f.ids
      FROM (SELECT postid, concat('["', string_agg(id, '","' ORDER BY id), '"]') AS ids FROM fileinfo WHERE postid <> '' GROUP BY postid) f
      WHERE p.id = f.postid`);
    await conn.exec(`INSERT INTO threads (postid, replycount, lastreplyat, participants, channelid, threaddeleteat, threadteamid)
      SELECT p.rootid, count(*), max(p.createat), jsonb_agg(DISTINCT p.userid), max(p.channelid), 0, max(c.teamid)
      FROM posts p JOIN channels c ON c.id = p.channelid WHERE p.rootid <> '' AND p.deleteat = 0 GROUP BY p.rootid`);
    await conn.exec(`UPDATE channels c SET lastpostat = s.last, totalmsgcount = s.n, totalmsgcountroot = s.nroot, lastrootpostat = s.lastroot
      FROM (SELECT channelid, max(createat) AS last, count(*) AS n, sum(CASE WHEN rootid = '' THEN 1 ELSE 0 END) AS nroot,
                   coalesce(max(CASE WHEN rootid = '' THEN createat END), 0) AS lastroot
            FROM posts WHERE deleteat = 0 GROUP BY channelid) s
      WHERE c.id = s.channelid`);
    await conn.exec(`UPDATE channelmembers m SET msgcount = c.totalmsgcount, msgcountroot = c.totalmsgcountroot, lastviewedat = c.lastpostat
      FROM channels c WHERE c.id = m.channelid AND c.totalmsgcount > 0`);
  } else {
    await conn.exec(`UPDATE Posts p JOIN (SELECT PostId, CONCAT('["', GROUP_CONCAT(Id ORDER BY Id SEPARATOR '","'), '"]') AS ids
      FROM FileInfo WHERE PostId <> '' GROUP BY PostId) f ON p.Id = f.PostId SET p.FileIds = f.ids`);
    await conn.exec(`INSERT INTO Threads (PostId, ReplyCount, LastReplyAt, Participants, ChannelId, ThreadDeleteAt, ThreadTeamId)
      SELECT p.RootId, COUNT(*), MAX(p.CreateAt), JSON_ARRAYAGG(DISTINCT p.UserId), MAX(p.ChannelId), 0, MAX(c.TeamId)
      FROM Posts p JOIN Channels c ON c.Id = p.ChannelId WHERE p.RootId <> '' AND p.DeleteAt = 0 GROUP BY p.RootId`);
    await conn.exec(`UPDATE Channels c JOIN (SELECT ChannelId, MAX(CreateAt) AS last, COUNT(*) AS n, SUM(CASE WHEN RootId = '' THEN 1 ELSE 0 END) AS nroot,
                   COALESCE(MAX(CASE WHEN RootId = '' THEN CreateAt END), 0) AS lastroot
            FROM Posts WHERE DeleteAt = 0 GROUP BY ChannelId) s ON c.Id = s.ChannelId
      SET c.LastPostAt = s.last, c.TotalMsgCount = s.n, c.TotalMsgCountRoot = s.nroot, c.LastRootPostAt = s.lastroot`);
    await conn.exec(`UPDATE ChannelMembers m JOIN Channels c ON c.Id = m.ChannelId
      SET m.MsgCount = c.TotalMsgCount, m.MsgCountRoot = c.TotalMsgCountRoot, m.LastViewedAt = c.LastPostAt WHERE c.TotalMsgCount > 0`);
  }
}
