/** Short, phone-readable status messages. */
import { JOB_KIND_TITLES } from '../jobs/events';
import type { JobRecord } from '../jobs/job_record';
import { escapeMarkdown as md } from './markdown';

const FOLLOW_UP: Record<string, string> = { replicate: 'The off-site copy', prune: 'The retention policy (prune)' };

export { formatBytes as size, formatDuration as secs } from '../core/units';
import { plural, formatBytes as size, formatDuration as secs } from '../core/units';

function title(r: JobRecord): string {
  const mode =
    (r.options.mode ? ` (${r.options.mode as string})` : r.options.at ? ` to ${r.options.at as string}` : '') +
    (r.options.logical ? ' with a logical dump' : '');
  const who = r.requested_by ? ` by @${r.requested_by}` : r.trigger === 'schedule' ? ' (scheduled)' : '';
  return `**${JOB_KIND_TITLES[r.kind]}${mode}**${who}`;
}

/** The root post's text for the job's current state. */
export function rootMessage(r: JobRecord): string {
  const elapsed = r.started_at ? secs(Date.now() - Date.parse(r.started_at)) : '0 s';
  if (r.status === 'queued' || r.status === 'running') {
    const step = r.steps.find((s) => s.id === r.current_step);
    const p = r.progress;
    const pct = p?.total ? ` ${Math.min(100, Math.floor((p.done / p.total) * 100))}%` : '';
    return `${title(r)}: ⏳ ${step ? md(step.title) : 'starting'}${pct} · ${elapsed}`;
  }
  if (r.status === 'succeeded') {
    const warn = (r.warnings ?? []).map(
      (w) =>
        `⚠️ ${FOLLOW_UP[w.followUp] ?? md(w.followUp)} failed: ${md(w.message)}${w.hint ? ` (${md(w.hint)})` : ''}`,
    );
    return [
      `${title(r)}: ${warn.length ? '⚠️ done with warnings' : '✅ done'} in ${secs(r.duration_ms)}`,
      resultLine(r),
      ...warn,
    ].join('\n');
  }
  const failed = r.steps.find((s) => s.status === 'failed');
  return `${title(r)}: ${r.status === 'cancelled' ? '⏹ cancelled' : '❌ failed'}${failed ? ` at *${md(failed.title)}*` : ''} after ${secs(r.duration_ms)}`;
}

export function resultLine(r: JobRecord): string {
  const x = r.result ?? {};
  switch (r.kind) {
    case 'backup': {
      const off = x.offsite as { copied?: string[]; location?: string } | undefined;
      const pruned = x.prune as { removed?: string[] } | undefined;
      return [
        `Snapshot \`${String(x.snapshot_id)}\` · ${size(x.bytes)} (${size(x.new_bytes)} new) · downtime ${secs(x.downtime_ms)} · not verified yet`,
        ...(off
          ? [`off-site: ${plural(off.copied?.length ?? 0, 'snapshot')} copied to ${md(String(off.location))}`]
          : []),
        ...(pruned ? [`retention: ${pruned.removed?.length ?? 0} old snapshots removed`] : []),
      ].join(' · ');
    }
    case 'verify':
      return `Snapshot \`${String(x.snapshot_id)}\`: ${plural(Number(x.objects), 'object')} intact${x.deep ? ', restore drill passed' : ''}`;
    case 'restore':
      if (typeof x.target === 'string') {
        return `Database restored to ${md(x.target)} (pgBackRest backup ${md(String(x.backup_set))}); ${md((x.restored as string[] | undefined)?.join(', ') ?? '')} from \`${String(x.files_snapshot_id)}\`${x.safety_snapshot_id ? ` · safety snapshot \`${x.safety_snapshot_id as string}\`` : ''}`;
      }
      return `Restored ${md((x.restored as string[] | undefined)?.join(', ') ?? '')} from \`${String(x.snapshot_id)}\`${x.safety_snapshot_id ? ` · safety snapshot \`${x.safety_snapshot_id as string}\`` : ''}`;
    case 'pitr-backup':
      return `pgBackRest ${String(x.backup_type)} backup \`${String(x.label)}\`${(x.expired as string[] | undefined)?.length ? ` · expired ${(x.expired as string[]).join(', ')}` : ''}`;
    case 'pitr-enable':
      return x.checked
        ? "WAL is archived into pgBackRest's repository"
        : `waiting for a PostgreSQL restart: ${md(((x.pending_restart as string[] | undefined) ?? []).join(', '))}`;
    case 'pitr-disable':
      return x.pending_restart ? 'archive_mode stays on until PostgreSQL restarts' : 'archiving is off';
    case 'replicate':
      return `${plural((x.copied as string[] | undefined)?.length ?? 0, 'snapshot')} copied to ${md(String(x.location))} (${size(x.bytes_uploaded)} uploaded)`;
    case 'prune':
    default:
      return `${plural(Number(x.kept), 'snapshot')} kept, ${(x.removed as string[] | undefined)?.length ?? 0} removed, ${size(x.bytes_freed)} freed`;
  }
}

/** The thread reply for a failure: the step, the error, what to do. */
export function failureReply(r: JobRecord): string {
  const e = r.error;
  // The error's texts quote paths and names (a directory named `*x*`): shown as written.
  const lines = [`**Error:** ${e ? md(e.message) : 'unknown error'}`];
  if (e?.undo_failed?.length) {
    lines.push(`**Not put back:** ${e.undo_failed.map((u) => `${md(u.title)} (${md(u.error)})`).join('; ')}`);
  }
  if (e?.hint) lines.push(`**What to do:** ${md(e.hint)}`);
  if (r.kind === 'backup' || r.kind === 'restore') lines.push('Mattermost was started again if it had been stopped.');
  return lines.join('\n');
}
