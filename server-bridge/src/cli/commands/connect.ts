/**
 * `mm-backup connect`: sets up the bot, its token, the status channel and /backup. Tokens are
 * read from 0600 files, the environment or the config, never from the command line. A running
 * `serve` picks up what this writes without a restart (see StateStore).
 */
import { readSecretFile, loadConfig } from '../../config/load';
import { UsageError } from '../../core/errors';
import { registerSecret } from '../../core/redact';
import { connect } from '../../operations/connect';
import { StateStore } from '../../operations/state_store';
import { createOutput } from '../render';
import type { GlobalOptions } from './shared';

export interface ConnectFlags {
  adminTokenFile?: string;
  botTokenFile?: string;
  teams?: string;
}

export async function connectCommand(globals: GlobalOptions, flags: ConnectFlags): Promise<void> {
  const file = globals.config ?? process.env.MM_BACKUP_CONFIG;
  if (!file) throw new UsageError('no config file: pass --config FILE (or set MM_BACKUP_CONFIG)');
  const cfg = await loadConfig(file);
  const adminToken = flags.adminTokenFile
    ? await readSecretFile(flags.adminTokenFile, '--admin-token-file')
    : process.env.MM_BACKUP_ADMIN_TOKEN;
  // A bot token already in the config (mattermost.botToken or botTokenFile, read by loadConfig) is used as given.
  const botToken = flags.botTokenFile
    ? await readSecretFile(flags.botTokenFile, '--bot-token-file')
    : process.env.MM_BACKUP_BOT_TOKEN || cfg.mattermost.botToken;
  if (!adminToken && !botToken) {
    throw new UsageError(
      'connect needs --admin-token-file (or MM_BACKUP_ADMIN_TOKEN) to set everything up, or a bot token from --bot-token-file, MM_BACKUP_BOT_TOKEN or the config (mattermost.botToken or botTokenFile)',
    );
  }
  registerSecret(adminToken);
  registerSecret(botToken);
  const report = await connect(cfg, await StateStore.open(cfg.repository.path), {
    adminToken,
    botToken: adminToken ? undefined : botToken,
    teams: flags.teams
      ?.split(',')
      .map((t) => t.trim())
      .filter(Boolean),
  });
  const text = [
    `Bot: @${report.bot_username ?? '?'} (${report.bot_user_id ?? '?'}); its token is stored in ${cfg.repository.path}/sidecar-state.json (0600).`,
    `Status channel: ${report.status_channel ?? 'not set up'}`,
    ...report.commands.map((c) => `/backup in team ${c.team}: ${c.status}${c.error ? ` (${c.error})` : ''}`),
    ...report.problems.map((p) => `to fix: ${p}`),
  ].join('\n');
  createOutput(!!globals.json).summary({ ok: report.problems.length === 0, ...report }, text);
}
