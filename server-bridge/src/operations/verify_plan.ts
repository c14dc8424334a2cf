/**
 * verify: re-hash every object the snapshot references (a flipped byte or a missing object is
 * named with its file and component), read each dump through and compare row counts, and with
 * `deep` restore the dump into a throwaway database and count again. The result is recorded.
 */
import { TaskPool } from '../core/pool';
import { VerificationError, type VerifyIssue } from '../core/errors';
import { newJobId } from '../core/ids';
import type { Manifest } from '../manifest/manifest';
import { kindOf } from '../components/registry';
import type { DatabaseEngine } from '../database/engine';
import type { Repository } from '../repository/repository';
import type { EngineContext } from '../jobs/context';
import type { Job, Step, StepContext } from '../jobs/runner';
import { writeVerification } from '../repository/verifications';

export interface VerifyOutcome {
  issues: VerifyIssue[];
  objects: number;
}

/** Re-hashes all objects of `m` (or of the listed components). */
export async function checkObjects(
  repo: Repository,
  m: Manifest,
  ctx: StepContext,
  only?: Set<string>,
): Promise<{ issues: VerifyIssue[]; objects: number }> {
  const byObject = new Map<string, { component: string; path?: string; size?: number }>();
  for (const c of m.components) {
    if ((only && !only.has(c.id)) || c.status !== 'included') continue;
    for await (const o of kindOf(c).objects(c)) {
      if (!byObject.has(o.sha256)) byObject.set(o.sha256, { component: c.id, path: o.path, size: o.size });
    }
  }
  const issues: VerifyIssue[] = [];
  const total = [...byObject.values()].reduce((n, o) => n + (o.size ?? 0), 0);
  const checked = { bytes: 0 };
  const pool = new TaskPool(4);
  for (const [sha, where] of byObject) {
    await pool.add(async () => {
      const problem = await repo.checkObject(sha, where.size, { signal: ctx.signal });
      if (problem) issues.push({ component: where.component, path: where.path, object: sha, problem });
      checked.bytes += where.size ?? 0;
      ctx.progress(checked.bytes, total, 'bytes', where.path);
    });
  }
  await pool.drain();
  return { issues, objects: byObject.size };
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
  const outcome: VerifyOutcome = { issues: [], objects: 0 };
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
      id: 'checksums',
      title: 'Re-hash every object against the manifest',
      run: async (ctx) => {
        const r = await checkObjects(ec.repo, m, ctx);
        outcome.issues.push(...r.issues);
        outcome.objects = r.objects;
        for (const { c, kind } of records.filter((x) => x.title === undefined)) {
          const found = await kind.verify(c, { repo: ec.repo, step: ctx, deep: opts.deep });
          outcome.issues.push(...found);
          r.issues.push(...found);
        }
        return `${r.objects} objects, ${r.issues.length} problems`;
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
          ? `${issues.length} problems`
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
          `snapshot ${m.id} failed verification (${outcome.issues.length} problems): ${first}`,
          outcome.issues,
          {
            hint: 'do not restore from this snapshot; take a new backup and check the repository disk',
          },
        );
      }
    },
  });
  return { job: { id: newJobId(), kind: 'verify', steps, finally: [] }, outcome };
}
