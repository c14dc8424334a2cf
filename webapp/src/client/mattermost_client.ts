// The few Mattermost REST calls the page makes with the admin's own session: teams and
// channels for the status-channel picker, and the bot setup of Connect. Plain fetch with
// Client4's headers instead of bundling mattermost-redux's Client4 (a large dependency for
// six calls). `siteUrl` is '' when Mattermost is served at the root path.

import {mattermostHeaders} from './csrf';
import {requestJson} from './http_error';

export type MmTeam = {id: string; name: string; display_name: string};
export type MmChannel = {id: string; name: string; display_name: string; type: string; team_id: string};
export type MmUser = {id: string; username: string; is_bot?: boolean};
export type MmCommand = {id: string; team_id: string; trigger: string; url: string; method: string; token: string};

export class MattermostClient {
    constructor(readonly siteUrl = '') {}

    private call<T>(method: 'GET' | 'POST' | 'PUT', route: string, body?: unknown): Promise<T> {
        return requestJson<T>(`${this.siteUrl}/api/v4${route}`, {method, headers: mattermostHeaders(method), body});
    }

    getMyTeams() {
        return this.call<MmTeam[]>('GET', '/users/me/teams');
    }

    getMyChannels(teamId: string) {
        return this.call<MmChannel[]>('GET', `/users/me/teams/${encodeURIComponent(teamId)}/channels`);
    }

    getUserByUsername(username: string) {
        return this.call<MmUser>('GET', `/users/username/${encodeURIComponent(username)}`);
    }

    createBot(bot: {username: string; display_name: string; description: string}) {
        return this.call<{user_id: string; username: string}>('POST', '/bots', bot);
    }

    createToken(userId: string, description: string) {
        return this.call<{token: string; id: string}>('POST', `/users/${encodeURIComponent(userId)}/tokens`, {description});
    }

    patchConfig(patch: Record<string, unknown>) {
        return this.call<Record<string, unknown>>('PUT', '/config/patch', patch);
    }

    addTeamMember(teamId: string, userId: string) {
        return this.call<unknown>('POST', `/teams/${encodeURIComponent(teamId)}/members`, {team_id: teamId, user_id: userId});
    }

    addChannelMember(channelId: string, userId: string) {
        return this.call<unknown>('POST', `/channels/${encodeURIComponent(channelId)}/members`, {user_id: userId});
    }

    /** Custom slash commands of a team; needs manage_slash_commands permissions there. */
    listCommands(teamId: string) {
        return this.call<MmCommand[]>('GET', `/commands?${new URLSearchParams({team_id: teamId, custom_only: 'true'})}`);
    }

    /** Every team (system admins see all of them). */
    getTeams() {
        return this.call<MmTeam[]>('GET', '/teams');
    }

    createCommand(command: Omit<MmCommand, 'id' | 'token'> & Record<string, unknown>) {
        return this.call<MmCommand>('POST', '/commands', command);
    }

    updateCommand(command: MmCommand & Record<string, unknown>) {
        return this.call<MmCommand>('PUT', `/commands/${encodeURIComponent(command.id)}`, command);
    }

    /** The admin config (System Console read permission); holds this plugin's settings. */
    getConfig() {
        return this.call<Record<string, unknown>>('GET', '/config');
    }

    getTeamByName(name: string) {
        return this.call<MmTeam>('GET', `/teams/name/${encodeURIComponent(name)}`);
    }

    getChannelByNames(teamName: string, channelName: string) {
        return this.call<MmChannel>('GET', `/teams/name/${encodeURIComponent(teamName)}/channels/name/${encodeURIComponent(channelName)}`);
    }
}
