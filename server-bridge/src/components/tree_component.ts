/** File-tree components: config dir, application, file store, plugins, logs, Bleve, TLS and extra files. */
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Entry, ComponentRecord } from '../manifest/manifest';
import type { ComponentPlan } from '../discovery/discover';
import { backupTree } from '../repository/tree_backup';
import { restoreTree } from '../repository/tree_restore';
import type { BackupComponent, BackupContext, Estimate, RestoreContext } from './component';
import { mapLimit, Semaphore } from '../core/pool';

export class TreeComponent implements BackupComponent {
  constructor(readonly plan: ComponentPlan, private readonly installDir: string) {}

  /** The last estimate, reused by backup() for its progress totals instead of walking again. */
  private estimated?: Estimate;

  async estimate(previous?: ComponentRecord): Promise<Estimate> {
    const prev = indexEntries(previous);
    const est: Estimate = { files: 0, bytes: 0, changedBytes: 0 };
    const root = this.plan.root as string;
    const excluded = new Set(this.plan.exclude);
    const meta = new Semaphore(32);
    const walk = async (rel: string): Promise<void> => {
      if (excluded.has(rel)) return;
      const st = await meta.run(() => lstat(rel ? path.join(root, rel) : root, { bigint: true })).catch(() => undefined);
      if (!st) return;
      if (st.isDirectory()) {
        const names = await meta.run(() => readdir(rel ? path.join(root, rel) : root)).catch(() => [] as string[]);
        await mapLimit(names, 32, (n) => walk(rel ? `${rel}/${n}` : n));
      } else if (st.isFile()) {
        const size = Number(st.size);
        est.files++;
        est.bytes += size;
        const p = prev.get(rel);
        if (!(p && p.size === size && p.mtime === st.mtimeNs.toString() && p.ino === Number(st.ino))) est.changedBytes += size;
      }
    };
    if (this.plan.include) for (const rel of this.plan.include) await walk(rel);
    else await walk('');
    this.estimated = est;
    return est;
  }

  async backup(ctx: BackupContext): Promise<ComponentRecord> {
    const t0 = Date.now();
    const est = this.estimated ?? (await this.estimate(ctx.previous));
    const res = await backupTree({
      root: this.plan.root as string,
      include: this.plan.include,
      exclude: this.plan.exclude,
      previous: indexEntries(ctx.previous),
      repo: ctx.repo,
      signal: ctx.step.signal,
      tolerateVanished: ctx.mode === 'online',
      onProgress: (p) => ctx.step.progress(p.bytes, est.bytes, 'bytes', p.currentPath),
    });
    ctx.step.progress(res.bytes, est.bytes, 'bytes');
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
      newBytes: res.newBytes,
      filesRead: res.filesRead,
      durationMs: Date.now() - t0,
    };
  }
}

/** Restores a tree record to `ctx.root` (its original root unless relocated). */
export async function restoreTreeRecord(record: ComponentRecord, ctx: RestoreContext): Promise<string> {
  const root = ctx.root ?? (record.root as string);
  const total = record.entries.reduce((n, e) => n + (e.size ?? 0), 0);
  const isRootTree = record.entries.some((e) => e.path === '');
  const res = await restoreTree({
    entries: record.entries,
    root,
    exclude: record.exclude,
    mode: isRootTree ? 'mirror' : 'files',
    repo: ctx.repo,
    signal: ctx.step.signal,
    onProgress: (p) => ctx.step.progress(p.bytes, total, 'bytes'),
  });
  return `${res.written} written, ${res.unchanged} unchanged, ${res.removed} removed`;
}

export function indexEntries(record?: ComponentRecord): Map<string, Entry> {
  return new Map((record?.entries ?? []).map((e) => [e.path, e]));
}
