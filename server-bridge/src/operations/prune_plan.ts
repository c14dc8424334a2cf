/**
 * prune: apply retention, delete the manifests of dropped snapshots first, then sweep objects no
 * remaining manifest references: object files, then packs (removed when unused, rewritten when
 * mostly unused: repository/pack_sweep.ts). An interruption can only leave unreferenced objects
 * (or a used object in two packs) behind, never a kept snapshot without its data.
 */
import { PreconditionError } from '../core/errors';
import { PrefixSet } from '../core/hash_set';
import { newJobId } from '../core/ids';
import { referencedObjects } from '../manifest/manifest';
import { deleteVerification, readVerifications } from '../repository/verifications';
import { sweepPacks } from '../repository/pack_sweep';
import type { EngineContext } from '../jobs/context';
import { planRetention, type PrunePlan } from '../jobs/retention';
import type { Job } from '../jobs/runner';
import { fmt } from './take_snapshot';
import { plural } from '../core/units';

/** What prune did (in a dry run: would do). Objects and bytes count object files and packed objects alike. */
export interface PruneOutcome {
  plan?: PrunePlan;
  objectsRemoved: number;
  bytesFreed: number;
  /** Unused packs and orphan pack files removed, and partly used packs rewritten (pack_sweep.ts). */
  packsRemoved: number;
  packsRepacked: number;
  dryRun: boolean;
}

/**
 * `idPrefix` names the steps when they run as a backup's follow-up ("prune-snapshots"), where
 * `sweepOnlyAfterRemoval` skips the object sweep when no snapshot was removed: no object can have
 * lost its last reference then, and the sweep reads every index and lists every object (measured:
 * 5-6 s of a 13 s unchanged backup of 55k files). What a failed backup stored before it failed is
 * swept by the next prune that removes a snapshot, or by `mm-backup prune`, which always sweeps.
 */
export function planPrune(
  ec: EngineContext,
  opts: { dryRun: boolean; idPrefix?: string; sweepOnlyAfterRemoval?: boolean },
): { job: Job; outcome: PruneOutcome } {
  const pre = opts.idPrefix ?? '';
  const outcome: PruneOutcome = {
    objectsRemoved: 0,
    bytesFreed: 0,
    packsRemoved: 0,
    packsRepacked: 0,
    dryRun: opts.dryRun,
  };
  const job: Job = {
    id: newJobId(),
    kind: 'prune',
    steps: [
      {
        id: `${pre}snapshots`,
        title: 'Apply the retention policy',
        run: async () => {
          // Summaries kept by earlier runs answer: at a million files each manifest is ~430 MB,
          // and this step runs after every backup.
          const { manifests } = await ec.repo.listSnapshotSummaries({ kept: true });
          const verified = await readVerifications(ec.storage, ec.trust);
          outcome.plan = planRetention(
            manifests.map((m) => ({
              id: m.id,
              time: new Date(m.startedAt),
              verified: verified.get(m.id)?.ok === true,
            })),
            ec.cfg.retention,
          );
          if (!opts.dryRun) {
            for (const id of outcome.plan.remove) {
              await ec.repo.deleteSnapshot(id);
              await deleteVerification(ec.storage, id);
            }
          }
          return `${outcome.plan.keep.length} kept, ${outcome.plan.remove.length} ${opts.dryRun ? 'would be removed' : 'removed'}`;
        },
      },
      {
        id: `${pre}objects`,
        title: 'Remove objects no kept snapshot uses',
        skip: () =>
          opts.sweepOnlyAfterRemoval && outcome.plan?.remove.length === 0
            ? 'no snapshot was removed, so no object became unused'
            : undefined,
        run: async (ctx) => {
          // Mark from what is on disk now (after the deletes), not from the plan, so a manifest
          // written by anyone else is never swept from under it.
          const removed = new Set(opts.dryRun ? (outcome.plan?.remove ?? []) : []);
          // 8 bytes per object in use, not a string each. A name that only shares its first 64 bits
          // with one in use counts as in use: such an object is kept (never a used one swept).
          // One manifest's index at a time is spooled.
          const live = new PrefixSet();
          const broken = await ec.repo.forEachSnapshot(async (m) => {
            if (!removed.has(m.id)) for await (const o of referencedObjects(m)) live.add(o);
          });
          if (broken.length) {
            throw new PreconditionError(
              'PRECONDITION_FAILED',
              `refusing to sweep objects: ${plural(broken.length, 'manifest does', 'manifests do')} not parse (${broken.map((b) => b.id).join(', ')}); their objects might be needed`,
              {
                hint: 'inspect or remove the damaged manifests (mm-backup list names them), then prune again',
                details: { broken: broken.map((b) => b.id) },
              },
            );
          }
          for await (const o of ec.repo.listObjects()) {
            if (live.has(o.sha256)) continue;
            outcome.objectsRemoved++;
            outcome.bytesFreed += o.size;
            if (!opts.dryRun) await ec.repo.deleteObject(o.sha256);
            ctx.progress(outcome.objectsRemoved, undefined, 'objects');
          }
          // Packs after object files: the same names in use decide, one copy of each used object is kept.
          const packs = await sweepPacks(ec.repo, live, { dryRun: opts.dryRun, signal: ctx.signal, log: ctx.log });
          outcome.objectsRemoved += packs.objectsRemoved;
          outcome.bytesFreed += packs.bytesFreed;
          outcome.packsRemoved = packs.packsRemoved;
          outcome.packsRepacked = packs.packsRepacked;
          const packText =
            packs.packsRemoved || packs.packsRepacked
              ? ` (${plural(packs.packsRemoved, 'pack')} removed, ${packs.packsRepacked} rewritten)`
              : '';
          return `${plural(outcome.objectsRemoved, 'object')}${packText}, ${fmt(outcome.bytesFreed)} ${opts.dryRun ? 'would be freed' : 'freed'}`;
        },
      },
    ],
    finally: [],
  };
  return { job, outcome };
}
