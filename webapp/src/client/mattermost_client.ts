// The Mattermost REST calls the page makes with the admin's own session (teams and channels
// for the status-channel picker, the bot and /backup setup of Connect): Mattermost's own
// Client4 from @mattermost/client, as Playbooks and Calls use it. Mattermost does not hand a
// configured Client4 to plugins, so the page makes its own with the site URL ('' when
// Mattermost is served at the root path); in the browser Client4 sends the session cookie
// and the MMCSRF token by itself. Errors become the webapp's one error type, BridgeClientError.

import {Client4, ClientError} from '@mattermost/client';
import type {Channel} from '@mattermost/types/channels';
import type {Options} from '@mattermost/types/client4';
import type {Team} from '@mattermost/types/teams';

import {BridgeClientError} from './http_error';

export type MmTeam = Pick<Team, 'id' | 'name' | 'display_name'>;
export type MmChannel = Pick<Channel, 'id' | 'name' | 'display_name' | 'type' | 'team_id'>;

/** Teams per page when listing every team (Mattermost's maximum). */
const TEAMS_PER_PAGE = 200;

export class MattermostClient extends Client4 {
    constructor(readonly siteUrl = '') {
        super();
        this.setUrl(siteUrl.replace(/\/+$/, ''));
        const send = this.doFetch;

        // Translated once here: callers branch on `status` and `id`, as with the sidecar's errors.
        this.doFetch = async <T>(url: string, options: Options): Promise<T> => {
            try {
                return await send<T>(url, options);
            } catch (err) {
                throw toBridgeClientError(err);
            }
        };
    }

    /**
     * Every team (system admins see all of them), page by page. Client4's getTeams reads one
     * page of 60 and adds parameters (for_directory) the API description does not have.
     */
    async getAllTeams(): Promise<Team[]> {
        const teams: Team[] = [];
        for (let page = 0; ; page++) {
            const batch = await this.doFetch<Team[]>(
                `${this.getTeamsRoute()}?page=${page}&per_page=${TEAMS_PER_PAGE}`,
                {method: 'get'},
            );
            teams.push(...batch);
            if (batch.length < TEAMS_PER_PAGE) {
                return teams;
            }
        }
    }
}

/**
 * A ClientError carries Mattermost's error body (status_code, id); an answer without one (a
 * proxy's page) has no status to keep and counts as no answer (status 0), like a network error.
 */
function toBridgeClientError(err: unknown): BridgeClientError {
    if (err instanceof BridgeClientError) {
        return err;
    }
    if (err instanceof ClientError && err.status_code) {
        return new BridgeClientError(err.status_code, err.server_error_id ?? 'http', err.message, {cause: err});
    }
    if (err instanceof ClientError) {
        return BridgeClientError.local(0, 'not_mattermost', {
            id: 'mattermost-backup.error.not_mattermost',
            defaultMessage: 'the answer was not from Mattermost (a proxy in between?)',
        });
    }
    return new BridgeClientError(0, 'network', err instanceof Error ? err.message : String(err), {cause: err});
}
