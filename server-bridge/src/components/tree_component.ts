/** File-tree components: config dir, application, file store, plugins, logs, Bleve, TLS and extra files. */
import { isWholeTree, type EntryList } from '../manifest/entry_list';
import path from 'node:path';
import type { ComponentRecord } from '../manifest/manifest';
import { backupTree, precopyEntries, type TreeBackupResult } from '../repository/tree_backup';
import { restoreTree } from '../repository/tree_restore';
import type { Repository } from '../repository/repository';
import type { StepContext } from '../jobs/runner';
import type { BackupComponent, BackupContext, ComponentPlan, Estimate } from './component';

export class TreeComponent implements BackupComponent {
  constructor(
    readonly plan: ComponentPlan,
    private readonly installDir: string,
  ) {}

  /** The preflight's scan, compared against the parent; pre-copied and then used as the parent of the real pass. */
  private scanned?: TreeBackupResult;
  /** The scan's index with the pre-copied files' hashes: the parent of the pass made while Mattermost is stopped. */
  private precopiedEntries?: EntryList;
  private precopied = { newBytes: 0, filesRead: 0 };

  async estimate(previous?: ComponentRecord): Promise<Estimate> {
    // The same walk as the backup's, without reading contents: the changed bytes are exact, and
    // the result is what the pre-copy fills in and the backup pass compares against.
    this.scanned = await backupTree({
      root: this.plan.root as string,
      include: this.plan.include,
      exclude: this.plan.exclude,
      previous: previous?.entries,
      scan: true,
      tolerateVanished: true,
    });
    return { files: this.scanned.files, bytes: this.scanned.bytes, changedBytes: this.scanned.changedBytes };
  }

  /**
   * Stores the files the scan found changed while Mattermost still runs, so that the pass made
   * while it is stopped only has to re-check metadata. A file changed after it was read here
   * no longer matches its entry and is read again by that pass.
   */
  async precopy(ctx: BackupContext): Promise<{ filesRead: number; bytesRead: number }> {
    const scanned = this.scanned;
    if (!scanned) return { filesRead: 0, bytesRead: 0 };
    const res = await precopyEntries(scanned, this.plan.root as string, ctx.repo, ctx.step.signal, (bytes) =>
      ctx.step.progress(bytes, scanned.changedBytes, 'bytes'),
    );
    this.precopied = res;
    this.precopiedEntries = res.entries;
    return res;
  }

  async backup(ctx: BackupContext): Promise<ComponentRecord> {
    const t0 = Date.now();
    const total = this.scanned?.bytes;
    const res = await backupTree({
      root: this.plan.root as string,
      include: this.plan.include,
      exclude: this.plan.exclude,
      // Streams read alongside the walk (a merge join): no index of the parent is built in memory.
      previous: this.precopiedEntries ?? this.scanned?.entries ?? ctx.previous?.entries,
      repo: ctx.repo,
      signal: ctx.step.signal,
      tolerateVanished: ctx.mode === 'online',
      onProgress: (p) => ctx.step.progress(p.bytes, total, 'bytes', p.currentPath),
      reads: ctx.budget?.reads,
    });
    ctx.step.progress(res.bytes, res.bytes, 'bytes');
    // Their spool files are removed once nothing refers to them (entry_spool.ts).
    this.scanned = undefined;
    this.precopiedEntries = undefined;
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
  ctx: { repo: Repository; step: StepContext; root: string },
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
  });
  return `${res.written} written, ${res.unchanged} unchanged, ${res.removed} removed`;
}
