/**
 * `mm-backup connect`: with an admin token (used once, never stored) it creates or reuses the
 * bot, issues the bot's token, adds the bot to the status channel, and registers /backup in
 * every team (or the listed ones); with only a bot token it checks what it can. It also checks
 * the Mattermost settings that would block this and says exactly what to change.
 */
import { BridgeError } from '../core/errors';
import { MattermostApiError, MattermostClient, type MmTeam } from '../mattermost/client';
import type { Config } from '../config/schema';
import type { StateStore } from './state_store';
import { registerSecret } from '../core/redact';

export interface ConnectReport {
  bot_user_id?: string;
  bot_username?: string;
  status_channel?: string;
  commands: Array<{ team: string; status: 'created' | 'updated' | 'failed'; error?: string }>;
  problems: string[];
}

const BOT = { username: 'mm-backup', display_name: 'Backup', description: 'Backup & Disaster Recovery status and /backup' };

export interface CommandToken { team_id: string; team_name: string; command_id: string; token: string }

/** Where Mattermost sends /backup: the public URL (or the listen address) plus /v1/slash. */
export function slashUrl(cfg: Config): string {
  return `${(cfg.listen.publicUrl ?? `http://${cfg.listen.host}:${cfg.listen.port}`).replace(/\/$/, '')}/v1/slash`;
}

export async function connect(cfg: Config, state: StateStore, input: { adminToken?: string; botToken?: string; teams?: string[]; commandTokens?: CommandToken[] }): Promise<ConnectReport> {
  const report: ConnectReport = { commands: [], problems: [] };
  const base = cfg.mattermost.url;
  const admin = input.adminToken ? new MattermostClient(base, { token: input.adminToken }) : undefined;
  let botToken = input.botToken;
  let botId: string | undefined;

  if (admin) {
    const me = await admin.getMe();
    if (!me.roles.split(' ').includes('system_admin')) throw new BridgeError('PRECONDITION_FAILED', `the admin token belongs to @${me.username}, who is not a system admin`);
    const config = await admin.getConfig().catch(() => undefined);
    const svc = (config?.ServiceSettings ?? {}) as Record<string, unknown>;
    if (svc.EnableCommands === false) report.problems.push('Custom slash commands are off: set System Console > Integrations > Integration Management > Enable Custom Slash Commands to true (ServiceSettings.EnableCommands).');
    const callback = new URL(cfg.listen.publicUrl ?? `http://${cfg.listen.host}:${cfg.listen.port}`);
    const allowed = String(svc.AllowedUntrustedInternalConnections ?? '').split(/[\s,]+/).filter(Boolean);
    if (isInternal(callback.hostname) && !allowed.some((a) => a === callback.hostname || a.startsWith(`${callback.hostname}/`) || (callback.hostname === '127.0.0.1' && a === '127.0.0.0/8'))) {
      report.problems.push(`Mattermost refuses to call ${callback.origin} for /backup until ServiceSettings.AllowedUntrustedInternalConnections lists "${callback.hostname}${/^\d/.test(callback.hostname) ? '/32' : ''}" (System Console > Environment > Developer > Allow untrusted internal connections to).`);
    }
    // Reuse the bot if it exists, so tokens and posts keep one identity across reconnects.
    const existing = await admin.getUserByUsername(BOT.username).catch((err: unknown) => {
      if (err instanceof MattermostApiError && err.status === 404) return undefined;
      throw err;
    });
    if (existing && !existing.is_bot) throw new BridgeError('PRECONDITION_FAILED', `a regular user named @${BOT.username} exists; rename it or remove it first`);
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
    botToken = (await admin.createToken(botId, 'mm-backup sidecar')).token;
  }
  if (!botToken) throw new BridgeError('USAGE', 'connect needs an admin token (to set everything up) or a bot token');
  const bot = new MattermostClient(base, { token: botToken });
  const me = await bot.getMe().catch((err: unknown) => {
    throw new BridgeError('PRECONDITION_FAILED', `the bot token does not work: ${(err as Error).message}`);
  });
  botId ??= me.id;
  report.bot_user_id = botId;
  report.bot_username = me.username;

  if (cfg.mattermost.statusChannel) {
    const [teamName = '', channelName = ''] = cfg.mattermost.statusChannel.split('/');
    const lookup = admin ?? bot;
    try {
      const team = await lookup.getTeamByName(teamName);
      const channel = await lookup.getChannelByName(teamName, channelName);
      if (admin) {
        await admin.addTeamMember(team.id, botId);
        await admin.addChannelMember(channel.id, botId);
      }
      report.status_channel = `${teamName}/${channelName}`;
    } catch (err) {
      report.problems.push(`status channel ${cfg.mattermost.statusChannel}: ${(err as Error).message}${admin ? '' : ' (with only a bot token, an admin must add the bot to that team and channel)'}`);
    }
  } else {
    report.problems.push('mattermost.statusChannel is not set: no status posts will be made');
  }

  const commands = { ...state.get().commands };
  if (admin) {
    const url = slashUrl(cfg);
    const teams: MmTeam[] = (await admin.getTeams()).filter((t) => !input.teams?.length || input.teams.includes(t.name));
    for (const team of teams) {
      try {
        const found = (await admin.listCommands(team.id)).find((c) => c.trigger === 'backup');
        const spec = {
          team_id: team.id, trigger: 'backup', url, method: 'P', auto_complete: true,
          auto_complete_desc: 'Back up, verify and restore Mattermost', auto_complete_hint: '[now|status|list|verify|restore|prune|help]',
          display_name: 'Backup', description: 'Backup & Disaster Recovery',
        };
        const cmd = found ? await admin.updateCommand({ ...found, ...spec }) : await admin.createCommand(spec);
        commands[team.id] = { command_id: cmd.id, token: cmd.token ?? found?.token ?? '', team_name: team.name };
        report.commands.push({ team: team.name, status: found ? 'updated' : 'created' });
      } catch (err) {
        report.commands.push({ team: team.name, status: 'failed', error: (err as Error).message });
        if (err instanceof MattermostApiError && err.status === 501) report.problems.push('Custom slash commands are disabled (ServiceSettings.EnableCommands).');
      }
    }
  } else if (input.commandTokens?.length) {
    for (const c of input.commandTokens) {
      registerSecret(c.token);
      commands[c.team_id] = { command_id: c.command_id, token: c.token, team_name: c.team_name };
      report.commands.push({ team: c.team_name, status: 'updated' });
    }
  } else {
    report.problems.push('/backup was not registered: registering commands needs an admin token (a bot cannot create slash commands)');
  }
  await state.update({ bot_user_id: botId, bot_token: botToken, commands, connected_at: new Date().toISOString() });
  return report;
}

function isInternal(host: string): boolean {
  return host === 'localhost' || /^127\./.test(host) || /^10\./.test(host) || /^192\.168\./.test(host) || /^172\.(1[6-9]|2\d|3[01])\./.test(host) || host === '::1';
}
