/** The verify operation: the snapshot, the engine whose tools read its dump, the plan, the result. */
import { discover } from '../discovery/discover';
import { parseDsn } from '../database/dsn';
import type { DatabaseEngine } from '../database/engine';
import type { EngineContext } from '../jobs/context';
import type { Manifest } from '../manifest/manifest';
import { addPitrDrill, pgDumpOf, type PitrDrillOutcome } from './pitr_drill';
import { loadPitrState } from './pitr_state';
import { planVerify } from './verify_plan';
import type { Operation, OperationRequest, OperationRuntime } from './request';
import { plural } from '../core/units';

export async function buildVerify(req: OperationRequest, rt: OperationRuntime): Promise<Operation> {
  return verifyLoaded(rt.ec, await rt.ec.repo.loadSnapshot(req.snapshotId ?? 'latest'), req);
}

/** Verifies exactly the manifest `m` as loaded (sign-snapshots signs the bytes this reads). */
export async function verifyLoaded(
  ec: EngineContext,
  m: Manifest,
  req: Pick<OperationRequest, 'deep' | 'allowUnsigned'>,
): Promise<Operation> {
  const deep = !!req.deep;
  const plan = planVerify(ec, m, await verifyEngine(ec, m), { deep, allowUnsigned: !!req.allowUnsigned });
  // Deep verify with physical mode on also checks pgBackRest's repository and drills a restore.
  const physical: PitrDrillOutcome | undefined =
    deep && (await loadPitrState(ec.cfg).catch(() => undefined))?.phase === 'enabled'
      ? addPitrDrill(plan.job, ec.cfg, m, (after) =>
          ec.trust.newestTrusted(
            ec.repo,
            (x) => x.installDir === m.installDir && !!pgDumpOf(x) && Date.parse(x.finishedAt) > after.getTime(),
          ),
        )
      : undefined;
  const result = () => ({
    snapshot_id: m.id,
    deep,
    objects: plan.outcome.objects,
    issues: plan.outcome.issues,
    notes: plan.outcome.notes,
    ...(physical ? { physical } : {}),
  });
  return {
    job: plan.job,
    result,
    summary: () => ({
      json: { ok: true, ...result(), snapshot: m.id },
      text: `Snapshot ${m.id} verified${deep ? ' (with a restore drill)' : ''}: ${plural(plan.outcome.objects, 'object')} intact.${physical ? ` ${describePhysical(physical)}` : ''}${plan.outcome.notes.length ? ` Notes: ${plan.outcome.notes.join('; ')}` : ''}`,
    }),
  };
}

/** The engine whose tools read a snapshot's dump (and with `deep` restore it). */
export async function verifyEngine(ec: EngineContext, m: Manifest): Promise<DatabaseEngine | undefined> {
  // The dump is read with the tools of the server it came from.
  const d = await discover(ec.cfg).catch(() => undefined);
  // Without a discoverable install (a new host, --from), the dump is still read with the tools
  // of its driver; no server is contacted unless deep (then database.adminUrl says where).
  const driver = m.components.find((c) => c.database)?.database?.driver;
  return d
    ? ec.engineFor(d.database)
    : driver
      ? ec.engineFor(parseDsn(`${driver}://localhost/mm_backup_verify`, driver))
      : undefined;
}

function describePhysical(p: PitrDrillOutcome): string {
  const d = p.drill;
  const drill = d
    ? ` Restore drill of backup ${d.backup} (${d.target === 'immediate' ? 'to its consistent end' : `to ${d.target}`}): schema ${d.schema_version ?? '?'}, ${d.tables} tables, ${d.rows} rows, ${d.compared_with ? `counts match snapshot ${d.compared_with}` : `not compared (${d.not_compared ?? ''})`}.`
    : '';
  return `pgBackRest repository: ${p.verify?.backups_checked ?? 0} backups and ${p.verify?.wal_checked ?? 0} WAL segments intact.${drill}${p.warnings.length ? ` Warnings: ${p.warnings.join('; ')}` : ''}${p.notes.length ? ` Notes: ${p.notes.join('; ')}` : ''}`;
}
