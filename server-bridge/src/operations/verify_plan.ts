/**
 * verify: re-hash every object the snapshot references (a flipped byte or a missing object is
 * named with its file and component), read each dump through and compare row counts, and with
 * `deep` restore the dump into a throwaway database and count again. The result is recorded.
 */
import { createHash } from 'node:crypto';
import { TaskPool } from '../core/pool';
import { BridgeError, throwIfAborted, VerificationError, type VerifyIssue } from '../core/errors';
import { HashSorter } from '../core/hash_sort';
import { newJobId } from '../core/ids';
import type { Manifest } from '../manifest/manifest';
import { spoolDir } from '../manifest/spool_dir';
import { kindOf } from '../components/registry';
import type { DatabaseEngine } from '../database/engine';
import { INLINE_FILE, type Repository } from '../repository/repository';
import { pacedSteps, WalkPacer } from '../repository/walk_pacer';
import type { EngineContext } from '../jobs/context';
import type { Job, Step, StepContext } from '../jobs/runner';
import { writeVerification } from '../repository/verifications';
import { plural } from '../core/units';
import { checkPacks } from './verify_packs';

export interface VerifyOutcome {
  issues: VerifyIssue[];
  objects: number;
  /** Problems found beyond the MAX_LISTED_ISSUES listed in `issues`. */
  unlisted: number;
  /** Findings that are not failures (packs without an index): shown, not recorded. */
  notes: string[];
}

/** Problems listed at most; more are counted (`unlisted`): a wiped repository must not fill memory with them. */
export const MAX_LISTED_ISSUES = 1000;

/**
 * Re-hashes all objects of `m` (or of the listed components), each distinct object once, in the
 * manifest's order; a problem names the first file that uses the object. Flat at millions of
 * objects: a first pass numbers every reference and sorts the names on local disk (hash_sort.ts,
 * exact: names compared whole), which marks, in a bit per reference, the first reference of each
 * object and sums the bytes to check; the second pass reads the manifest again and checks the
 * marked references. `issues` holds at most MAX_LISTED_ISSUES; `unlisted` counts the rest.
 */
export async function checkObjects(
  repo: Repository,
  m: Manifest,
  ctx: StepContext,
  only?: Set<string>,
  opts: { pacer?: WalkPacer } = {},
): Promise<{ issues: VerifyIssue[]; objects: number; unlisted: number }> {
  const records = m.components.filter((c) => !(only && !only.has(c.id)) && c.status === 'included');
  async function* references(): AsyncGenerator<{ component: string; sha256: string; path: string; size?: number }> {
    for (const c of records) for await (const o of kindOf(c).objects(c)) yield { component: c.id, ...o };
  }
  const sorter = new HashSorter(await spoolDir());
  let refs = 0;
  let objects = 0;
  let total = 0;
  let first: FirstReferences;
  const pass1 = createHash('sha256');
  try {
    for await (const o of references()) {
      pass1.update(o.sha256);
      await sorter.add(o.sha256, refs++, o.size ?? 0);
    }
    first = new FirstReferences(refs);
    for await (const o of sorter.distinct()) {
      first.mark(o.a);
      objects++;
      total += o.b;
    }
  } finally {
    await sorter.dispose();
  }
  const issues: VerifyIssue[] = [];
  const found = { unlisted: 0 };
  const checked = { bytes: 0 };
  const pool = new TaskPool(4);
  const pass2 = createHash('sha256');
  let seq = 0;
  const record = (where: { component: string; path: string; sha256: string; size?: number }, problem?: string) => {
    if (problem) {
      if (issues.length < MAX_LISTED_ISSUES) {
        issues.push({ component: where.component, path: where.path, object: where.sha256, problem });
      } else {
        found.unlisted++;
      }
    }
    checked.bytes += where.size ?? 0;
    ctx.progress(checked.bytes, total, 'bytes', where.path);
  };
  // Small objects of a local repository are checked with synchronous calls while the pacer finds
  // that faster (a warm cache; each awaited read costs a trip through libuv's thread pool), the
  // rest four at a time; the loop yields every 20 ms so progress and requests are served.
  const pacer = opts.pacer ?? (repo.copiesSmallSync ? new WalkPacer() : new WalkPacer({ fixed: 'async' }));
  const step = pacedSteps(pacer, pool);
  await repo.loadPacks({ signal: ctx.signal }); // the synchronous checks look packed objects up
  for await (const where of references()) {
    pass2.update(where.sha256);
    if (!first.has(seq++)) continue;
    const small = repo.copiesSmallSync && (where.size ?? INLINE_FILE + 1) <= INLINE_FILE;
    await step(
      small
        ? () => {
            throwIfAborted(ctx.signal);
            record(where, repo.checkSmallObjectSync(where.sha256, where.size));
          }
        : undefined,
      async () => record(where, await repo.checkObject(where.sha256, where.size, { signal: ctx.signal })),
    );
  }
  await pool.drain();
  // The second pass must have read what the first sorted (entry streams are re-read from private
  // spool files, so it has): otherwise an object could have gone unchecked.
  if (seq !== refs || pass1.digest('hex') !== pass2.digest('hex')) {
    throw new BridgeError('INTERNAL', `the file index of snapshot ${m.id} changed while it was verified`);
  }
  return { issues, objects, unlisted: found.unlisted };
}

/** One bit per reference: set for the first reference of each object. */
class FirstReferences {
  private readonly bits: Uint8Array;
  constructor(n: number) {
    this.bits = new Uint8Array(Math.ceil(n / 8));
  }
  mark(i: number): void {
    this.bits[i >>> 3] = (this.bits[i >>> 3] as number) | (1 << (i & 7));
  }
  has(i: number): boolean {
    return ((this.bits[i >>> 3] as number) & (1 << (i & 7))) !== 0;
  }
}

/**
 * `allowUnsigned` checks a snapshot that has no signature yet
 * (sign-snapshots, before it signs; --allow-unsigned), never one with a bad or untrusted signature.
 */
export function planVerify(
  ec: EngineContext,
  m: Manifest,
  engine: DatabaseEngine | undefined,
  opts: { deep: boolean; allowUnsigned?: boolean },
): { job: Job; outcome: VerifyOutcome } {
  const outcome: VerifyOutcome = { issues: [], objects: 0, unlisted: 0, notes: [] };
  // Each record is checked by its kind: in a step of its own (a dump read through), or with the checksums.
  const records = m.components
    .filter((c) => c.status === 'included')
    .map((c) => ({ c, kind: kindOf(c), title: kindOf(c).verifyTitle(c, opts.deep) }));
  const steps: Step[] = [
    {
      id: 'authenticate',
      title: "Check the snapshot's signature",
      run: async () => {
        const v = await ec.trust.requireManifest(ec.repo, m, { allowUnsigned: opts.allowUnsigned, action: 'verified' });
        return v.state === 'signed' ? `signed by ${v.fingerprint}` : 'NOT SIGNED (--allow-unsigned)';
      },
    },
    {
      id: 'packs',
      title: opts.deep
        ? 'Check the packs against their indexes and re-hash each pack whole'
        : 'Check the packs against their indexes',
      run: async (ctx) => {
        const r = await checkPacks(ec.repo, ctx, { deep: opts.deep });
        const room = Math.max(0, MAX_LISTED_ISSUES - outcome.issues.length);
        outcome.issues.push(...r.issues.slice(0, room));
        outcome.unlisted += Math.max(0, r.issues.length - room);
        outcome.notes.push(...r.notes);
        return r.summary;
      },
    },
    {
      id: 'checksums',
      title: 'Re-hash every object against the manifest',
      run: async (ctx) => {
        const r = await checkObjects(ec.repo, m, ctx);
        outcome.issues.push(...r.issues);
        outcome.objects = r.objects;
        outcome.unlisted += r.unlisted;
        for (const { c, kind } of records.filter((x) => x.title === undefined)) {
          const found = await kind.verify(c, { repo: ec.repo, step: ctx, deep: opts.deep });
          outcome.issues.push(...found);
          r.issues.push(...found);
        }
        return `${plural(r.objects, 'object')}, ${plural(r.issues.length + r.unlisted, 'problem')}`;
      },
    },
  ];
  for (const { c, kind, title } of records) {
    if (title === undefined) continue;
    steps.push({
      id: `dump-${c.id}`,
      title,
      skip: () => (outcome.issues.some((i) => i.component === c.id) ? 'its dump failed the checksum' : undefined),
      run: async (ctx) => {
        const scratch = engine ? ec.adminEngine(engine) : undefined;
        const issues = await kind.verify(c, { repo: ec.repo, step: ctx, deep: opts.deep, scratchEngine: scratch });
        outcome.issues.push(...issues);
        return issues.length
          ? plural(issues.length, 'problem')
          : `${Object.keys(c.database?.rowCounts ?? {}).length} tables match`;
      },
    });
  }
  steps.push({
    id: 'record',
    title: 'Record the verification result',
    run: async () => {
      await writeVerification(
        ec.storage,
        {
          snapshotId: m.id,
          at: new Date().toISOString(),
          deep: opts.deep,
          ok: outcome.issues.length === 0,
          issues: outcome.issues,
        },
        await ec.trust.signer(),
      );
      if (outcome.issues.length) {
        const first = outcome.issues
          .slice(0, 5)
          .map((i) => `${i.component}${i.path ? ` ${i.path}` : ''}: ${i.problem}`)
          .join('; ');
        throw new VerificationError(
          `snapshot ${m.id} failed verification (${plural(outcome.issues.length + outcome.unlisted, 'problem')}): ${first}`,
          outcome.issues,
          { hint: failureHint(outcome.issues) },
        );
      }
    },
  });
  return { job: { id: newJobId(), kind: 'verify', steps, finally: [] }, outcome };
}

/** What to do: a damaged pack's objects are not stored again by a backup while its index lists them. */
function failureHint(issues: VerifyIssue[]): string {
  const base = 'do not restore from this snapshot; take a new backup and check the repository disk';
  const packLevel = (i: VerifyIssue) => i.component === 'pack' || i.component === 'pack-index';
  if (!issues.some(packLevel)) return base;
  const packs =
    'packs or pack indexes are damaged, and a backup stores again only the objects no readable index lists: see docs/storage.md "When verify finds a damaged pack"';
  return issues.every(packLevel) ? `every object of this snapshot checked intact, but ${packs}` : `${base}; ${packs}`;
}
