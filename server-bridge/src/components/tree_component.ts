/** File-tree components: config dir, application, file store, plugins, logs, Bleve, TLS and extra files. */
import { isWholeTree, type EntryList } from '../manifest/entry_list';
import { stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import type { ComponentRecord } from '../manifest/manifest';
import { backupTree, precopyEntries, type TreeBackupOptions, type TreeBackupResult } from '../repository/tree_backup';
import { BridgeError } from '../core/errors';
import { restoreTree } from '../repository/tree_restore';
import type { Repository } from '../repository/repository';
import type { StepContext } from '../jobs/runner';
import type { BackupComponent, BackupContext, ComponentPlan, Estimate, WalkContext } from './component';
import { DAY_DIR, fileInfoDays } from '../database/file_info_days';
import { nextWalkState, planCarry, type CarryPlan } from '../repository/settled_days';
import type { WalkState } from '../repository/walk_state';
import type { RestoredStats } from '../repository/restored_stats';
import type { SubtreeStats } from '../repository/carried_entries';
import { plural } from '../core/units';

/** The day directory (YYYYMMDD) a path of the file store lies under, for the walk state. */
function dayOf(rel: string): string | undefined {
  const slash = rel.indexOf('/');
  if (slash !== 8) return undefined;
  const top = rel.slice(0, slash);
  return DAY_DIR.test(top) ? top : undefined;
}

/** One pass's change detection from the database: what it carries, and what it records. */
interface WalkPass {
  plan: CarryPlan;
  days?: Map<string, string>;
  startedAt: Date;
}

export class TreeComponent implements BackupComponent {
  constructor(
    readonly plan: ComponentPlan,
    private readonly installDir: string,
  ) {}

  /** The preflight's scan, compared against the parent; pre-copied and then used as the parent of the real pass. */
  private scanned?: TreeBackupResult;
  /** The scan's index with the pre-copied files' hashes: the parent of the pass made while Mattermost is stopped. */
  private precopiedEntries?: EntryList;
  /** What each day directory of precopiedEntries holds: the pass made during the stop joins settled ones in later. */
  private precopiedSubtrees?: ReadonlyMap<string, SubtreeStats>;
  private precopied = { newBytes: 0, filesRead: 0 };
  /** The tree's bytes as the precopy's own pass found them (no scan ran): the progress total. */
  private firstPassBytes?: number;
  /** The walk state of the last pass's index (the scan's, then the backup's). */
  private state?: WalkState;
  /** What the passes said about change detection, logged by backup(). */
  private readonly notes: string[] = [];
  private readonly warnings: string[] = [];

  async estimate(previous?: ComponentRecord, walk?: WalkContext): Promise<Estimate> {
    // The same walk as the backup's, without reading contents: the changed bytes are exact, and
    // the result is what the pre-copy fills in and the backup pass compares against.
    const pass = await this.walkPass(walk?.previous, walk);
    this.scanned = await this.walk(pass, {
      root: this.plan.root as string,
      include: this.plan.include,
      exclude: this.plan.exclude,
      previous: previous?.entries,
      scan: true,
      tolerateVanished: true,
    });
    this.record(pass, walk, this.scanned, 'the scan');
    return { files: this.scanned.files, bytes: this.scanned.bytes, changedBytes: this.scanned.changedBytes };
  }

  /**
   * The used space of the filesystem the tree lies on: an upper bound of what its backup can add,
   * known without walking it. Undefined when the root cannot be looked at (the scan says why).
   */
  async bound(): Promise<{ dev: number; bytes: number } | undefined> {
    const root = this.plan.root as string;
    try {
      const [st, fs] = await Promise.all([stat(root), statfs(root)]);
      return { dev: st.dev, bytes: (fs.blocks - fs.bfree) * fs.bsize };
    } catch {
      return undefined;
    }
  }

  walkState(): WalkState | undefined {
    return this.state;
  }

  /**
   * The file store only (plan.fileInfo): reads the day fingerprints and decides what this pass
   * may carry from its parent, whose walk state is `previous`. Undefined for other trees.
   */
  private async walkPass(
    previous: WalkState | undefined,
    walk: WalkContext | undefined,
  ): Promise<WalkPass | undefined> {
    if (!this.plan.fileInfo || !walk || this.plan.include) return undefined;
    const startedAt = new Date();
    let days: Map<string, string> | undefined;
    try {
      // Read before the walk: a row added after this is a change the next backup sees.
      days = await fileInfoDays(this.plan.fileInfo);
    } catch (err) {
      this.notes.push(`attachment records unreadable, every directory walked: ${(err as Error).message}`);
    }
    const plan = planCarry(previous, days, {
      now: startedAt,
      fullWalkDays: walk.fullWalkDays,
      exclude: this.plan.exclude,
    });
    return { plan, days, startedAt };
  }

  /**
   * One pass of backupTree with what `pass` carries. A carry that does not match the parent (a
   * walk state out of step with it) fails only that attempt: the pass is made again walking
   * everything, so the snapshot never has a hole and the next state is right again.
   */
  private async walk(pass: WalkPass | undefined, opts: TreeBackupOptions): Promise<TreeBackupResult> {
    if (!pass) return backupTree(opts);
    try {
      return await backupTree({ ...opts, carry: pass.plan.carry.size ? pass.plan.carry : undefined, subtreeOf: dayOf });
    } catch (err) {
      if (!(err instanceof BridgeError) || err.details?.carryMismatch === undefined) throw err;
      const rel = err.details.carryMismatch as string;
      this.warnings.push(`${err.message}; walked every directory instead`);
      pass.plan = { carry: new Map(), fullWalk: `the walk state did not match the parent under ${rel}` };
      return backupTree({ ...opts, subtreeOf: dayOf });
    }
  }

  private record(pass: WalkPass | undefined, walk: WalkContext | undefined, res: TreeBackupResult, what: string): void {
    if (!pass) return;
    this.state = pass.days
      ? nextWalkState(walk?.previous, pass.plan, pass.days, res.subtrees, {
          startedAt: pass.startedAt,
          exclude: this.plan.exclude,
        })
      : undefined;
    this.notes.push(
      pass.plan.fullWalk
        ? `${what} walked every directory (${pass.plan.fullWalk})`
        : `${what} took ${plural(res.carried, 'entry', 'entries')} of ${plural(pass.plan.carry.size, 'settled day directory', 'settled day directories')} from the parent without walking them${res.carriedLater ? ` (${plural(res.carriedLater, 'entry', 'entries')} of them joined in as the manifest is written)` : ''}`,
    );
  }

  /**
   * Stores the files the scan found changed while Mattermost still runs, so that the pass made
   * while it is stopped only has to re-check metadata. A file changed after it was read here
   * no longer matches its entry and is read again by that pass.
   */
  async precopy(ctx: BackupContext): Promise<{ filesRead: number; bytesRead: number }> {
    const scanned = this.scanned;
    if (!scanned) return this.firstPass(ctx);
    const res = await precopyEntries(
      scanned,
      ctx.repo,
      ctx.step.signal,
      (bytes) => ctx.step.progress(bytes, scanned.changedBytes, 'bytes'),
      undefined,
      this.plan.fileInfo ? dayOf : undefined,
    );
    this.precopied = res;
    this.precopiedEntries = res.entries;
    this.precopiedSubtrees = res.subtrees;
    return res;
  }

  /**
   * The precopy without a scan (the repository had room for the tree's bound): one pass reads what
   * changed as it walks, while Mattermost still runs; the pass made while it is stopped compares
   * against its index. One walk of the tree instead of two.
   */
  private async firstPass(ctx: BackupContext): Promise<{ filesRead: number; bytesRead: number }> {
    const pass = await this.walkPass(ctx.walk?.previous, ctx.walk);
    const res = await this.walk(pass, {
      root: this.plan.root as string,
      include: this.plan.include,
      exclude: this.plan.exclude,
      previous: ctx.previous?.entries,
      repo: ctx.repo,
      signal: ctx.step.signal,
      tolerateVanished: true,
      onProgress: (p) => ctx.step.progress(p.bytes, ctx.previous?.bytes, 'bytes', p.currentPath),
      subtreeOf: this.plan.fileInfo ? dayOf : undefined,
    });
    this.record(pass, ctx.walk, res, 'the pre-copy');
    this.firstPassBytes = res.bytes;
    this.precopied = { newBytes: res.newBytes, filesRead: res.filesRead };
    this.precopiedEntries = res.entries;
    this.precopiedSubtrees = res.subtreeStats;
    return { filesRead: res.filesRead, bytesRead: res.changedBytes };
  }

  async backup(ctx: BackupContext): Promise<ComponentRecord> {
    const t0 = Date.now();
    // Progress against the first pass's total, else against the parent's (an estimate).
    const total = this.scanned?.bytes ?? this.firstPassBytes ?? ctx.previous?.bytes;
    // After a scan or a first pass (each leaves an index), this pass's parent is that index, and
    // its walk state that pass's.
    const earlier = this.scanned !== undefined || this.precopiedEntries !== undefined;
    const walk = ctx.walk && (earlier ? { ...ctx.walk, previous: this.state } : ctx.walk);
    const pass = await this.walkPass(walk?.previous, walk);
    const res = await this.walk(pass, {
      root: this.plan.root as string,
      include: this.plan.include,
      exclude: this.plan.exclude,
      // Streams read alongside the walk (a merge join): no index of the parent is built in memory.
      previous: this.precopiedEntries ?? this.scanned?.entries ?? ctx.previous?.entries,
      // The scan's, without a pre-copy (online): its days with changed files are walked, not carried.
      previousSubtrees: this.precopiedEntries ? this.precopiedSubtrees : this.scanned?.subtreeStats,
      repo: ctx.repo,
      signal: ctx.step.signal,
      tolerateVanished: ctx.mode === 'online',
      onProgress: (p) => ctx.step.progress(p.bytes, total, 'bytes', p.currentPath),
      reads: ctx.budget?.reads,
    });
    this.record(pass, walk, res, 'the copy');
    for (const n of this.notes.splice(0)) ctx.step.log('info', n);
    for (const w of this.warnings.splice(0)) ctx.step.log('warn', w);
    ctx.step.progress(res.bytes, res.bytes, 'bytes');
    // Their spool files are removed once nothing refers to them (entry_spool.ts).
    this.scanned = undefined;
    this.precopiedEntries = undefined;
    this.precopiedSubtrees = undefined;
    this.firstPassBytes = undefined;
    for (const w of res.warnings) ctx.step.log('warn', w);
    const root = this.plan.root as string;
    const rel = path.relative(this.installDir, root);
    return {
      id: this.plan.id,
      title: this.plan.title,
      status: 'included',
      root,
      rootInInstall: !rel.startsWith('..') && !path.isAbsolute(rel) ? rel.split(path.sep).join('/') || '.' : undefined,
      exclude: this.plan.exclude,
      entries: res.entries,
      files: res.files,
      bytes: res.bytes,
      newBytes: res.newBytes + this.precopied.newBytes,
      filesRead: res.filesRead + this.precopied.filesRead,
      durationMs: Date.now() - t0,
    };
  }
}

/** Restores a tree record to `ctx.root` (its original root unless relocated). */
export async function restoreTreeRecord(
  record: ComponentRecord,
  ctx: { repo: Repository; step: StepContext; root: string; stats?: RestoredStats },
): Promise<string> {
  const root = ctx.root;
  // The list is streamed by each pass of the restore; the record's byte count is the total.
  const total = record.bytes || undefined;
  const res = await restoreTree({
    entries: record.entries,
    root,
    exclude: record.exclude,
    mode: (await isWholeTree(record.entries)) ? 'mirror' : 'files',
    component: record.id,
    repo: ctx.repo,
    signal: ctx.step.signal,
    onProgress: (p) => ctx.step.progress(p.bytes, total, 'bytes'),
    stats: ctx.stats,
  });
  for (const w of res.warnings) ctx.step.log('warn', w);
  return `${res.written} written, ${res.unchanged} unchanged, ${res.removed} removed`;
}
