/**
 * A listening in-memory REST stand-in with an admin, a user, a team and channels: the common
 * starting point of tests that talk to it (the kit's own and the sidecar's Mattermost client tests).
 */
import { createMattermostRest, type MattermostRest, type MattermostRestOptions } from './server';

/** One HTTP exchange with the stand-in, body parsed as JSON when it is JSON. */
export interface Call {
  status: number;
  headers: Headers;
  json: any;
  text: string;
}

/** The seeded stand-in and a fetch helper; close() stops listening. */
export interface World {
  rest: MattermostRest;
  url: string;
  admin: { id: string; token: string; csrf: string; cookie: string };
  user: { id: string; token: string; csrf: string; cookie: string };
  teamId: string;
  townId: string;
  privateId: string;
  close(): Promise<void>;
  call(
    method: string,
    path: string,
    o?: { token?: string; cookie?: string; body?: unknown; headers?: Record<string, string>; raw?: string },
  ): Promise<Call>;
}

/** Starts a stand-in seeded with sysadmin, alice, team "ops", public town-square and private backups. */
export async function world(opts: MattermostRestOptions = {}): Promise<World> {
  const rest = createMattermostRest(opts);
  const { url, close } = await rest.listen();
  const s = rest.state;
  s.addUser({ username: 'sysadmin', roles: 'system_user system_admin' });
  s.addUser({ username: 'alice' });
  const admin = s.login('sysadmin');
  const user = s.login('alice');
  const team = s.addTeam({ name: 'ops', display_name: 'Ops' });
  const town = s.addChannel(team.id, { name: 'town-square', display_name: 'Town Square', type: 'O' });
  const priv = s.addChannel(team.id, { name: 'backups', display_name: 'Backups', type: 'P' });
  s.addMember(town.id, admin.userId);
  s.addMember(priv.id, admin.userId);
  s.addMember(town.id, user.userId);
  async function call(
    method: string,
    path: string,
    o: { token?: string; cookie?: string; body?: unknown; headers?: Record<string, string>; raw?: string } = {},
  ): Promise<Call> {
    const headers: Record<string, string> = { ...o.headers };
    if (o.token) headers.Authorization = `Bearer ${o.token}`;
    if (o.cookie) headers.Cookie = o.cookie;
    let body: string | undefined = o.raw;
    if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers['Content-Type'] ??= 'application/json';
    }
    const res = await fetch(new URL(path, url), { method, headers, body });
    const text = await res.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, headers: res.headers, json, text };
  }
  return {
    rest,
    url,
    close,
    call,
    teamId: team.id,
    townId: town.id,
    privateId: priv.id,
    admin: { id: admin.userId, token: admin.token, csrf: admin.csrf, cookie: admin.cookie },
    user: { id: user.userId, token: user.token, csrf: user.csrf, cookie: user.cookie },
  };
}

/** A bot that is a member of the team (and optionally a channel), with a working token. */
export function seedBot(w: World, username = 'backup-bot', channelId?: string): { id: string; token: string } {
  const { user } = w.rest.state.addBot({ username, ownerId: w.admin.id });
  w.rest.state.addMember(w.teamId, user.id);
  if (channelId) w.rest.state.addMember(channelId, user.id);
  return { id: user.id, token: w.rest.state.createAccessToken(user.id).token };
}
