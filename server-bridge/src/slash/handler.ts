/**
 * Answers Mattermost's slash-command request (FACTS §d) within its 3-second budget: checks the
 * command token in constant time, looks the user up with the bot token and requires a system
 * admin, starts long work as a job (results arrive as channel posts) and replies ephemerally.
 */
import { asBridgeError } from '../core/errors';
import { redact } from '../core/redact';
import { constantTimeEqual } from '../core/constant_time';
import type { MattermostClient } from '../mattermost/client';
import { isSystemAdmin } from '../mattermost/client';
import type { OperationJobs } from '../operations';
import type { RestoreAtDescription } from '../operations/restore_at_describe';
import type { RestoreConfirmations } from '../operations/restore_confirmations';
import { escapeMarkdown as md } from '../status/markdown';
import { HELP, parseSlash } from './parse';

/** Mattermost's slash-command request as the HTTP route received it (the form and its Authorization header). */
export interface SlashRequest {
  form: Record<string, string>;
  authorization?: string;
}

export interface SlashDeps {
  /** Command token per team id, as registered by connect. */
  commandTokens(): Record<string, string>;
  /** Called for every request that carries a valid command token. */
  onAuthenticated?(): void;
  bot(): MattermostClient | undefined;
  jobs: Pick<OperationJobs, 'start'>;
  restores: RestoreConfirmations;
  statusText(): Promise<string>;
  listText(): Promise<string>;
  describeRestore(snapshotId: string): Promise<{ snapshotId: string; overwrites: string[]; versionCheck: string }>;
  /** A point-in-time restore described for its confirmation (every refusal of `restore --at` said here). */
  describeRestoreAt(at: string): Promise<RestoreAtDescription>;
}

type Reply = { response_type: 'ephemeral' | 'in_channel'; text: string };
const say = (text: string): Reply => ({ response_type: 'ephemeral', text });

export async function handleSlash(req: SlashRequest, deps: SlashDeps): Promise<Reply> {
  const sent = req.form.token ?? /^Token\s+(\S+)$/.exec(req.authorization ?? '')?.[1] ?? '';
  const header = /^Token\s+(\S+)$/.exec(req.authorization ?? '')?.[1];
  // Tokens are per team: a token is only good for the team it was registered in.
  const expected = deps.commandTokens()[req.form.team_id ?? ''] ?? '';
  const ok =
    !!sent &&
    !!expected &&
    constantTimeEqual(expected, sent) &&
    (header === undefined || constantTimeEqual(header, sent));
  if (!ok) {
    return say(
      'This /backup command is not registered with the backup sidecar (unknown command token). An admin can run `mm-backup connect` to register it again.',
    );
  }
  deps.onAuthenticated?.();
  const bot = deps.bot();
  if (!bot) return say('The backup sidecar has no bot token yet: run `mm-backup connect`.');
  let user;
  try {
    // Client4 puts the id into the path as given; it comes from the request, so it is encoded.
    user = await bot.getUser(encodeURIComponent(req.form.user_id ?? ''));
  } catch {
    return say('The backup sidecar could not look you up in Mattermost; try again in a moment.');
  }
  if (!isSystemAdmin(user)) return say('Only system admins can manage backups.');
  const c = parseSlash(req.form.text ?? '');
  try {
    switch (c.cmd) {
      case 'help':
        return say(c.problem ? `${c.problem}\n\n${HELP}` : HELP);
      case 'status':
        return say(await deps.statusText());
      case 'list':
        return say(await deps.listText());
      case 'now': {
        const rec = await deps.jobs.start({
          kind: 'backup',
          trigger: 'slash',
          requestedBy: user.username,
          mode: c.mode,
          logical: c.logical || undefined,
        });
        return say(
          `Backup started (job \`${rec.id}\`${c.mode ? `, ${c.mode}` : ''}${c.logical ? ', with a logical dump' : ''}). Progress is posted in the status channel.`,
        );
      }
      case 'verify': {
        const rec = await deps.jobs.start({
          kind: 'verify',
          trigger: 'slash',
          requestedBy: user.username,
          snapshotId: c.snapshot,
          deep: c.deep,
        });
        return say(
          `Verification of \`${c.snapshot}\` started (job \`${rec.id}\`${c.deep ? ', with a restore drill' : ''}).`,
        );
      }
      case 'prune': {
        const rec = await deps.jobs.start({ kind: 'prune', trigger: 'slash', requestedBy: user.username });
        return say(`Pruning started (job \`${rec.id}\`).`);
      }
      case 'restore-at':
        return say(await restoreAt(c, user, deps));
      case 'restore':
      default: {
        if (!c.confirm) {
          const d = await deps.describeRestore(c.snapshot);
          const p = deps.restores.create({ snapshotId: d.snapshotId, userId: user.id, overwrites: d.overwrites });
          const code = p.token.slice(0, 8);
          return say(
            [
              `**Restoring \`${d.snapshotId}\` will overwrite:**`,
              ...d.overwrites.map((o) => `- ${md(o)}`),
              `Version check: ${md(d.versionCheck)}`,
              'Mattermost is stopped during the restore; a safety snapshot of the current state is taken first.',
              `To go ahead within 5 minutes, run: \`/backup restore ${d.snapshotId} confirm ${code}\``,
            ].join('\n'),
          );
        }
        const p = deps.restores.byCode(c.confirm, user.id);
        // A point-in-time confirmation names its file snapshot too: never taken as a snapshot restore's.
        if (!p || p.at !== undefined || p.snapshotId !== c.snapshot) {
          return say(
            'That confirmation code is unknown, expired or for another snapshot. Run `/backup restore <id>` again.',
          );
        }
        deps.restores.consume(p.token, user.id);
        const rec = await deps.jobs.start({
          kind: 'restore',
          trigger: 'slash',
          requestedBy: user.username,
          snapshotId: p.snapshotId,
        });
        return say(
          `Restore of \`${p.snapshotId}\` started (job \`${rec.id}\`). Mattermost will be unavailable for a while; the outcome is posted in the status channel.`,
        );
      }
    }
  } catch (err) {
    const e = asBridgeError(err);
    // Messages quote paths and database names: shown as written, never as Markdown.
    return say(`Could not do that: ${md(redact(e.message))}${e.hint ? `\n${md(redact(e.hint))}` : ''}`);
  }
}

/**
 * `/backup restore --at <time|latest>`: the snapshot restore's two steps. The first describes
 * (the CLI's preparation: refusals now, with nothing changed) and answers a code; the second,
 * with the same target and the code, from the same admin within 5 minutes, starts the job.
 */
async function restoreAt(
  c: { at: string; confirm?: string },
  user: { id: string; username: string },
  deps: SlashDeps,
): Promise<string> {
  if (!c.confirm) {
    const d = await deps.describeRestoreAt(c.at);
    const p = deps.restores.create({
      snapshotId: d.filesSnapshotId,
      at: d.at,
      userId: user.id,
      overwrites: d.overwrites,
    });
    return [
      `**Restoring the database to ${d.at === 'latest' ? 'the end of the archived WAL (latest)' : d.at} will overwrite:**`,
      ...d.overwrites.map((o) => `- ${md(o)}`),
      ...d.warnings.map((w) => `⚠️ ${md(w)}`),
      'Mattermost and PostgreSQL are stopped during the restore; a safety snapshot of the files is taken first and the current data directory is kept.',
      `To go ahead within 5 minutes, run: \`/backup restore --at ${d.at} confirm ${p.token.slice(0, 8)}\``,
    ].join('\n');
  }
  const p = deps.restores.byCode(c.confirm, user.id);
  if (!p || p.at !== c.at) {
    return 'That confirmation code is unknown, expired or for another target. Run `/backup restore --at <time>` again.';
  }
  deps.restores.consume(p.token, user.id);
  const rec = await deps.jobs.start({
    kind: 'restore',
    trigger: 'slash',
    requestedBy: user.username,
    restore: { at: p.at },
  });
  return `Restore of the database to ${p.at} started (job \`${rec.id}\`). Mattermost will be unavailable for a while; the outcome is posted in the status channel.`;
}
