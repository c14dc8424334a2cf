/**
 * `pitr backup`: one physical backup with pgBackRest (full, diff or incr; chosen by the schedule
 * rules when not asked), run as postgres under the job lock like every other job, then pgBackRest's
 * expire with the retention pitr.window needs. The job's signal kills pgbackrest and its workers.
 */
import { PreconditionError } from '../core/errors';
import { newJobId } from '../core/ids';
import { chooseBackupType, retentionFor } from '../database/pgbackrest/backup_schedule';
import type { BackupInfo } from '../database/pgbackrest/info';
import type { BackupType, PgBackRest } from '../database/pgbackrest/pgbackrest';
import type { Job } from '../jobs/runner';
import { inspectPitr } from './pitr_site';
import { loadPitrState } from './pitr_state';
import type { Operation, OperationRequest, OperationRuntime } from './request';
import { plural } from '../core/units';

interface Outcome {
  type?: BackupType;
  /** Why this type: asked for, or the schedule rule that chose it. */
  reason?: string;
  label?: string;
  backup?: BackupInfo;
  expired: string[];
  retentionDays: number;
}

export function buildPitrBackup(req: OperationRequest, rt: OperationRuntime): Operation {
  const cfg = rt.ec.cfg;
  const retention = retentionFor(cfg.pitr.window);
  const o: Outcome = { expired: [], retentionDays: retention.fullDays };
  let cli: PgBackRest | undefined;
  let before: BackupInfo[] = [];
  const job: Job = {
    id: newJobId(),
    kind: 'pitr-backup',
    steps: [
      {
        id: 'pitr-inspect',
        title: 'Check physical mode and choose the backup type',
        run: async (ctx) => {
          const state = await loadPitrState(cfg);
          if (state?.phase !== 'enabled') {
            throw new PreconditionError(
              'PRECONDITION_FAILED',
              state ? `physical mode is not finished (${state.phase})` : 'physical mode is not enabled',
              { hint: 'run mm-backup pitr enable (with --restart-postgres when it asks for one) first' },
            );
          }
          const site = await inspectPitr(cfg, true, ctx.signal);
          cli = site.pgbackrest?.cli;
          before = (await cli?.info(ctx.signal))?.backup ?? [];
          if (req.pitrType) {
            o.type = req.pitrType;
            o.reason = 'asked for';
          } else {
            o.type = chooseBackupType(before, new Date(), cfg.pitr.fullEveryDays);
            o.reason =
              o.type === 'full'
                ? before.some((b) => b.type === 'full')
                  ? `the last full is ${plural(cfg.pitr.fullEveryDays, 'day')} old or more`
                  : 'no full backup yet'
                : `a full backup younger than ${plural(cfg.pitr.fullEveryDays, 'day')} exists`;
          }
          return `${o.type} (${o.reason})`;
        },
      },
      {
        id: 'pitr-backup',
        title: 'Physical backup with pgBackRest',
        run: async (ctx) => {
          if (!cli || !o.type) throw new Error('pitr-inspect did not run');
          await cli.backup(o.type, retention, ctx.signal);
          const after = (await cli.info(ctx.signal))?.backup ?? [];
          const known = new Set(before.map((b) => b.label));
          o.backup = after.filter((b) => !known.has(b.label)).pop();
          o.label = o.backup?.label;
          return o.label ?? '?';
        },
      },
      {
        id: 'pitr-expire',
        title: 'Expire backups and WAL older than the recovery window needs',
        run: async (ctx) => {
          if (!cli) throw new Error('pitr-inspect did not run');
          // pgBackRest already expired after the backup; said once more on its own, so that the
          // result names what went (the backup's own expire is not told apart in its output).
          await cli.expire(retention, ctx.signal);
          const kept = new Set(((await cli.info(ctx.signal))?.backup ?? []).map((b) => b.label));
          o.expired = before.filter((b) => !kept.has(b.label)).map((b) => b.label);
          return o.expired.length ? `expired ${o.expired.join(', ')}` : 'nothing expired';
        },
      },
    ],
    finally: [],
  };
  const result = () =>
    o.label
      ? {
          label: o.label,
          backup_type: o.type,
          reason: o.reason,
          started_at: o.backup ? new Date(o.backup.timestamp.start * 1000).toISOString() : null,
          stopped_at: o.backup ? new Date(o.backup.timestamp.stop * 1000).toISOString() : null,
          wal_start: o.backup?.archive?.start ?? null,
          wal_stop: o.backup?.archive?.stop ?? null,
          expired: o.expired,
          retention_full_days: o.retentionDays,
        }
      : undefined;
  return {
    job,
    result,
    summary: () => ({
      json: { ok: true, ...result() },
      text: o.label
        ? `Physical ${o.type} backup ${o.label} (${o.reason}); ${o.expired.length ? `expired ${o.expired.join(', ')}` : 'nothing expired'} (full backups kept for ${plural(o.retentionDays, 'day')}: pitr.window ${cfg.pitr.window}).`
        : 'No physical backup was made.',
    }),
  };
}
