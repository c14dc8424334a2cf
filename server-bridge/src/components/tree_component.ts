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
    // A cheaper walk than the backup's: directory entries say which names are directories, so
    // only files are stat'ed, without BigInt; an mtime compared to the millisecond is enough for
    // an estimate (the backup itself compares nanoseconds).
    const walk = async (rel: string, known?: 'dir' | 'file'): Promise<void> => {
      if (excluded.has(rel)) return;
      const abs = rel ? path.join(root, rel) : root;
      let kind = known;
      let st;
      if (kind !== 'dir') {
        st = await meta.run(() => lstat(abs)).catch(() => undefined);
        if (!st) return;
        kind = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : undefined;
      }
      if (kind === 'dir') {
        const list = await meta.run(() => readdir(abs, { withFileTypes: true })).catch(() => []);
        const wanted = list.filter((d) => d.isDirectory() || d.isFile());
        await mapLimit(wanted, 32, (d) => walk(rel ? `${rel}/${d.name}` : d.name, d.isDirectory() ? 'dir' : 'file'));
      } else if (kind === 'file') {
        const stat = st ?? (await meta.run(() => lstat(abs)).catch(() => undefined));
        if (!stat?.isFile()) return;
        est.files++;
        est.bytes += stat.size;
        const p = prev.get(rel);
        const unchanged = p && p.size === stat.size && p.ino === stat.ino && Math.floor(Number(p.mtime) / 1e6) === Math.floor(stat.mtimeMs);
        if (!unchanged) est.changedBytes += stat.size;
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

const indexes = new WeakMap<ComponentRecord, Map<string, Entry>>();

/** Path → entry of a previous record; built once per record (estimate and backup share it). */
export function indexEntries(record?: ComponentRecord): Map<string, Entry> {
  if (!record) return new Map();
  let index = indexes.get(record);
  if (!index) {
    index = new Map(record.entries.map((e) => [e.path, e]));
    indexes.set(record, index);
  }
  return index;
}
