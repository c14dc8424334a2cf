/**
 * One status-channel notice from a process that has no sidecar (a CLI job that repaired a killed
 * job). Same delivery as the sidecar's (ChannelReporter: retried while Mattermost is down), but
 * bounded: a CLI run never waits more than `timeoutMs` for Mattermost to take it.
 */
import type { Config } from '../config/schema';
import { MattermostClient } from '../mattermost/client';
import { ChannelReporter } from './channel_reporter';

/**
 * Resolves true once posted; false when not connected (no bot `token`), no channel is set, or it
 * timed out.
 */
export async function postNotice(
  cfg: Config,
  token: string | undefined,
  message: string,
  timeoutMs = 15_000,
): Promise<boolean> {
  const name = cfg.mattermost.statusChannel;
  if (!token || !name) return false;
  const client = new MattermostClient(cfg.mattermost.url, { token });
  const [team = '', channel = ''] = name.split('/');
  const reporter = new ChannelReporter({
    client: () => client,
    channelId: async () => (await client.getChannelByNameAndTeamName(team, channel)).id,
    successes: () => 'none',
    retryMs: 1000,
    log: () => undefined,
  });
  reporter.notice(message);
  const ok = await reporter.flushed(timeoutMs);
  reporter.stop();
  return ok && reporter.delivered.length > 0;
}
