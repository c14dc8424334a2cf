/**
 * replicate: copy local snapshots off-site. Retention of the off-site side is planned first, so
 * a snapshot that would be dropped at once is never uploaded; then for each snapshot to copy,
 * the objects missing off-site are uploaded (deduplicated by name, exactly as locally) and the
 * manifest last, so an interrupted replicate never leaves a listed off-site snapshot without its
 * data, and the next run resumes where it stopped. Objects packed locally go off-site in their
 * whole pack, with its index (replicate_packs.ts). Finally dropped off-site snapshots are deleted
 * (manifests first) and objects and packs no remaining off-site snapshot uses are swept.
 */
import { stat } from 'node:fs/promises';
import { NotFoundError, StorageError } from '../core/errors';
import { PrefixSet } from '../core/hash_set';
import { HashSorter, notListed } from '../core/hash_sort';
import { newJobId } from '../core/ids';
import { TaskPool } from '../core/pool';
import { referencedObjects, type Manifest } from '../manifest/manifest';
import { spoolDir } from '../manifest/spool_dir';
import { deleteVerification, readVerifications } from '../repository/verifications';
import { listSnapshotKeys, objectKey, snapshotIds, snapshotKey, snapshotSignatureKey } from '../repository/layout';
import { fileBody } from '../storage/storage';
import { MAX_SIGNATURE_BYTES } from '../repository/read_limits';
import { readOptional } from '../repository/trust';
import { upgradeMarkerForPacks } from '../repository/marker';
import { LocalStorage } from '../storage/local_storage';
import { KeyMismatchError } from '../storage/encrypted_storage';
import type { OffsiteRepo } from '../offsite/open_offsite';
import { snapshotTime } from '../offsite/offsite_state';
import type { EngineContext } from '../jobs/context';
import { planRetention, type PrunePlan } from '../jobs/retention';
import type { Job, Step } from '../jobs/runner';
import { fmt } from './take_snapshot';
import { plural } from '../core/units';
import {
  listPackNames,
  localFile,
  planPackUploads,
  sweepOffsitePacks,
  uploadableFile,
  uploadPack,
} from './replicate_packs';

export interface ReplicateOutcome {
  location?: string;
  copied: string[];
  /** Object files uploaded (objects not in a local pack). */
  objectsUploaded: number;
  /** Pack files uploaded (each with its index); their bytes count in bytesUploaded. */
  packsUploaded: number;
  bytesUploaded: number;
  retention?: PrunePlan;
  removed: string[];
  objectsRemoved: number;
  /** Off-site packs removed: none of their objects is used, or they had no index. */
  packsRemoved: number;
  /** Why unused off-site objects were left in place, when they were. */
  sweepSkipped?: string;
}

export function planReplicate(
  ec: EngineContext,
  openOff: () => Promise<OffsiteRepo>,
): { job: Job; outcome: ReplicateOutcome } {
  const outcome: ReplicateOutcome = {
    copied: [],
    objectsUploaded: 0,
    packsUploaded: 0,
    bytesUploaded: 0,
    removed: [],
    objectsRemoved: 0,
    packsRemoved: 0,
  };
  if (!(ec.storage instanceof LocalStorage)) {
    throw new StorageError(
      'replicate copies a local repository off-site; with offsite.mode "direct" backups already go there',
      { permanent: true },
    );
  }
  const local = ec.storage;
  const policy = ec.cfg.offsite?.retention ?? ec.cfg.retention;
  let off: OffsiteRepo;
  let localManifests = new Map<string, Manifest>();
  let toCopy: Manifest[] = [];

  const open: Step = {
    id: 'offsite-open',
    title: 'Open the off-site repository',
    run: async (ctx) => {
      off = await openOff();
      outcome.location = off.location;
      const cleaned = await off.repo.cleanStaging();
      if (cleaned) ctx.log('warn', `aborted ${cleaned} incomplete uploads left by an interrupted job`);
      return `${off.location}${off.encrypted ? ' (encrypted)' : ''}`;
    },
  };

  const plan: Step = {
    id: 'offsite-plan',
    title: 'Decide what to copy and what off-site retention drops',
    run: async () => {
      // Each is read whole (checked) but kept as its head only; the steps below load the index
      // of the one they need. Safety snapshots only protect a restore on this host; they are not
      // worth a remote copy.
      localManifests = new Map();
      await ec.repo.forEachSnapshot((m) => {
        if (m.trigger !== 'safety') localManifests.set(m.id, headOf(m));
        return Promise.resolve();
      });
      const remote = await snapshotIds(off.storage);
      const verified = await readVerifications(local, ec.trust);
      const all = new Set([...remote, ...localManifests.keys()]);
      outcome.retention = planRetention(
        [...all].map((id) => ({ id, time: snapshotTime(id), verified: verified.get(id)?.ok === true })),
        policy,
      );
      const keep = new Set(outcome.retention.keep.map((k) => k.id));
      toCopy = [...localManifests.values()].filter((m) => keep.has(m.id) && !remote.has(m.id));
      outcome.removed = outcome.retention.remove.filter((id) => remote.has(id));
      return `${toCopy.length} to copy, ${remote.size} already off-site, ${outcome.removed.length} to drop off-site`;
    },
  };

  const copy: Step = {
    id: 'offsite-copy',
    title: 'Copy new snapshots off-site',
    skip: () => (toCopy.length ? undefined : 'every kept snapshot is already off-site'),
    run: async (ctx) => {
      // Exact and flat: every object the new snapshots use, sorted on local disk, joined with the
      // off-site listing (the same order): an object is skipped only when off-site lists its
      // exact name. What is missing is noted with its size (for the progress total), then copied:
      // an object packed here by sending its whole pack and the pack's index (unless off-site
      // lists them by name), the others as object files.
      const needed = new HashSorter(await spoolDir());
      const missing = new HashSorter(await spoolDir());
      try {
        for (const head of toCopy) {
          const m = await ec.repo.loadSnapshot(head.id);
          try {
            for await (const sha of referencedObjects(m)) await needed.add(sha);
          } finally {
            await ec.repo.release(m);
          }
        }
        let total = 0;
        await ec.repo.loadPacks({ signal: ctx.signal });
        const packs = new Set<string>();
        for await (const { sha256 } of notListed(needed.distinct(), off.repo.listObjects())) {
          const loc = ec.repo.locateSync(sha256);
          if (loc) {
            packs.add(loc.pack);
            continue;
          }
          const size = await objectSize(local, sha256);
          total += size;
          await missing.add(sha256, size);
        }
        await needed.dispose();
        const uploads = packs.size ? await planPackUploads(local, packs, await listPackNames(off.storage)) : [];
        total += uploads.reduce((n, u) => n + u.bytes, 0);
        const pool = new TaskPool(4);
        const target = off.storage;
        // Before the first pack: a reader that predates packs must refuse the copy, not miss objects.
        if (uploads.length) await upgradeMarkerForPacks(target);
        for (const u of uploads) {
          await pool.add(async () => {
            await uploadPack(local, target, u, { signal: ctx.signal });
            if (u.sendPack) outcome.packsUploaded++;
            outcome.bytesUploaded += u.bytes;
            ctx.progress(outcome.bytesUploaded, total, 'bytes');
          });
        }
        for await (const j of missing.distinct()) {
          await pool.add(async () => {
            const file = await uploadableFile(local, objectKey(j.sha256));
            await target.put(objectKey(j.sha256), fileBody(file), { signal: ctx.signal });
            outcome.objectsUploaded++;
            outcome.bytesUploaded += j.a; // the size noted with the name above
            ctx.progress(outcome.bytesUploaded, total, 'bytes');
          });
        }
        await pool.drain();
      } finally {
        await needed.dispose();
        await missing.dispose();
      }
      // Manifests last, oldest first: from this moment each snapshot exists off-site. Each
      // signature goes just before its manifest, so an off-site manifest is never unsigned.
      for (const m of [...toCopy].sort((a, b) => a.id.localeCompare(b.id))) {
        const sig = await readOptional(local, snapshotSignatureKey(m.id), MAX_SIGNATURE_BYTES);
        if (sig) await off.storage.put(snapshotSignatureKey(m.id), sig, { signal: ctx.signal });
        // Streamed from the file, as objects are: a manifest can be hundreds of MB (a file index).
        const manifestFile = await uploadableFile(local, snapshotKey(m.id));
        await off.storage.put(snapshotKey(m.id), fileBody(manifestFile), { signal: ctx.signal });
        outcome.copied.push(m.id);
      }
      const packed = outcome.packsUploaded ? ` and ${plural(outcome.packsUploaded, 'pack')}` : '';
      return `${plural(outcome.copied.length, 'snapshot')}, ${plural(outcome.objectsUploaded, 'object')}${packed} uploaded (${fmt(outcome.bytesUploaded)})`;
    },
  };

  const signatures: Step = {
    id: 'offsite-signatures',
    title: 'Copy signatures made after their snapshots were copied (mm-backup sign-snapshots)',
    run: async (ctx) => {
      const remote = await listSnapshotKeys(off.storage);
      const manifests = new Set(remote.manifests);
      let copied = 0;
      for (const id of localManifests.keys()) {
        const key = snapshotSignatureKey(id);
        if (!manifests.has(id) || remote.signatures.has(id)) continue;
        const sig = await readOptional(local, key, MAX_SIGNATURE_BYTES);
        if (!sig) continue;
        await off.storage.put(key, sig, { signal: ctx.signal });
        copied++;
      }
      return `${plural(copied, 'signature')} copied`;
    },
  };

  const retention: Step = {
    id: 'offsite-retention',
    title: 'Apply the off-site retention policy',
    run: async (ctx) => {
      for (const id of outcome.removed) {
        await off.repo.deleteSnapshot(id);
        await deleteVerification(off.storage, id);
      }
      // Mark from what is off-site now; manifests of snapshots still here locally need no decryption.
      // 8 bytes per object in use; a name sharing only its first 64 bits with one in use counts as
      // in use, so such an object stays off-site (never a used one removed).
      const live = new PrefixSet();
      for (const id of await snapshotIds(off.storage)) {
        const from = localManifests.has(id) ? ec.repo : off.repo;
        let m: Manifest;
        try {
          m = await from.loadSnapshot(id);
        } catch (err) {
          if (!(err instanceof KeyMismatchError)) throw err;
          outcome.sweepSkipped = `snapshot ${id} exists only off-site and this host has no key to read it; unused objects are left until a run with the identity`;
          ctx.log('warn', outcome.sweepSkipped);
          return `${plural(outcome.removed.length, 'snapshot')} dropped; objects not swept`;
        }
        try {
          for await (const o of referencedObjects(m)) live.add(o);
        } finally {
          await from.release(m);
        }
      }
      for await (const o of off.repo.listObjects()) {
        if (live.has(o.sha256)) continue;
        await off.repo.deleteObject(o.sha256);
        outcome.objectsRemoved++;
      }
      // Packs' indexes are read only when a snapshot was dropped (else none lost its last user);
      // packs without an index are removed on every run. Partly used packs stay whole (no repack).
      const packs = await sweepOffsitePacks(local, off.storage, live, {
        readIndexes: outcome.removed.length > 0,
        signal: ctx.signal,
      });
      outcome.packsRemoved = packs.removed;
      for (const k of packs.kept) ctx.log('warn', `off-site pack ${k.pack.slice(0, 12)}… is kept: ${k.why}`);
      const packed = outcome.packsRemoved ? `, ${plural(outcome.packsRemoved, 'unused pack')}` : '';
      return `${plural(outcome.removed.length, 'snapshot')} dropped, ${plural(outcome.objectsRemoved, 'unused object')}${packed} removed`;
    },
  };

  return {
    job: { id: newJobId(), kind: 'replicate', steps: [open, plan, copy, signatures, retention], finally: [] },
    outcome,
  };
}

function objectFile(local: LocalStorage, sha: string): string {
  return localFile(local, objectKey(sha));
}

/** The size of a local object file; NotFoundError naming the object when it is in no pack and has no file. */
async function objectSize(local: LocalStorage, sha: string): Promise<number> {
  try {
    return (await stat(objectFile(local, sha))).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    throw new NotFoundError(
      `object ${sha.slice(0, 12)}…, used by a snapshot to copy, is missing here: no object file, and no pack whose index reads holds it`,
      { cause: err, hint: 'run mm-backup verify on the local snapshots' },
    );
  }
}

/** A manifest without its file index (what the plan keeps of each local snapshot). */
function headOf(m: Manifest): Manifest {
  return { ...m, components: m.components.map((c) => ({ ...c, entries: [] })) };
}
