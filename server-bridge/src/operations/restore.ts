/**
 * The restore operation in two phases, because a person confirms in between: prepare (load the
 * snapshot, check its signature BEFORE anything is read from it, discover the install, maybe
 * from the snapshot's own config, and say what will be overwritten), then build the job.
 */
import { redact } from '../core/redact';
import { parseDsn } from '../database/dsn';
import type { Discovery } from '../discovery/discover';
import { discoverOrFromSnapshot } from '../discovery/from_snapshot';
import type { Manifest } from '../manifest/manifest';
import { describeRestore, describeRollback, planRestore, selectRecords, type RestoreOptions } from './restore_plan';
import type { Operation, OperationRequest, OperationRuntime } from './request';
import { preparePhysicalRestore } from './restore_physical';

export interface PreparedRestore {
  manifest: Manifest;
  discovery?: Discovery;
  options: RestoreOptions;
  /** What the restore will overwrite, one line each, for the confirmation. */
  overwrites: string[];
  build(): Operation;
}

export async function prepareRestore(req: OperationRequest, rt: OperationRuntime): Promise<PreparedRestore> {
  const { ec } = rt;
  const t = req.restore ?? {};
  const m = await ec.repo.loadSnapshot(req.snapshotId ?? 'latest');
  await ec.trust.requireManifest(ec.repo, m, { allowUnsigned: req.allowUnsigned, action: 'restored' });
  if (selectRecords(m, req.include).some((r) => r.physical)) return preparePhysicalRestore(req, rt, m);
  let d: Discovery | undefined;
  try {
    d = await discoverOrFromSnapshot(ec.cfg, m, ec.repo, (s) => rt.notice(redact(s)));
  } catch (err) {
    // Onto a new install and database the configured one is not needed.
    if (!t.installDir || !t.databaseUrl) throw err;
    rt.notice(
      `the configured install could not be read (${redact((err as Error).message)}); restoring onto a new install only`,
    );
  }
  const driver = m.components.find((c) => c.database)?.database?.driver;
  const options: RestoreOptions = {
    components: req.include,
    installDir: t.installDir,
    absoluteRoots: !!t.absoluteRoots,
    databaseEngine: t.databaseUrl ? ec.engineFor(parseDsn(t.databaseUrl, driver ?? d?.database.driver)) : undefined,
    safetySnapshot: t.safetySnapshot !== false,
    force: !!t.force,
    allowUnsigned: !!req.allowUnsigned,
  };
  const overwrites = await describeRestore(selectRecords(m, req.include), options, d);
  return {
    manifest: m,
    discovery: d,
    options,
    overwrites,
    build: () => {
      const plan = planRestore(ec, m, d, rt.lock, options);
      const o = plan.outcome;
      const result = () => ({
        snapshot_id: m.id,
        restored: o.restored,
        skipped: o.skipped,
        safety_snapshot_id: o.safetySnapshotId ?? null,
        rolled_back: o.rolledBack,
        overwritten: overwrites,
        warnings: o.warnings,
      });
      return {
        job: plan.job,
        result,
        summary: () => ({
          json: { ok: true, ...result(), snapshot: m.id, safety_snapshot: o.safetySnapshotId ?? null },
          text: `Restored ${o.restored.join(', ')} from snapshot ${m.id}.${o.skipped.length ? ` Skipped (outside the install dir): ${o.skipped.join(', ')}.` : ''}${o.safetySnapshotId ? ` Safety snapshot: ${o.safetySnapshotId}.` : ''}`,
        }),
        failureNote: () => describeRollback(o),
      };
    },
  };
}
