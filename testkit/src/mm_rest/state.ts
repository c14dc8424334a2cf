/**
 * The stand-in's "database": users, sessions, tokens, teams, channels, memberships, posts (with
 * edit history), commands and command hooks, plus the seed/inspect helpers tests use directly.
 */
import { newId } from '../ids';
import { defaultConfig, mergeConfig } from './config';
import type {
  MmAccessTokenRecord,
  MmBotRecord,
  MmChannelRecord,
  MmCommandHook,
  MmCommandRecord,
  MmConfigInput,
  MmConfigSubset,
  MmPostRecord,
  MmSession,
  MmTeamRecord,
  MmUserRecord,
  SeenPost,
} from './types';

/** Session length of a web login (SessionLengthWebInDays defaults to 30). */
const SESSION_MS = 30 * 24 * 3600 * 1000;

export interface LoginResult {
  token: string;
  csrf: string;
  userId: string;
  /** Cookie header a browser would send after an XHR login: MMAUTHTOKEN, MMUSERID, MMCSRF. */
  cookie: string;
}

export class MmStore {
  readonly config: MmConfigSubset;
  readonly users = new Map<string, MmUserRecord>();
  readonly passwords = new Map<string, string>();
  readonly sessions = new Map<string, MmSession>();
  readonly accessTokens = new Map<string, MmAccessTokenRecord>();
  readonly bots = new Map<string, MmBotRecord>();
  readonly teams = new Map<string, MmTeamRecord>();
  readonly channels = new Map<string, MmChannelRecord>();
  readonly teamMembers = new Map<string, Set<string>>();
  readonly channelMembers = new Map<string, Set<string>>();
  /** All post rows, including deleted ones and old versions (original_id set), in insertion order. */
  readonly postRows: MmPostRecord[] = [];
  readonly commandRows = new Map<string, MmCommandRecord>();
  readonly hooks = new Map<string, MmCommandHook>();
  readonly ephemeralPosts = new Map<string, MmPostRecord[]>();
  /** What ping reports for the database and file store. */
  health = { database: 'OK' as 'OK' | 'UNHEALTHY', filestore: 'OK' as 'OK' | 'UNHEALTHY' };
  private lastMillis = 0;

  constructor(siteUrl: string, config?: MmConfigInput) {
    this.config = mergeConfig(defaultConfig(siteUrl), config);
  }

  /** model.GetMillis, but strictly increasing so posts keep their order. */
  now(): number {
    this.lastMillis = Math.max(Date.now(), this.lastMillis + 1);
    return this.lastMillis;
  }

  addUser(o: {
    username: string;
    roles?: 'system_user' | 'system_user system_admin';
    password?: string;
    isBot?: boolean;
  }): MmUserRecord {
    if (this.userByName(o.username)) throw new Error(`user ${o.username} exists`);
    const t = this.now();
    const u: MmUserRecord = {
      id: newId(),
      create_at: t,
      update_at: t,
      delete_at: 0,
      username: o.username.toLowerCase(),
      auth_service: '',
      email: o.isBot ? `${o.username}@localhost` : `${o.username}@example.com`,
      nickname: '',
      first_name: '',
      last_name: '',
      position: '',
      roles: o.roles ?? 'system_user',
      locale: 'en',
      is_bot: Boolean(o.isBot),
      last_password_update: t,
      timezone: { automaticTimezone: '', manualTimezone: '', useAutomaticTimezone: 'true' },
      notify_props: {
        channel: 'true',
        comments: 'never',
        desktop: 'mention',
        email: 'true',
        mention_keys: '',
        push: 'mention',
      },
      props: {},
      disable_welcome_email: false,
    };
    this.users.set(u.id, u);
    if (!o.isBot) this.passwords.set(u.id, o.password ?? 'Password1!');
    return u;
  }

  /** A bot account (user row with is_bot plus the bots row), as POST /api/v4/bots creates it. */
  addBot(o: { username: string; display_name?: string; description?: string; ownerId?: string }): {
    user: MmUserRecord;
    bot: MmBotRecord;
  } {
    const user = this.addUser({ username: o.username, isBot: true });
    user.bot_description = o.description ?? '';
    const bot: MmBotRecord = {
      user_id: user.id,
      username: user.username,
      display_name: o.display_name ?? '',
      description: o.description ?? '',
      owner_id: o.ownerId ?? '',
      create_at: user.create_at,
      update_at: user.create_at,
      delete_at: 0,
    };
    this.bots.set(user.id, bot);
    return { user, bot };
  }

  /** A user access token (for bots or, with EnableUserAccessTokens, humans); returns the row incl. its secret. */
  createAccessToken(userId: string, description = 'test'): MmAccessTokenRecord {
    const row: MmAccessTokenRecord = { id: newId(), token: newId(), user_id: userId, description, is_active: true };
    this.accessTokens.set(row.token, row);
    return row;
  }

  userByName(username: string): MmUserRecord | undefined {
    const n = username.toLowerCase();
    return [...this.users.values()].find((u) => u.username === n);
  }

  /** Creates a session like POST /api/v4/users/login with X-Requested-With: XMLHttpRequest. */
  login(username: string): LoginResult {
    const u = this.userByName(username);
    if (!u) throw new Error(`no user ${username}`);
    const s = this.newSession(u.id, 'session');
    return {
      token: s.token,
      csrf: s.csrf,
      userId: u.id,
      cookie: `MMAUTHTOKEN=${s.token}; MMUSERID=${u.id}; MMCSRF=${s.csrf}`,
    };
  }

  newSession(userId: string, kind: MmSession['kind'], token = newId()): MmSession {
    const t = this.now();
    const s: MmSession = {
      id: newId(),
      token,
      csrf: newId(),
      user_id: userId,
      create_at: t,
      expires_at: kind === 'session' ? t + SESSION_MS : 0,
      kind,
    };
    this.sessions.set(token, s);
    return s;
  }

  revokeSession(token: string): void {
    this.sessions.delete(token);
    const pat = this.accessTokens.get(token);
    if (pat) pat.is_active = false;
  }

  expireSession(token: string): void {
    const s = this.sessions.get(token);
    if (!s) throw new Error('no such session');
    s.expires_at = Date.now() - 1;
  }

  addTeam(o: { name: string; display_name: string; type?: 'O' | 'I' }): MmTeamRecord {
    const t = this.now();
    const team: MmTeamRecord = {
      id: newId(),
      create_at: t,
      update_at: t,
      delete_at: 0,
      display_name: o.display_name,
      name: o.name,
      description: '',
      email: 'admin@example.com',
      type: o.type ?? 'O',
      company_name: '',
      allowed_domains: '',
      invite_id: newId(),
      allow_open_invite: (o.type ?? 'O') === 'O',
      last_team_icon_update: 0,
      group_constrained: false,
      cloud_limits_archived: false,
    };
    this.teams.set(team.id, team);
    this.teamMembers.set(team.id, new Set());
    return team;
  }

  addChannel(teamId: string, o: { name: string; display_name: string; type: 'O' | 'P' }): MmChannelRecord {
    if (!this.teams.has(teamId)) throw new Error(`no team ${teamId}`);
    const t = this.now();
    const ch: MmChannelRecord = {
      id: newId(),
      create_at: t,
      update_at: t,
      delete_at: 0,
      team_id: teamId,
      type: o.type,
      display_name: o.display_name,
      name: o.name,
      header: '',
      purpose: '',
      last_post_at: t,
      total_msg_count: 0,
      extra_update_at: 0,
      creator_id: '',
      total_msg_count_root: 0,
      last_root_post_at: t,
    };
    this.channels.set(ch.id, ch);
    this.channelMembers.set(ch.id, new Set());
    return ch;
  }

  /** Adds the user to a team, or to a channel (and then also to the channel's team). */
  addMember(teamOrChannelId: string, userId: string): void {
    const ch = this.channels.get(teamOrChannelId);
    if (ch) {
      this.teamMembers.get(ch.team_id)?.add(userId);
      this.channelMembers.get(ch.id)?.add(userId);
      return;
    }
    const tm = this.teamMembers.get(teamOrChannelId);
    if (!tm) throw new Error(`no team or channel ${teamOrChannelId}`);
    tm.add(userId);
  }

  isTeamMember(teamId: string, userId: string): boolean {
    return this.teamMembers.get(teamId)?.has(userId) ?? false;
  }

  isChannelMember(channelId: string, userId: string): boolean {
    return this.channelMembers.get(channelId)?.has(userId) ?? false;
  }

  post(id: string): MmPostRecord | undefined {
    return this.postRows.find((p) => p.id === id && p.original_id === '' && p.delete_at === 0);
  }

  /** What a user sees in the channel: live posts in order (replies included), each with its edit history. */
  posts(channelId: string): SeenPost[] {
    return this.postRows
      .filter((p) => p.channel_id === channelId && p.delete_at === 0 && p.original_id === '')
      .map((p) => ({
        ...structuredClone(p),
        history: this.postRows
          .filter((o) => o.original_id === p.id)
          .map((o) => ({ message: o.message, props: structuredClone(o.props), update_at: o.update_at })),
      }));
  }

  /** The replies of a thread, in order. */
  thread(rootId: string): SeenPost[] {
    const root = this.post(rootId);
    return root ? this.posts(root.channel_id).filter((p) => p.root_id === rootId) : [];
  }

  /** Ephemeral posts a user was shown (never stored by the real server; kept here for tests). */
  ephemeral(userId: string): MmPostRecord[] {
    return this.ephemeralPosts.get(userId) ?? [];
  }

  commands(teamId: string): MmCommandRecord[] {
    return [...this.commandRows.values()].filter((c) => c.team_id === teamId && c.delete_at === 0);
  }

  /** Stores a new post the way CreatePost does (thread counters, channel counters). */
  insertPost(p: Partial<MmPostRecord> & { user_id: string; channel_id: string; message: string }): MmPostRecord {
    const t = this.now();
    const row: MmPostRecord = {
      id: newId(),
      create_at: t,
      update_at: t,
      edit_at: 0,
      delete_at: 0,
      is_pinned: false,
      root_id: '',
      original_id: '',
      type: '',
      props: {},
      hashtags: '',
      pending_post_id: '',
      reply_count: 0,
      last_reply_at: 0,
      participants: null,
      metadata: {},
      ...p,
    };
    if (row.file_ids && row.file_ids.length === 0) delete row.file_ids;
    this.postRows.push(row);
    const ch = this.channels.get(row.channel_id);
    if (ch) {
      ch.last_post_at = t;
      ch.total_msg_count += 1;
      if (!row.root_id) {
        ch.total_msg_count_root += 1;
        ch.last_root_post_at = t;
      }
    }
    if (row.root_id) {
      const root = this.post(row.root_id);
      if (root) {
        root.reply_count += 1;
        root.last_reply_at = t;
      }
      row.reply_count = root?.reply_count ?? 0;
    }
    return row;
  }

  /** Replaces a post's editable fields, keeping the old version as an edit-history row (original_id, deleted). */
  editPost(
    p: MmPostRecord,
    change: {
      message?: string;
      props?: Record<string, unknown>;
      is_pinned?: boolean;
      has_reactions?: boolean;
      file_ids?: string[];
    },
  ): MmPostRecord {
    const t = this.now();
    if (change.message !== undefined && change.message !== p.message) {
      this.postRows.push({ ...structuredClone(p), id: newId(), original_id: p.id, delete_at: t, update_at: t });
      p.edit_at = t;
    }
    if (change.message !== undefined) p.message = change.message;
    if (change.props !== undefined) p.props = change.props;
    if (change.is_pinned !== undefined) p.is_pinned = change.is_pinned;
    if (change.has_reactions !== undefined) p.has_reactions = change.has_reactions;
    if (change.file_ids !== undefined) p.file_ids = change.file_ids;
    p.update_at = t;
    return p;
  }
}
