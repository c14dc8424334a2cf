/**
 * Prune's part for packs: carries out a survey (pack_survey.ts) in an order where an interruption
 * at any point leaves every used object readable. A partly used pack's kept objects are copied
 * into new packs, each stored with its index (pack_store.ts) and made durable (the repository's
 * sync) before the old index and then the old pack are removed: in between, an object is in two
 * packs, which readers allow. An unused pack loses its index first, then the pack: a pack without
 * an index is an orphan nobody reads, removed by the next prune. Storage calls only (a local
 * directory or a bucket, encrypted or not).
 */
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { NotFoundError, StorageError, VerificationError } from '../core/errors';
import type { PrefixSet } from '../core/hash_set';
import { packIndexKey, packKey } from './layout';
import { readPackIndexFile } from './pack_index';
import type { PackedObject } from './pack_index_file';
import { PackDamagedError } from './pack_reader';
import { storePack } from './pack_store';
import { surveyPacks, type PackFate } from './pack_survey';
import { PackWriter, type FinishedPack } from './pack_writer';
import type { Repository } from './repository';

/** What the sweep did (in a dry run: would do). Objects and bytes are those no kept snapshot uses. */
export interface PackSweepResult {
  /** Unused packs and orphan pack files removed. */
  packsRemoved: number;
  /** Partly used packs rewritten (their kept objects copied into new packs, then removed). */
  packsRepacked: number;
  /** New packs written by the rewrites (0 in a dry run). */
  packsWritten: number;
  objectsRemoved: number;
  bytesFreed: number;
}

export interface PackSweepOptions {
  dryRun: boolean;
  signal?: AbortSignal;
  log: (level: 'info' | 'warn', message: string) => void;
}

/** Whether reading a pack failed for good (damaged, gone, refused): the pack is left as it is. */
function unreadable(err: unknown): boolean {
  return (
    err instanceof VerificationError || err instanceof NotFoundError || (err instanceof StorageError && err.permanent)
  );
}

const short = (pack: string) => `${pack.slice(0, 12)}…`;

/**
 * Removes unused packs and orphan pack files and rewrites partly used packs (see surveyPacks for
 * which). Index files that do not parse are left with their pack (its objects might be in use)
 * and reported through `log`, as are indexes whose pack is missing. Storage failures are thrown;
 * what was done before them is safe to leave (see above). The repository's loaded pack index is
 * dropped when anything changed.
 */
export async function sweepPacks(repo: Repository, inUse: PrefixSet, opts: PackSweepOptions): Promise<PackSweepResult> {
  const survey = await surveyPacks(repo.storage, inUse, opts);
  for (const b of survey.broken) {
    opts.log('warn', `${b.problem}; ${b.key} and the pack it names are kept (their objects might be in use)`);
  }
  for (const f of survey.fates.filter((x) => x.fate === 'missing')) {
    opts.log('warn', `pack ${short(f.pack)} is missing but its index is there: left for mm-backup verify to report`);
  }
  const result: PackSweepResult = {
    packsRemoved: 0,
    packsRepacked: 0,
    packsWritten: 0,
    objectsRemoved: 0,
    bytesFreed: 0,
  };
  const freed = (f: PackFate) => {
    result.objectsRemoved += f.count - f.keptCount;
    result.bytesFreed += f.size - f.keptBytes;
  };
  const repacks = survey.fates.filter((f) => f.fate === 'repack');
  const removes = survey.fates.filter((f) => f.fate === 'remove');
  if (opts.dryRun) {
    for (const f of [...repacks, ...removes]) freed(f);
    result.packsRepacked = repacks.length;
    result.packsRemoved = removes.length + survey.orphans.length;
    result.bytesFreed += survey.orphans.reduce((n, o) => n + o.size, 0);
    return result;
  }
  try {
    // Orphans first: a rewrite may store the very pack an interrupted one left without its index
    // (the same objects in the same order), which must not be removed after its index is back.
    for (const o of survey.orphans) {
      await repo.storage.delete(packKey(o.pack));
      result.bytesFreed += o.size;
      result.packsRemoved++;
    }
    let written = new Set<string>();
    let copied: PackFate[] = [];
    if (repacks.length) {
      const copy = await copyKept(repo, repacks, inUse, opts);
      copied = copy.copied;
      written = copy.written;
      result.packsWritten = written.size;
      // The new packs durable before anything they replace goes (a local repository's puts are renames).
      await repo.sync();
      if (copied.length < repacks.length) spareDependents(copied, removes, opts);
    }
    await spareUnchecked(repo, copied, removes, written, opts);
    for (const f of copied) {
      // A rewrite that came out byte for byte the same (only empty objects dropped) is the pack itself.
      if (!written.has(f.pack)) await removePack(repo, f.pack);
      freed(f);
      result.packsRepacked++;
    }
    for (const f of removes) {
      // Never a pack just written (the same bytes as one its objects left: only empty objects differ).
      if (!written.has(f.pack)) await removePack(repo, f.pack);
      freed(f);
      result.packsRemoved++;
    }
  } finally {
    if (repacks.length || removes.length || survey.orphans.length) repo.packs.dropIndex();
  }
  return result;
}

/**
 * A rewrite found a pack damaged: a pack that left some of its used objects to another copy (which
 * may be the damaged one) is not removed this time. Takes them out of `copied` and `removes`.
 */
function spareDependents(copied: PackFate[], removes: PackFate[], opts: PackSweepOptions): void {
  for (const list of [copied, removes]) {
    for (let i = list.length - 1; i >= 0; i--) {
      const f = list[i] as PackFate;
      if (f.keptElsewhere.size === 0) continue;
      opts.log('warn', `pack ${short(f.pack)} is kept: another copy of some of its objects is in a damaged pack`);
      list.splice(i, 1);
    }
  }
}

/**
 * A pack that leaves used objects to another copy (keptElsewhere) goes only once each such object
 * was read and hash-checked in a pack this prune does not remove: a copy of the right size can
 * still hold changed bytes, and removing the pack that held the good one would lose the object.
 * Takes packs whose objects are not so found out of `copied` and `removes` (kept, with a warning).
 */
async function spareUnchecked(
  repo: Repository,
  copied: PackFate[],
  removes: PackFate[],
  written: Set<string>,
  opts: PackSweepOptions,
): Promise<void> {
  if (![...copied, ...removes].some((f) => f.keptElsewhere.size > 0)) return;
  const going = new Set([...copied, ...removes].map((f) => f.pack).filter((p) => !written.has(p)));
  const index = await repo.packs.load(opts);
  const checked = new Map<string, boolean>();
  const goodCopy = async (sha: string): Promise<boolean> => {
    const known = checked.get(sha);
    if (known !== undefined) return known;
    let ok = false;
    for (const loc of index.locations(sha)) {
      if (going.has(loc.pack)) continue;
      try {
        const bytes = await repo.packs.read(loc, opts);
        ok = bytes.length === loc.size && createHash('sha256').update(bytes).digest('hex') === sha;
      } catch (err) {
        if (!unreadable(err)) throw err;
      }
      if (ok) break;
    }
    checked.set(sha, ok);
    return ok;
  };
  for (const list of [copied, removes]) {
    for (let i = list.length - 1; i >= 0; i--) {
      const f = list[i] as PackFate;
      for (const sha of f.keptElsewhere) {
        if (await goodCopy(sha)) continue;
        opts.log('warn', `pack ${short(f.pack)} is kept: no other pack staying holds a good copy of ${short(sha)}`);
        list.splice(i, 1);
        break;
      }
    }
  }
}

/** The index first, then the pack: never an index naming a pack that is gone. */
async function removePack(repo: Repository, pack: string): Promise<void> {
  await repo.storage.delete(packIndexKey(pack));
  await repo.storage.delete(packKey(pack));
}

/** The objects of `f` to copy, from its index read again; undefined when it cannot be (warned). */
async function keptObjects(
  repo: Repository,
  f: PackFate,
  inUse: PrefixSet,
  opts: PackSweepOptions,
): Promise<PackedObject[] | undefined> {
  const key = packIndexKey(f.pack);
  try {
    const info = await repo.storage.stat(key);
    if (!info) throw new NotFoundError(`${key} is gone`);
    const index = await readPackIndexFile(repo.storage, info, f.pack, opts);
    return index.objects.filter((o) => inUse.has(o.sha256) && !f.keptElsewhere.has(o.sha256));
  } catch (err) {
    if (!unreadable(err)) throw err;
    opts.log('warn', `pack ${short(f.pack)} is kept as it is, not rewritten: ${(err as Error).message}`);
    return undefined;
  }
}

/**
 * Copies the kept objects of `fates` into new packs in the repository's staging directory, each
 * slice checked against its name, and stores them (pack, then index). Returns the new packs' names
 * and the packs whose kept objects were all copied; a pack that cannot be read whole is skipped
 * (and kept) with a warning, the objects of it already copied being harmless duplicates.
 */
async function copyKept(
  repo: Repository,
  fates: PackFate[],
  inUse: PrefixSet,
  opts: PackSweepOptions,
): Promise<{ written: Set<string>; copied: PackFate[] }> {
  const storage = repo.storage;
  const staging = await repo.stagingDirectory();
  const written = new Set<string>();
  const copied: PackFate[] = [];
  let writer: PackWriter | undefined;
  const finish = async (): Promise<void> => {
    const w = writer;
    writer = undefined;
    if (!w) return;
    let pack: FinishedPack;
    try {
      pack = await w.finish();
    } catch (err) {
      await w.abort();
      throw err;
    }
    try {
      await storePack(storage, pack, opts);
    } catch (err) {
      await rm(pack.file, { force: true });
      throw err;
    }
    written.add(pack.packSha);
  };
  try {
    for (const f of fates) {
      const kept = await keptObjects(repo, f, inUse, opts);
      let complete = kept !== undefined;
      for (const o of kept ?? []) {
        let bytes: Buffer;
        try {
          bytes = await repo.packs.read({ pack: f.pack, offset: o.offset, size: o.size }, opts);
          const actual = createHash('sha256').update(bytes).digest('hex');
          if (actual !== o.sha256 || bytes.length !== o.size) {
            throw new PackDamagedError(f.pack, `object ${short(o.sha256)} does not match its checksum`);
          }
        } catch (err) {
          if (!unreadable(err)) throw err;
          opts.log('warn', `pack ${short(f.pack)} is kept as it is, not rewritten: ${(err as Error).message}`);
          complete = false;
          break;
        }
        writer ??= PackWriter.open(staging);
        await writer.add(o.sha256, bytes);
        if (writer.full) await finish();
      }
      if (complete) copied.push(f);
    }
    await finish();
  } finally {
    await writer?.abort();
  }
  return { written, copied };
}
