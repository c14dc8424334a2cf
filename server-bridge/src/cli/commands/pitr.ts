/**
 * `mm-backup pitr enable|disable|status`: physical mode for PostgreSQL with pgBackRest
 * (docs/pitr.md). enable and disable run as jobs under the job lock, the same jobs as the API's:
 * they may restart PostgreSQL, which a running backup's dump would not survive.
 */
import { createInterface } from 'node:readline/promises';
import { UsageError } from '../../core/errors';
import { planPitrEnable } from '../../operations/pitr_enable_plan';
import { pitrStatus } from '../../operations/pitr_status';
import { pitrLines, toPitrView } from '../../operations/pitr_view';
import { table } from '../format';
import { runOperationCommand } from '../run_with_lock';
import { openCommand, type GlobalOptions } from './shared';

export interface PitrFlags {
  restartPostgres?: boolean;
  yes?: boolean;
  force?: boolean;
  /** enable: show the plan (every check, every setting change) and change nothing. */
  dryRun?: boolean;
}

/**
 * `pitr enable`: the pitr-enable job, the same one POST /v1/jobs runs (step progress, the job
 * lock), with --force that only the CLI can give; --dry-run prints the plan instead, with no job
 * and no lock.
 */
export async function pitrEnableCommand(globals: GlobalOptions, flags: PitrFlags): Promise<void> {
  const { ec, out } = await openCommand(globals);
  if (flags.dryRun) {
    await pitrEnablePlanCommand(ec.cfg, flags, out);
    return;
  }
  if (flags.restartPostgres && !flags.yes) await confirmRestart();
  await runOperationCommand(ec, out, {
    kind: 'pitr-enable',
    restartPostgres: !!flags.restartPostgres,
    force: !!flags.force,
  });
}

/** `pitr enable --dry-run`: the same plan enable runs first (and GET /v1/pitr/plan shows); nothing changed. */
async function pitrEnablePlanCommand(
  cfg: Parameters<typeof planPitrEnable>[0],
  flags: PitrFlags,
  out: Awaited<ReturnType<typeof openCommand>>['out'],
): Promise<void> {
  const p = await planPitrEnable(cfg, { restartPostgres: !!flags.restartPostgres, force: !!flags.force });
  const restart = p.changes.filter((c) => c.restart).map((c) => c.name);
  const lines = [
    table(p.checks.map((c) => [c.status, c.title, c.detail + (c.hint ? ` (${c.hint})` : '')])),
    p.changes.length ? 'PostgreSQL settings enable would change:' : 'PostgreSQL settings: nothing to change',
    ...(p.changes.length
      ? [
          table(
            p.changes.map((c) => [
              c.name,
              `${c.from || "''"} → ${c.to}`,
              c.restart ? 'needs a restart' : 'a reload applies it',
            ]),
          ),
        ]
      : []),
    restart.length
      ? flags.restartPostgres
        ? `PostgreSQL would be restarted once (${restart.join(', ')}).`
        : `Without --restart-postgres, ${restart.join(', ')} would wait for a restart.`
      : '',
    `pgBackRest ${p.pgbackrestVersion ?? '-'}, stanza ${p.stanza}, repository ${p.repoPath || '-'}, config ${p.configFile}`,
    p.refusal ? `pitr enable would refuse: ${p.refusal.message}` : 'Nothing was changed (--dry-run).',
  ].filter(Boolean);
  out.summary(
    {
      ok: true,
      dryRun: true,
      ready: !p.refusal,
      checks: p.checks,
      changes: p.changes,
      restartNeeded: p.restartNeeded,
      othersPending: p.othersPending,
      pgbackrestVersion: p.pgbackrestVersion ?? null,
      stanza: p.stanza,
      repoPath: p.repoPath,
      configFile: p.configFile,
    },
    lines.join('\n'),
  );
}

/** `pitr disable`: the pitr-disable job, the same one POST /v1/jobs runs. */
export async function pitrDisableCommand(globals: GlobalOptions, flags: PitrFlags): Promise<void> {
  const { ec, out } = await openCommand(globals);
  if (flags.restartPostgres && !flags.yes) await confirmRestart();
  await runOperationCommand(ec, out, { kind: 'pitr-disable', restartPostgres: !!flags.restartPostgres });
}

export async function pitrBackupCommand(globals: GlobalOptions, flags: { type?: string }): Promise<void> {
  const type = flags.type;
  if (type !== undefined && type !== 'full' && type !== 'diff' && type !== 'incr') {
    throw new UsageError(`--type must be full, diff or incr, not "${type}"`);
  }
  const { ec, out } = await openCommand(globals);
  await runOperationCommand(ec, out, { kind: 'pitr-backup', pitrType: type });
}

export async function pitrStatusCommand(globals: GlobalOptions): Promise<void> {
  const { ec, out } = await openCommand(globals);
  const s = await pitrStatus(ec.cfg);
  const a = s.archiver;
  const view = toPitrView(s);
  const text = [
    table([
      ['Physical mode', s.phase],
      ...Object.entries(s.settings).map(([n, v]) => [
        n,
        `${v.value || "''"}${v.pendingRestart ? ' (changed, waiting for a restart)' : ''}`,
      ]),
      ['Archived WAL', `${a.archived_count}, last ${a.last_archived_wal ?? 'none'} at ${a.last_archived_time ?? '-'}`],
      [
        'Failed archiving',
        `${a.failed_count}${a.last_failed_wal ? `, last ${a.last_failed_wal} at ${a.last_failed_time ?? '-'}` : ''}`,
      ],
      ['pgBackRest', s.pgbackrestVersion ?? s.pgbackrestProblem ?? '-'],
      [
        'Stanza',
        s.stanza
          ? `${s.stanza.name}: ${s.stanza.status.message}; WAL ${s.stanza.archive[0]?.min ?? '-'} … ${s.stanza.archive[0]?.max ?? '-'}`
          : (s.pgbackrestProblem ?? 'none'),
      ],
      ...view.backups.map((b) => [`Backup ${b.label}`, `${b.type}, ${b.started_at} … ${b.stopped_at}`]),
    ]),
    ...pitrLines(view),
  ].join('\n');
  out.summary({ ok: true, ...s, window: view.window, archive: view.archive, backups: view.backups }, text);
}

/** --restart-postgres is the consent; on a terminal it is asked once more, elsewhere --yes says it. */
async function confirmRestart(): Promise<void> {
  if (!process.stdin.isTTY) {
    throw new UsageError(
      '--restart-postgres restarts PostgreSQL: pass --yes as well to confirm when not running interactively',
    );
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(
      'This restarts PostgreSQL once (Mattermost loses its database for a few seconds). Type "restart" to go on: ',
    );
    if (answer.trim() !== 'restart') throw new UsageError('not confirmed; nothing was changed');
  } finally {
    rl.close();
  }
}
