/**
 * verify's look at the repository's packs (docs/storage.md "Packs"): every index file against the
 * pack it names. An index file that cannot be used, a pack that is missing or has another size
 * than its index says and (deep) a pack whose content does not hash to its name are problems: the
 * objects in them are lost to every snapshot that uses them, and a damaged repository fails verify
 * as pgBackRest's does in a deep one. A pack without an index is a note: an interrupted backup
 * leaves one, nothing reads it, prune removes it.
 */
import { createHash } from 'node:crypto';
import { NotFoundError, StorageError, throwIfAborted, VerificationError, type VerifyIssue } from '../core/errors';
import { formatBytes, plural } from '../core/units';
import type { StepContext } from '../jobs/runner';
import { PACKS, packIndexKey, packKey, packOfIndexKey, packOfKey } from '../repository/layout';
import type { Repository } from '../repository/repository';
import { sizesComparable } from './object_presence';

/** Orphan packs named in the note; the rest are counted. */
const NAMED_ORPHANS = 5;

/** What checkPacks found. */
export interface PackFindings {
  /** Problems, each naming the index file or pack (component "pack-index" or "pack"). */
  issues: VerifyIssue[];
  /** Findings that are not failures (packs without an index). */
  notes: string[];
  /** One line for the step's log. */
  summary: string;
}

/**
 * Checks every pack index against its pack: broken index files (repo.packs.broken), packs missing
 * or of another size than their index says (sizes only where the listing gives them exactly: not
 * through encryption, whose listing derives them from the current recipients, or gives the
 * stored size on a host without any), packs without an index (a note), and with `deep`
 * each pack read whole, streamed, and hashed against its name. Loads the index afresh, so the
 * object checks after it see the same index (call between jobs, never while a backup writes packs). Reads nothing an index points to
 * (the per-object checks do that, bounded by the storage's range checks). Storage failures other
 * than a missing or unreadable pack are thrown.
 */
export async function checkPacks(repo: Repository, ctx: StepContext, opts: { deep: boolean }): Promise<PackFindings> {
  // A fresh look: a long-lived repository (the sidecar's) may hold an index an earlier job loaded.
  repo.packs.dropIndex();
  await repo.loadPacks({ signal: ctx.signal });
  const issues: VerifyIssue[] = repo.packs.broken.map((b) => ({
    component: 'pack-index',
    path: b.key,
    object: packOfIndexKey(b.key),
    problem: `${b.problem}; the objects it lists count as missing`,
  }));
  const indexed = repo.packs.indexedPacks();
  const indexedSize = new Map(indexed.map((p) => [p.pack, p.size]));
  // A broken index's pack is not an orphan: its index is reported above.
  const brokenPacks = new Set(repo.packs.broken.map((b) => packOfIndexKey(b.key)));
  const listed = new Map<string, number>();
  const orphans = { count: 0, bytes: 0, named: [] as string[] };
  for await (const o of repo.storage.list(PACKS)) {
    throwIfAborted(ctx.signal);
    const pack = packOfKey(o.key);
    if (!pack) continue;
    if (indexedSize.has(pack)) listed.set(pack, o.size);
    else if (!brokenPacks.has(pack)) {
      orphans.count++;
      orphans.bytes += o.size;
      if (orphans.named.length < NAMED_ORPHANS) orphans.named.push(o.key);
    }
  }
  const exactSizes = sizesComparable(repo.storage);
  const toHash: Array<{ pack: string; size: number }> = [];
  for (const { pack, size } of indexed) {
    const has = listed.get(pack);
    if (has === undefined) {
      issues.push(packIssue(pack, `is missing: the objects its index (${packIndexKey(pack)}) lists are lost`));
    } else if (exactSizes && has !== size) {
      issues.push(packIssue(pack, `has ${has} bytes, its index says ${size}: the objects past its end are lost`));
    } else toHash.push({ pack, size });
  }
  let hashed = 0;
  if (opts.deep) {
    const total = toHash.reduce((n, p) => n + p.size, 0);
    for (const { pack, size } of toHash) {
      const before = hashed;
      const problem = await hashPack(repo, pack, size, ctx, (n) =>
        ctx.progress(before + n, total, 'bytes', packKey(pack)),
      );
      hashed += size;
      if (problem) issues.push(packIssue(pack, problem));
    }
  }
  const notes: string[] = [];
  if (orphans.count) {
    const more = orphans.count > orphans.named.length ? ', …' : '';
    const note = `${plural(orphans.count, 'pack')} without an index (${orphans.named.join(', ')}${more}; ${formatBytes(orphans.bytes)}): left by an interrupted backup, nothing reads them; mm-backup prune removes them`;
    notes.push(note);
    ctx.log('info', note);
  }
  const rehashed = opts.deep ? `, ${formatBytes(hashed)} re-hashed whole` : '';
  const orphanText = orphans.count ? `, ${plural(orphans.count, 'pack')} without an index (a note)` : '';
  const none = !indexed.length && !issues.length && !orphans.count;
  return {
    issues,
    notes,
    summary: none
      ? 'no packs'
      : `${plural(indexed.length, 'pack')}${rehashed}, ${plural(issues.length, 'problem')}${orphanText}`,
  };
}

function packIssue(pack: string, problem: string): VerifyIssue {
  return { component: 'pack', path: packKey(pack), object: pack, problem: `pack ${problem}` };
}

/** Reads pack `pack` whole as a stream and says what is wrong with it, or undefined when it hashes to its name. */
async function hashPack(
  repo: Repository,
  pack: string,
  size: number,
  ctx: StepContext,
  progress: (bytes: number) => void,
): Promise<string | undefined> {
  let got: { sha: string; bytes: number };
  try {
    // A whole read: retried from the start (a fresh hash) if the connection breaks midway.
    got = await repo.storage.load(
      packKey(pack),
      async (body) => {
        const h = createHash('sha256');
        let n = 0;
        for await (const chunk of body) {
          h.update(chunk as Buffer);
          n += (chunk as Buffer).length;
          progress(n);
        }
        return { sha: h.digest('hex'), bytes: n };
      },
      { signal: ctx.signal },
    );
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    if (err instanceof NotFoundError) return 'is missing (removed while verify ran?)';
    if (err instanceof VerificationError || (err instanceof StorageError && err.permanent)) {
      return `cannot be read: ${err.message}`;
    }
    throw err;
  }
  if (got.bytes !== size) return `has ${got.bytes} bytes, its index says ${size}`;
  if (got.sha !== pack) return `is damaged: its content hashes to ${got.sha.slice(0, 12)}…, not its name`;
  return undefined;
}
