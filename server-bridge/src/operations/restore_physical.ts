/**
 * restore <id> of a snapshot whose database part is a physical reference (physical_snapshot.ts):
 * the point-in-time restore's own preparation and steps (restore_at.ts), aimed at the snapshot's
 * point instead of a time, with the files from the snapshot itself. In place only: the reference
 * is to this cluster's pgBackRest repository.
 */
import { UsageError } from '../core/errors';
import type { Manifest } from '../manifest/manifest';
import type { PreparedRestore } from './restore';
import { prepareRestoreAt } from './restore_at';
import type { OperationRequest, OperationRuntime } from './request';

export async function preparePhysicalRestore(
  req: OperationRequest,
  rt: OperationRuntime,
  m: Manifest,
): Promise<PreparedRestore> {
  const t = req.restore ?? {};
  const elsewhere = [
    t.installDir ? '--install-dir' : '',
    t.databaseUrl ? '--database-url' : '',
    t.safetySnapshot === false ? '--no-safety-snapshot' : '',
  ].filter(Boolean);
  if (elsewhere.length) {
    throw new UsageError(
      `snapshot ${m.id} holds its database as a pgBackRest reference, restored in place only (with a safety snapshot of the files): ${elsewhere.join(', ')} cannot be used; restore a snapshot that holds a logical dump instead (mm-backup list: database "dump")`,
    );
  }
  if (req.include?.length && !req.include.some((id) => id !== 'database' && id !== 'config_store')) {
    throw new UsageError(
      `--components ${req.include.join(',')}: snapshot ${m.id}'s database is a pgBackRest reference, restored together with at least one file component of the snapshot (or leave --components out)`,
    );
  }
  const prepared = await prepareRestoreAt(
    {
      at: 'latest',
      snapshot: { manifest: m, components: req.include },
      force: t.force,
      allowUnsigned: req.allowUnsigned,
    },
    rt,
  );
  for (const w of prepared.warnings) rt.notice(`warning: ${w}`);
  return {
    manifest: m,
    discovery: prepared.inputs.d,
    options: { safetySnapshot: true, force: !!t.force, allowUnsigned: !!req.allowUnsigned },
    overwrites: prepared.overwrites,
    build: () => prepared.build(),
  };
}
