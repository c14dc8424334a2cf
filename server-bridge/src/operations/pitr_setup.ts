/**
 * `pitr enable` and `pitr disable` as jobs, for every front end (`mm-backup pitr enable|disable`,
 * POST /v1/jobs from the System Console): the phases of pitr_enable.ts and pitr_disable.ts as
 * steps under the job lock, so a restart of PostgreSQL never meets a running backup. Restarting
 * needs the request's explicit consent.
 */
import { newJobId } from '../core/ids';
import { table } from '../core/text_table';
import type { Job } from '../jobs/runner';
import { pitrDisable, type PitrDisableResult } from './pitr_disable';
import { PitrEnableRun, type PitrEnableResult } from './pitr_enable';
import type { RestartMarks } from './pitr_restart';
import { markPostgresDown } from './postgres_down';
import type { Operation, OperationRequest, OperationRuntime } from './request';

/** The lock says PostgreSQL may be down while it restarts; the marker beside the key, that it was left down. */
function restartMarks(rt: OperationRuntime): RestartMarks {
  return {
    stopped: (stopped) => rt.lock.update({ postgresStopped: stopped }),
    leftDown: (reason) => markPostgresDown(rt.ec, reason, (_l, m) => rt.notice(m)),
  };
}

export function buildPitrEnable(req: OperationRequest, rt: OperationRuntime): Operation {
  const logs: string[] = [];
  let log: (m: string) => void = (m) => logs.push(m);
  const run = new PitrEnableRun(rt.ec.cfg, {
    restartPostgres: req.restartPostgres === true,
    // Only the CLI sets it (--force); the API's strict schema has no such field.
    force: req.force === true,
    log: (m) => log(m),
    marks: restartMarks(rt),
  });
  const step = (id: string, title: string, phase: (signal: AbortSignal) => Promise<string>) => ({
    id,
    title,
    run: async (ctx: { signal: AbortSignal; log: (l: 'info', m: string) => void }) => {
      log = (m) => ctx.log('info', m);
      return phase(ctx.signal);
    },
  });
  const job: Job = {
    id: newJobId(),
    kind: 'pitr-enable',
    steps: [
      step('pitr-check', 'Check PostgreSQL, pgBackRest and access (nothing changed yet)', (s) => run.check(s)),
      step('pitr-configure', "Write pgBackRest's config and create the stanza", (s) => run.configure(s)),
      step(
        'pitr-settings',
        req.restartPostgres
          ? 'Apply the PostgreSQL settings and restart PostgreSQL'
          : 'Apply the PostgreSQL settings a reload can',
        (s) => run.settings(s),
      ),
      step('pitr-verify', 'Check that WAL reaches the repository', (s) => run.verify(s)),
    ],
    finally: [],
  };
  const result = () => {
    const r = run.outcome();
    if (!r) return undefined;
    return {
      stanza: r.stanza,
      pgbackrest_version: r.pgbackrestVersion,
      config_file: r.configFile,
      repository: r.repoPath,
      changes: r.changes.map((c) => ({ name: c.name, from: c.from, to: c.to, restart: c.restart, applied: c.applied })),
      restarted: r.restarted,
      pending_restart: r.pendingRestart,
      finish: r.finish ?? null,
      checked: r.checked,
    };
  };
  return {
    job,
    result,
    summary: () => {
      const r = run.outcome();
      return { json: { ok: true, ...r }, text: r ? enableText(r) : 'Physical mode was not enabled.' };
    },
  };
}

export function buildPitrDisable(req: OperationRequest, rt: OperationRuntime): Operation {
  let out: PitrDisableResult | undefined;
  const job: Job = {
    id: newJobId(),
    kind: 'pitr-disable',
    steps: [
      {
        id: 'pitr-revert',
        title: req.restartPostgres
          ? 'Put the PostgreSQL settings back and restart PostgreSQL'
          : 'Put the PostgreSQL settings back (archiving stops at the next restart)',
        run: async (ctx) => {
          out = await pitrDisable(rt.ec.cfg, {
            restartPostgres: req.restartPostgres === true,
            log: (m) => ctx.log('info', m),
            signal: ctx.signal,
            marks: restartMarks(rt),
          });
          if (out.nothingToDo) return 'physical mode was not enabled by mm-backup here: nothing to undo';
          return `${out.reverted.map((s) => s.name).join(', ')} put back${out.restarted ? '; PostgreSQL restarted' : ''}${out.pendingRestart ? '; archive_mode stays on until PostgreSQL restarts' : ''}`;
        },
      },
    ],
    finally: [],
  };
  const result = () =>
    out && {
      reverted: out.reverted,
      restarted: out.restarted,
      pending_restart: out.pendingRestart,
      finish: out.finish ?? null,
      kept: { repository: out.kept.repoPath, config_dir: out.kept.configDir },
      nothing_to_do: out.nothingToDo,
    };
  return {
    job,
    result,
    summary: () => ({ json: { ok: true, ...out }, text: out ? disableText(out) : 'Physical mode was not disabled.' }),
  };
}

/** The CLI's summary of an enable: what was configured, each setting and whether it is in effect, what is left to do. */
function enableText(r: PitrEnableResult): string {
  return [
    `pgBackRest ${r.pgbackrestVersion}, stanza ${r.stanza}, repository ${r.repoPath}, config ${r.configFile}`,
    r.changes.length ? 'PostgreSQL settings:' : 'PostgreSQL settings: nothing to change',
    r.changes.length
      ? table(
          r.changes.map((c) => [
            c.name,
            `${c.from || "''"} → ${c.to}`,
            c.applied ? 'in effect' : c.restart ? 'needs a restart: NOT applied' : 'not applied',
          ]),
        )
      : '',
    r.restarted ? 'PostgreSQL was restarted and runs with archiving on.' : '',
    r.checked ? 'pgbackrest check passed: WAL is archived into the repository.' : '',
    r.finish ? `To finish (restarts PostgreSQL once): ${r.finish}` : '',
  ]
    .filter(Boolean)
    .join('\n');
}

/** The CLI's summary of a disable: each setting put back, what waits for a restart, what stays on disk. */
function disableText(r: PitrDisableResult): string {
  const lines = r.nothingToDo
    ? ['Physical mode was not enabled by mm-backup here: nothing to undo.']
    : [
        ...r.reverted.map(
          (s) => `${s.name}: ${s.to === null ? 'reset (default or postgresql.conf)' : `set back to ${s.to}`}`,
        ),
        r.restarted ? 'PostgreSQL was restarted: archiving is off.' : '',
        r.finish
          ? `archive_mode stays on until PostgreSQL restarts (WAL is discarded meanwhile). To finish: ${r.finish}`
          : '',
      ];
  lines.push(
    `Left in place: pgBackRest's repository ${r.kept.repoPath} (backups and WAL archived so far) and its config ${r.kept.configDir}; remove them by hand when no longer needed.`,
  );
  return lines.filter(Boolean).join('\n');
}
