/**
 * `mm-backup status`: what GET /v1/status says, without the sidecar: Mattermost's health, the
 * job lock (a stale one means a killed job left work for the next one: Mattermost may be down,
 * a restore half-done), the jobs marked interrupted, and a PostgreSQL a job left down (then `ok: false`
 * and exit 1). Reads only; repairs nothing.
 */
import { ping } from '../../mattermost/health';
import { pitrLines, readPitrView } from '../../operations/pitr_view';
import { redact } from '../../core/redact';
import { POSTGRES_DOWN_DOCS, postgresDownLines, postgresDownView } from '../../operations/postgres_down';
import { recoveryView } from '../../status/recovery_state';
import { exitCodeFor, ReportedFailure } from '../exit_codes';
import { size, table } from '../format';
import { openCommand, type GlobalOptions } from './shared';

export async function statusCommand(globals: GlobalOptions): Promise<void> {
  const { ec, out } = await openCommand(globals);
  const mm = await ping(ec.cfg.mattermost.url);
  const rec = await recoveryView(ec.lockDir, ec.cfg.repository.path);
  const { manifests } = await ec.repo.listSnapshotSummaries();
  const last = [...manifests].reverse().find((m) => m.trigger !== 'safety');
  // A PostgreSQL a job left down first: it is why everything else may fail.
  const pgDown = await postgresDownView(ec);
  // Physical mode, when it was enabled here: the recovery window and the WAL archive's health.
  const pitr = await readPitrView(ec.cfg).catch((err: unknown) => {
    if (!pgDown) throw err;
    return undefined; // not readable while PostgreSQL is down: the line above says why
  });
  const text = [
    ...(pgDown ? [...postgresDownLines(pgDown), ''] : []),
    table([
      ['Mattermost', `${ec.cfg.mattermost.url}: ${mm.state === 'ok' ? 'healthy' : `${mm.state} (${mm.detail})`}`],
      ['Job lock', rec.lock.state === 'stale' ? 'STALE (see below)' : rec.lock.message],
      ['Last backup', last ? `${last.id} (${last.mode}, ${size(last.stats.bytes)})` : 'none'],
      ['Snapshots', String(manifests.length)],
    ]),
    ...(pitr ? ['', ...pitrLines(pitr)] : []),
    ...(rec.lines.length ? ['', ...rec.lines] : []),
  ].join('\n');
  // PostgreSQL left down is the one state status fails on (exit 1, as a job that left it down):
  // Mattermost does not work without it, and a script checking `ok` or the exit code must see it.
  const failure = pgDown
    ? new ReportedFailure('PROCESS_FAILED', pgDown.message, { hint: `see ${POSTGRES_DOWN_DOCS}` })
    : undefined;
  out.summary(
    {
      ok: !failure,
      ...(failure
        ? {
            error: { code: failure.code, message: redact(failure.message), hint: failure.hint },
            exit_code: exitCodeFor(failure.code),
          }
        : {}),
      mattermost: { url: ec.cfg.mattermost.url, state: mm.state, detail: mm.detail },
      lock: rec.lock,
      interrupted_jobs: rec.interrupted,
      snapshots: manifests.length,
      last_backup: last ? { id: last.id, mode: last.mode, started_at: last.startedAt } : null,
      ...(pitr ? { pitr } : {}),
      postgres_down: pgDown ?? null,
    },
    text,
  );
  if (failure) throw failure;
}
