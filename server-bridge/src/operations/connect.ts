/**
 * `mm-backup connect`: with an admin token (used once, never stored) it creates or reuses the
 * bot, issues the bot's token, adds the bot to the status channel, and registers /backup in
 * every team (or the listed ones); with only a bot token it checks what it can. It also checks
 * the Mattermost settings that would block this and says exactly what to change.
 */
import { BridgeError } from '../core/errors';
import { constantTimeEqual } from '../core/constant_time';
import type { Command } from '@mattermost/types/integrations';
import type { Team } from '@mattermost/types/teams';
import { MattermostApiError, MattermostClient } from '../mattermost/client';
import type { Config } from '../config/schema';
import type { SidecarState, StateStore } from './state_store';
import { registerSecret } from '../core/redact';

export interface ConnectReport {
  bot_user_id?: string;
  bot_username?: string;
  status_channel?: string;
  commands: Array<{ team: string; status: 'created' | 'updated' | 'failed'; error?: string }>;
  problems: string[];
}

const BOT = {
  username: 'mm-backup',
  display_name: 'Backup',
  description: 'Backup & Disaster Recovery status and /backup',
};

export interface CommandToken {
  team_id: string;
  team_name: string;
  command_id: string;
  token: string;
}

/** Where Mattermost sends /backup: the public URL (or the listen address) plus /v1/slash. */
export function slashUrl(cfg: Config): string {
  return `${(cfg.listen.publicUrl ?? `http://${cfg.listen.host}:${cfg.listen.port}`).replace(/\/$/, '')}/v1/slash`;
}

/** What connect works with; tokens are secrets and never appear in the report or errors. */
export interface ConnectInput {
  adminToken?: string;
  botToken?: string;
  teams?: string[];
  /** /backup commands the System Console page registered; each is checked with `verifier`. */
  commandTokens?: CommandToken[];
  /** The calling admin's own session: it proves each command token is a real /backup command. */
  verifier?: MattermostClient;
}

export async function connect(cfg: Config, state: StateStore, input: ConnectInput): Promise<ConnectReport> {
  const report: ConnectReport = { commands: [], problems: [] };
  const base = cfg.mattermost.url;
  const admin = input.adminToken ? new MattermostClient(base, { token: input.adminToken }) : undefined;
  let botToken = input.botToken;
  let botId: string | undefined;

  if (admin) {
    const me = await admin.getMe();
    if (!me.roles.split(' ').includes('system_admin')) {
      throw new BridgeError(
        'PRECONDITION_FAILED',
        `the admin token belongs to @${me.username}, who is not a system admin`,
      );
    }
    const config = await admin.getConfig().catch(() => undefined);
    const svc = (config?.ServiceSettings ?? {}) as Record<string, unknown>;
    if (svc.EnableCommands === false) {
      report.problems.push(
        'Custom slash commands are off: set System Console > Integrations > Integration Management > Enable Custom Slash Commands to true (ServiceSettings.EnableCommands).',
      );
    }
    const callback = new URL(cfg.listen.publicUrl ?? `http://${cfg.listen.host}:${cfg.listen.port}`);
    const untrusted = svc.AllowedUntrustedInternalConnections;
    const allowed = (typeof untrusted === 'string' ? untrusted : '').split(/[\s,]+/).filter(Boolean);
    if (
      isInternal(callback.hostname) &&
      !allowed.some(
        (a) =>
          a === callback.hostname ||
          a.startsWith(`${callback.hostname}/`) ||
          (callback.hostname === '127.0.0.1' && a === '127.0.0.0/8'),
      )
    ) {
      report.problems.push(
        `Mattermost refuses to call ${callback.origin} for /backup until ServiceSettings.AllowedUntrustedInternalConnections lists "${callback.hostname}${/^\d/.test(callback.hostname) ? '/32' : ''}" (System Console > Environment > Developer > Allow untrusted internal connections to).`,
      );
    }
    // Reuse the bot if it exists, so tokens and posts keep one identity across reconnects.
    const existing = await admin.getUserByUsername(BOT.username).catch((err: unknown) => {
      if (err instanceof MattermostApiError && err.status === 404) return undefined;
      throw err;
    });
    if (existing && !existing.is_bot) {
      throw new BridgeError(
        'PRECONDITION_FAILED',
        `a regular user named @${BOT.username} exists; rename it or remove it first`,
      );
    }
    if (existing) {
      botId = existing.id;
    } else {
      try {
        botId = (await admin.createBot(BOT)).user_id;
      } catch (err) {
        if (err instanceof MattermostApiError && err.errorId === 'api.bot.create_disabled') {
          throw new BridgeError('PRECONDITION_FAILED', 'Mattermost does not allow creating bot accounts', {
            hint: 'set System Console > Integrations > Bot Accounts > Enable Bot Account Creation to true (ServiceSettings.EnableBotAccountCreation), then connect again',
          });
        }
        throw err;
      }
    }
    botToken = (await admin.createUserAccessToken(botId, 'mm-backup sidecar')).token;
  }
  if (!botToken) throw new BridgeError('USAGE', 'connect needs an admin token (to set everything up) or a bot token');
  const bot = new MattermostClient(base, { token: botToken });
  const me = await bot.getMe().catch((err: unknown) => {
    throw new BridgeError('PRECONDITION_FAILED', `the bot token does not work: ${(err as Error).message}`);
  });
  // The sidecar acts and posts as this account and answers /backup for it: a person's token
  // (an admin's, say) would hand that person's powers to whoever can reach the sidecar's state.
  if (!me.is_bot) {
    throw new BridgeError(
      'PRECONDITION_FAILED',
      `the bot token belongs to @${me.username}, which is not a bot account`,
      {
        hint: "use the token of a bot account (connect with an admin token creates @mm-backup and its token), never a person's token",
      },
    );
  }
  botId ??= me.id;
  report.bot_user_id = botId;
  report.bot_username = me.username;

  if (cfg.mattermost.statusChannel) {
    const [teamName = '', channelName = ''] = cfg.mattermost.statusChannel.split('/');
    const lookup = admin ?? bot;
    try {
      const team = await lookup.getTeamByName(teamName);
      const channel = await lookup.getChannelByNameAndTeamName(teamName, channelName);
      if (admin) {
        await admin.addToTeam(team.id, botId);
        await admin.addToChannel(botId, channel.id);
      }
      report.status_channel = `${teamName}/${channelName}`;
    } catch (err) {
      report.problems.push(
        `status channel ${cfg.mattermost.statusChannel}: ${(err as Error).message}${admin ? '' : ' (with only a bot token, an admin must add the bot to that team and channel)'}`,
      );
    }
  } else {
    report.problems.push('mattermost.statusChannel is not set: no status posts will be made');
  }

  const commands = { ...state.get().commands };
  if (input.commandTokens?.length) {
    // Checked before anything is stored: a forged token would let anyone run /backup.
    await checkCommandTokens(cfg, input.commandTokens, input.verifier, report);
    for (const c of input.commandTokens) {
      registerSecret(c.token);
      commands[c.team_id] = { command_id: c.command_id, token: c.token, team_name: c.team_name };
      report.commands.push({ team: c.team_name, status: 'updated' });
    }
  } else {
    // An admin token can always register /backup; a bot can when it was given a role that may
    // manage slash commands. Only Mattermost's refusal leads to the guidance.
    const refused = await registerCommands(cfg, admin ?? bot, input.teams, commands, report);
    if (refused) {
      report.problems.push(
        `/backup was not registered: Mattermost does not let @${me.username} manage slash commands (${refused}). Run \`mm-backup connect --admin-token-file FILE\` once (or Connect on the System Console page), or give the bot a role that may manage slash commands in its teams.`,
      );
    }
  }
  await state.update({ bot_user_id: botId, bot_token: botToken, commands, connected_at: new Date().toISOString() });
  return report;
}

/**
 * Creates or updates /backup in every team `client` sees (or the listed ones). Returns
 * Mattermost's message when it refuses the permission, so the caller can explain.
 */
async function registerCommands(
  cfg: Config,
  client: MattermostClient,
  only: string[] | undefined,
  commands: SidecarState['commands'],
  report: ConnectReport,
): Promise<string | undefined> {
  const url = slashUrl(cfg);
  let teams: Team[];
  try {
    teams = (await client.getAllTeams()).filter((t) => !only?.length || only.includes(t.name));
  } catch (err) {
    if (err instanceof MattermostApiError && err.status === 403) return err.message;
    throw err;
  }
  for (const team of teams) {
    try {
      const found = (await client.getCustomTeamCommands(team.id)).find((c) => c.trigger === 'backup');
      const spec = {
        team_id: team.id,
        trigger: 'backup',
        url,
        method: 'P' as const,
        auto_complete: true,
        auto_complete_desc: 'Back up, verify and restore Mattermost',
        auto_complete_hint: '[now|status|list|verify|restore|prune|help]',
        display_name: 'Backup',
        description: 'Backup & Disaster Recovery',
      } satisfies Partial<Command>;
      // Client4 types a new command as a whole Command; Mattermost fills in id, token, creator and times.
      const cmd = found ? await client.editCommand({ ...found, ...spec }) : await client.addCommand(spec as Command);
      // An answer that carries no token keeps the one we knew.
      commands[team.id] = { command_id: cmd.id, token: cmd.token || found?.token || '', team_name: team.name };
      report.commands.push({ team: team.name, status: found ? 'updated' : 'created' });
    } catch (err) {
      if (err instanceof MattermostApiError && err.status === 403) return err.message;
      report.commands.push({ team: team.name, status: 'failed', error: (err as Error).message });
      if (err instanceof MattermostApiError && err.status === 501) {
        report.problems.push('Custom slash commands are disabled (ServiceSettings.EnableCommands).');
      }
    }
  }
  if (teams.length === 0) {
    report.problems.push('/backup was not registered: no team to register it in is visible to this token');
  }
  return undefined;
}

/**
 * Each given command must be the /backup command Mattermost holds for that team, with that
 * token, as the calling admin can see it (a bot cannot read commands). Throws on the first
 * that is not; notes one that calls another address than this sidecar.
 */
async function checkCommandTokens(
  cfg: Config,
  tokens: CommandToken[],
  verifier: MattermostClient | undefined,
  report: ConnectReport,
): Promise<void> {
  if (!verifier) {
    throw new BridgeError(
      'USAGE',
      'command tokens are accepted only from a signed-in system admin, who can prove them',
    );
  }
  for (const c of tokens) {
    let cmd: Pick<Command, 'team_id' | 'trigger' | 'token' | 'url' | 'delete_at'>;
    try {
      cmd = await verifier.getCommand(c.command_id);
    } catch (err) {
      if (err instanceof MattermostApiError && (err.status === 404 || err.status === 403 || err.status === 400)) {
        cmd = { team_id: '', trigger: '', url: '', token: '', delete_at: 0 };
      } else throw err;
    }
    if (
      cmd.team_id !== c.team_id ||
      cmd.trigger !== 'backup' ||
      cmd.delete_at ||
      !constantTimeEqual(cmd.token || '', c.token)
    ) {
      throw new BridgeError(
        'PRECONDITION_FAILED',
        `the command given for team ${c.team_name} is not that team's /backup command in Mattermost (unknown id, other team or trigger, or wrong token)`,
        {
          hint: 'register /backup again (Connect on the System Console page does it), then connect',
        },
      );
    }
    if (cmd.url !== slashUrl(cfg)) {
      report.problems.push(
        `/backup in team ${c.team_name} calls ${cmd.url}, not this sidecar (${slashUrl(cfg)}): connect again to update it`,
      );
    }
  }
}

function isInternal(host: string): boolean {
  return (
    host === 'localhost' ||
    /^127\./.test(host) ||
    /^10\./.test(host) ||
    /^192\.168\./.test(host) ||
    /^172\.(1[6-9]|2\d|3[01])\./.test(host) ||
    host === '::1'
  );
}
