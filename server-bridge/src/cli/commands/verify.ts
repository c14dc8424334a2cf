/** `mm-backup verify <id|latest> [--deep]`. */
import { discover } from '../../discovery/discover';
import { parseDsn } from '../../database/dsn';
import { planVerify } from '../../operations/verify_plan';
import { runCliJob, withLock } from '../run_with_lock';
import { throwIfFailed, type GlobalOptions } from './shared';
import { openSource } from './from_source';
import type { EngineContext } from '../../jobs/context';
import type { Manifest } from '../../manifest/manifest';
import type { DatabaseEngine } from '../../database/engine';

export async function verifyCommand(globals: GlobalOptions, id: string, flags: { deep?: boolean; from?: string; offsite?: boolean; trust?: string[]; allowUnsigned?: boolean }): Promise<void> {
  const { ec, out } = await openSource(globals, flags);
  await withLock(ec, 'verify', out, async (lock) => {
    const m = await ec.repo.loadSnapshot(id);
    const plan = planVerify(ec, m, await verifyEngine(ec, m), { deep: !!flags.deep, allowUnsigned: !!flags.allowUnsigned });
    const result = await runCliJob(plan.job, lock, out);
    throwIfFailed(result);
    out.summary({ ok: true, snapshot: m.id, deep: !!flags.deep, objects: plan.outcome.objects, issues: [] },
      `Snapshot ${m.id} verified${flags.deep ? ' (with a restore drill)' : ''}: ${plan.outcome.objects} objects intact.`);
  });
}

/** The engine whose tools read a snapshot's dump (and with --deep restore it). */
export async function verifyEngine(ec: EngineContext, m: Manifest): Promise<DatabaseEngine | undefined> {
  // The dump is read with the tools of the server it came from.
  const d = await discover(ec.cfg).catch(() => undefined);
  // Without a discoverable install (a new host, --from), the dump is still read with the tools
  // of its driver; no server is contacted unless --deep (then database.adminUrl says where).
  const driver = m.components.find((c) => c.database)?.database?.driver;
  return d ? ec.engineFor(d.database) : driver ? ec.engineFor(parseDsn(`${driver}://localhost/mm_backup_verify`, driver)) : undefined;
}
