// Connect, done from the browser with the admin's own session: the page cannot read the
// HttpOnly session token to hand it to the sidecar, so it creates (or reuses) the bot
// @mm-backup itself, adds it to the status channel, issues the bot's token, registers /backup
// in every team (a bot cannot), and gives only those tokens to the sidecar
// (POST /v1/connect {bot_token, command_tokens}).

import type {Command} from '@mattermost/types/integrations';

import type {BridgeClient} from 'src/client/bridge_client';
import type {CommandToken, ConnectReport} from '@mm-backup/api';
import {BridgeClientError} from 'src/client/http_error';
import type {MattermostClient} from 'src/client/mattermost_client';
import {LocalizedError} from 'src/i18n';
import type {LocalMessage, Text} from 'src/i18n';

// The bot's, its token's and the command's names and descriptions below are stored in
// Mattermost and shown to every user whatever their language: data, not translatable UI text.
export const BOT = {
    username: 'mm-backup',
    display_name: 'Backup',
    description: 'Backup & Disaster Recovery status and /backup',
};

/** A Mattermost setting that blocks Connect; the page offers to switch it on. */
export type BlockingSetting =
    'EnableBotAccountCreation' | 'EnableUserAccessTokens' | 'EnableCommands' | 'AllowedUntrustedInternalConnections';

/** `local` is what to tell the admin (the panel renders it); `message` is its English text. */
export class ConnectBlockedError extends LocalizedError {
    /** `value`: what to set (for a list setting, the current list plus what is missing). */
    constructor(
        readonly setting: BlockingSetting,
        local: LocalMessage,
        readonly value: boolean | string = true,
    ) {
        super(local);
        this.name = 'ConnectBlockedError';
    }
}

/**
 * What Connect reports: the sidecar's report (its problems are its own strings), plus the
 * problems found here as translatable messages; each of those is about registering /backup.
 */
export type ConnectResult = Omit<ConnectReport, 'problems'> & {problems: Text[]};

async function botUserId(mm: MattermostClient): Promise<string> {
    try {
        const existing = await mm.getUserByUsername(BOT.username);
        if (!existing.is_bot) {
            throw new LocalizedError({
                id: 'mattermost-backup.connect.error.user_exists',
                defaultMessage: 'a regular user named @{username} exists; rename or remove it first',
                values: {username: BOT.username},
            });
        }
        return existing.id;
    } catch (err) {
        if (!(err instanceof BridgeClientError && err.status === 404)) {
            throw err;
        }
    }
    try {
        return (await mm.createBot(BOT)).user_id;
    } catch (err) {
        if (err instanceof BridgeClientError && err.id === 'api.bot.create_disabled') {
            throw new ConnectBlockedError('EnableBotAccountCreation', {
                id: 'mattermost-backup.connect.blocked.bots',
                defaultMessage: 'Mattermost does not allow creating bot accounts.',
            });
        }
        throw err;
    }
}

/** Adds the bot to the status channel's team and channel; the sidecar's bot-token connect cannot. */
async function joinStatusChannel(mm: MattermostClient, statusChannel: string | null, botId: string): Promise<void> {
    if (!statusChannel) {
        return;
    }
    const [teamName = '', channelName = ''] = statusChannel.split('/');
    const team = await mm.getTeamByName(teamName);
    const channel = await mm.getChannelByNameAndTeamName(teamName, channelName);
    await mm.addToTeam(team.id, botId);
    await mm.addToChannel(botId, channel.id);
}

/** Mattermost refuses to call loopback or private addresses unless they are allowed (FACTS §d). */
function isInternal(host: string): boolean {
    return (
        host === 'localhost' ||
        /^(127|10)\./.test(host) ||
        /^192\.168\./.test(host) ||
        /^172\.(1[6-9]|2\d|3[01])\./.test(host) ||
        host === '[::1]'
    );
}

/** Stops before anything is created when a Mattermost setting would make /backup fail. */
async function checkSettings(mm: MattermostClient, slashUrl: string | undefined): Promise<void> {
    const config = await mm.getConfig().catch(() => undefined);
    const svc = (config?.ServiceSettings ?? {}) as Record<string, unknown>;
    if (svc.EnableCommands === false) {
        throw new ConnectBlockedError('EnableCommands', {
            id: 'mattermost-backup.connect.blocked.commands',
            defaultMessage: 'Custom slash commands are disabled, so /backup cannot be registered.',
        });
    }
    if (!slashUrl) {
        return;
    }
    const host = new URL(slashUrl).hostname;
    const untrusted = svc.AllowedUntrustedInternalConnections;
    const allowed = (typeof untrusted === 'string' ? untrusted : '').split(/[\s,]+/).filter(Boolean);
    const entry = /^\d/.test(host) ? `${host}/32` : host;
    if (isInternal(host) && !allowed.includes(host) && !allowed.includes(entry)) {
        throw new ConnectBlockedError(
            'AllowedUntrustedInternalConnections',
            {
                id: 'mattermost-backup.connect.blocked.untrusted',
                defaultMessage:
                    'Mattermost refuses to send /backup to {origin} until "{entry}" is an allowed untrusted internal connection.',
                values: {origin: new URL(slashUrl).origin, entry},
            },
            [...allowed, entry].join(' '),
        );
    }
}

export async function connectFromBrowser(
    mm: MattermostClient,
    bridge: BridgeClient,
    statusChannel: string | null,
): Promise<ConnectResult> {
    const slashUrl = (await bridge.getConnect()).slash_url;
    await checkSettings(mm, slashUrl);
    const botId = await botUserId(mm);
    await joinStatusChannel(mm, statusChannel, botId);
    let token: string;
    try {
        token = (await mm.createUserAccessToken(botId, 'mm-backup sidecar (System Console)')).token ?? '';
    } catch (err) {
        if (err instanceof BridgeClientError && err.status === 501) {
            throw new ConnectBlockedError('EnableUserAccessTokens', {
                id: 'mattermost-backup.connect.blocked.tokens',
                defaultMessage: 'Mattermost does not allow personal access tokens, which the bot needs.',
            });
        }
        throw err;
    }
    const {tokens, problems} = await registerBackupCommand(mm, slashUrl);
    const report = await bridge.connect(token, tokens);
    return {
        ...report,
        problems: [...problems, ...report.problems.filter((p) => !/was not registered/.test(p) || tokens.length === 0)],
    };
}

/** Creates /backup in every team, or updates the one that is there; failures are reported per team. */
async function registerBackupCommand(
    mm: MattermostClient,
    url: string | undefined,
): Promise<{tokens: CommandToken[]; problems: LocalMessage[]}> {
    if (!url) {
        return {
            tokens: [],
            problems: [
                {
                    id: 'mattermost-backup.connect.problem.no_slash_url',
                    defaultMessage: 'the sidecar did not say where Mattermost should send /backup',
                },
            ],
        };
    }
    const tokens: CommandToken[] = [];
    const problems: LocalMessage[] = [];
    const spec = {
        trigger: 'backup',
        url,
        method: 'P' as const,
        auto_complete: true,
        auto_complete_desc: 'Back up, verify and restore Mattermost',
        auto_complete_hint: '[now|status|list|verify|restore|prune|help]',
        display_name: 'Backup',
        description: 'Backup & Disaster Recovery',
    };
    for (const team of await mm.getAllTeams()) {
        try {
            const found = (await mm.getCustomTeamCommands(team.id)).find((c) => c.trigger === 'backup');
            // Client4 types a new command as a whole Command; Mattermost fills in id, token, creator and times.
            const cmd = found
                ? await mm.editCommand({...found, ...spec, team_id: team.id})
                : await mm.addCommand({...spec, team_id: team.id} as Command);
            tokens.push({
                team_id: team.id,
                team_name: team.name,
                command_id: cmd.id,
                token: cmd.token || found?.token || '',
            });
        } catch (err) {
            problems.push({
                id: 'mattermost-backup.connect.problem.register_failed',
                defaultMessage: '/backup could not be registered in team {team}: {error}',
                values: {team: team.name, error: (err as Error).message},
            });
        }
    }
    return {tokens: tokens.filter((t) => t.token), problems};
}

/** Changes a blocking setting through the admin's session (PUT /api/v4/config/patch). */
export function enableSetting(mm: MattermostClient, setting: BlockingSetting, value: boolean | string = true) {
    return mm.patchConfig({ServiceSettings: {[setting]: value}});
}
