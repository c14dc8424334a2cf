/**
 * Post-restore indexes (issue 12, "nothing re-read after a restore"). A restore writes files with
 * new inodes and mtimes to the microsecond (utimes takes a double), and a backup's change
 * detection compares size, exact mtime and inode: without help the first backup after a restore
 * would read every file again. So once a tree component is restored, its snapshot's entries are
 * recorded with each path's metadata as it now is on disk (lstat, in path order), and the next
 * backup of that component (same id, same root) uses them as its parent index; they are removed
 * once a backup of the component has been committed.
 *
 * Where: `mm-backup-restored/<component>.jsonl` (0700 directory, 0600 files) beside the signing key,
 * like the rollback marker (jobs/rollback_marker.ts), not in the repository: a backup reuses the
 * checksums an index holds without reading the files and signs the result, so an index must be
 * as trusted as the key, and whoever can write the repository must not be able to plant one. A
 * host with no key file (no config file) keeps none. One file per component: the last restore wins.
 *
 * Format: one JSON object per line; the first is the header ({ format, version, component, root,
 * snapshotId, recordedAt }), the rest are entries (manifest.ts entrySchema) sorted by path.
 */
import { createReadStream, lstatSync, type BigIntStats } from 'node:fs';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { lstat, mkdir, open, rename, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { throwIfAborted } from '../core/errors';
import { checkEntry, SNAPSHOT_ID, type ComponentRecord, type Entry, type Manifest } from '../manifest/manifest';
import type { EntryList, EntryStream } from '../manifest/entry_list';
import { EntrySpool } from '../manifest/entry_spool';
import { spoolDir } from '../manifest/spool_dir';
import { snapshotKey } from './layout';
import type { Repository } from './repository';
import { WalkPacer } from './walk_pacer';
import type { KnownStat, RestoredStats } from './restored_stats';
import { inPathOrder } from '../manifest/entry_ancestors';

/** What a backup plans for a component, as far as a post-restore index needs it (components' ComponentPlan has this shape). */
export interface PlannedComponent {
  id: string;
  title: string;
  kind: string;
  status: string;
  root?: string;
  exclude: string[];
}

const DIR = 'mm-backup-restored';
const FORMAT = 'mm-backup-restored-index';
const VERSION = 1;
/** lstat calls in flight while an index is recorded. */
const WINDOW = 64;

interface Header {
  format: typeof FORMAT;
  version: typeof VERSION;
  component: string;
  root: string;
  snapshotId: string;
  recordedAt: string;
}

/** A post-restore index found for a component: the snapshot it was restored from, and its entries. */
export interface RestoredIndex {
  snapshotId: string;
  entries: EntryStream;
}

/**
 * What a path restored from `e` looks like on disk now, as a backup's walk would record it (with
 * the snapshot's checksum for a file), or undefined when it is not what was restored (missing,
 * another type, another size): the backup then looks at it afresh.
 */
function onDisk(e: Entry, st: BigIntStats | undefined): Entry | undefined {
  if (!st) return undefined;
  const type = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isFile() ? 'file' : undefined;
  if (type !== e.type) return undefined;
  const now: Entry = {
    path: e.path,
    type: e.type,
    mode: Number(st.mode & 0o7777n),
    uid: Number(st.uid),
    gid: Number(st.gid),
    mtime: st.mtimeNs.toString(),
  };
  if (e.type === 'symlink') return { ...now, target: e.target };
  if (e.type !== 'file') return now;
  if (!e.sha256 || Number(st.size) !== e.size) return undefined;
  return { ...now, size: e.size, sha256: e.sha256, ino: Number(st.ino) };
}

/**
 * onDisk's entry for a path the restore made as `e` asked (type, owner, mode, size: the thread
 * checked them) and then found to be `stat`; undefined where onDisk records nothing.
 */
function asRestored(e: Entry, stat: KnownStat): Entry | undefined {
  const { path: p, type, mode, uid, gid } = e;
  const mtime = stat.mtimeNs.toString();
  // One literal each (no spread): this runs for every file a thread made.
  if (type === 'file') {
    return e.sha256
      ? { path: p, type, mode, uid, gid, mtime, size: e.size, sha256: e.sha256, ino: Number(stat.ino) }
      : undefined;
  }
  return type === 'symlink'
    ? { path: p, type, mode, uid, gid, mtime, target: e.target }
    : { path: p, type, mode, uid, gid, mtime };
}

export class RestoredIndexes {
  private constructor(private readonly dir: string | undefined) {}

  /** The indexes kept beside the signing key `keyFile`; none (every call a no-op) without one. */
  static beside(keyFile: string | undefined): RestoredIndexes {
    return new RestoredIndexes(keyFile ? path.join(path.dirname(keyFile), DIR) : undefined);
  }

  private file(component: string): string | undefined {
    // Component ids are [a-z_]+ (manifest.ts componentSchema): a plain file name.
    return this.dir && /^[a-z_]+$/.test(component) ? path.join(this.dir, `${component}.jsonl`) : undefined;
  }

  /** Removes a component's index (before a restore writes it, after a backup committed it). */
  async forget(component: string): Promise<void> {
    const file = this.file(component);
    if (file) await rm(file, { force: true });
  }

  /**
   * Records `entries`, just restored under `root` from snapshot `snapshotId`, with their metadata
   * as it is on disk now. Returns how many entries were recorded (0 when this host keeps none).
   * `known`: what the restore found the paths it made to be, by place in the list (as the
   * restore read it, inPathOrder), taken without an lstat; `pacer`: how the other lstat calls are
   * made, adaptive by default (tests pin a mode).
   */
  async record(
    component: string,
    root: string,
    snapshotId: string,
    list: EntryList,
    opts: { signal?: AbortSignal; pacer?: WalkPacer; known?: RestoredStats } = {},
  ): Promise<number> {
    const { signal, known } = opts;
    const pacer = opts.pacer ?? new WalkPacer();
    const entries = inPathOrder(list);
    const file = this.file(component);
    if (!file || !this.dir) return 0;
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${file}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
    const out = await open(tmp, 'wx', 0o600);
    let recorded = 0;
    try {
      let buf = '';
      let offset = 0;
      const write = async (line: string, force = false): Promise<void> => {
        buf += `${line}\n`;
        if (buf.length < 256 * 1024 && !force) return;
        const data = Buffer.from(buf, 'utf8');
        buf = '';
        for (let done = 0; done < data.length;) {
          done += (await out.write(data, done, data.length - done, offset + done)).bytesWritten;
        }
        offset += data.length;
      };
      const header: Header = {
        format: FORMAT,
        version: VERSION,
        component,
        root,
        snapshotId,
        recordedAt: new Date().toISOString(),
      };
      await write(JSON.stringify(header));
      // path.join(root, ...segments) for the paths the restore just checked and wrote (plain
      // relative paths), without a join per entry (half a second of a 200k-file restore).
      const base = path.join(root).replace(/\/?$/, '/');
      const abs = (rel: string) => (rel ? base + rel : root);
      // A window of lstat calls in flight, written in the order of the list (path order).
      const window: Array<Promise<Entry | undefined>> = [];
      const drainOne = async (): Promise<void> => {
        const e = await window.shift();
        if (!e) return;
        await write(JSON.stringify(e));
        recorded++;
      };
      // Synchronous lstat calls while the pacer finds them faster (the tree was just written, so
      // its inodes are usually cached: an awaited call costs several times the call), yielding
      // every 20 ms; else a window of awaited ones.
      let lastYield = Date.now();
      let at = -1;
      for await (const e of entries) {
        throwIfAborted(signal);
        at++;
        const stat = known?.get(at);
        if (stat) {
          // The thread checked type, owner, mode and size against this entry (file_writer_worker.ts).
          while (window.length) await drainOne();
          const now = asRestored(e, stat);
          if (now) {
            await write(JSON.stringify(now));
            recorded++;
          }
          continue;
        }
        if (pacer.sync) {
          while (window.length) await drainOne();
          let st: BigIntStats | undefined;
          try {
            st = lstatSync(abs(e.path), { bigint: true, throwIfNoEntry: false });
          } catch {
            st = undefined;
          }
          const now = onDisk(e, st);
          if (now) {
            await write(JSON.stringify(now));
            recorded++;
          }
          pacer.done(1);
          if (Date.now() - lastYield > 20) {
            await yieldToLoop();
            lastYield = Date.now();
          }
          continue;
        }
        window.push(
          lstat(abs(e.path), { bigint: true }).then(
            (st) => {
              pacer.done(1);
              return onDisk(e, st);
            },
            () => undefined,
          ),
        );
        if (window.length >= WINDOW) await drainOne();
      }
      while (window.length) await drainOne();
      await write('', true);
      await out.sync();
      await out.close();
      await rename(tmp, file);
      return recorded;
    } catch (err) {
      await out.close().catch(() => undefined);
      await rm(tmp, { force: true });
      throw err;
    }
  }

  /**
   * The index of `component` if one was recorded for the same root, copied to this process's
   * spool (checked on the way: every entry valid, paths strictly increasing), or undefined when
   * there is none or it cannot be used (then the backup uses its usual parent).
   */
  async load(component: string, root: string): Promise<RestoredIndex | undefined> {
    const file = this.file(component);
    if (!file) return undefined;
    const input = createReadStream(file, { encoding: 'utf8' });
    const lines = createInterface({ input, crlfDelay: Infinity });
    let spool: EntrySpool | undefined;
    try {
      let header: Header | undefined;
      let last: string | undefined;
      for await (const line of lines) {
        if (!header) {
          const h = JSON.parse(line) as Partial<Header>;
          const ok =
            h.format === FORMAT &&
            h.version === VERSION &&
            h.component === component &&
            h.root === root &&
            typeof h.snapshotId === 'string' &&
            SNAPSHOT_ID.test(h.snapshotId);
          if (!ok) return undefined;
          header = h as Header;
          spool = await EntrySpool.create(await spoolDir(), 'restored');
          continue;
        }
        if (!line) continue;
        const e = checkEntry(JSON.parse(line));
        if (!e.success || (last !== undefined && e.data.path <= last)) throw new Error('not a valid index');
        last = e.data.path;
        await spool?.write(e.data);
      }
      if (!header || !spool) return undefined;
      const entries = await spool.endSection();
      await spool.close();
      return { snapshotId: header.snapshotId, entries };
    } catch {
      // Missing (the usual case), unreadable or damaged: the backup falls back to its parent.
      await spool?.discard();
      return undefined;
    } finally {
      lines.close();
      input.destroy();
    }
  }

  /**
   * The parent record a backup of `plan` should compare against in place of the snapshot's: the
   * component's post-restore index, when it was recorded for the same root and the snapshot it
   * came from is still in `repo` (its objects are then there; a snapshot restored from another
   * repository, or pruned since, is not used).
   */
  async parentFor(plan: PlannedComponent, repo: Repository): Promise<ComponentRecord | undefined> {
    if (plan.kind !== 'tree' || plan.status !== 'included' || !plan.root) return undefined;
    const index = await this.load(plan.id, plan.root);
    if (!index || !(await repo.storage.stat(snapshotKey(index.snapshotId)))) return undefined;
    return {
      id: plan.id,
      title: plan.title,
      status: 'included',
      root: plan.root,
      exclude: plan.exclude,
      entries: index.entries,
      files: 0,
      bytes: 0,
      newBytes: 0,
      filesRead: 0,
      durationMs: 0,
    };
  }
}

/** The post-restore indexes a backup of `plans` uses as parents, by component id (see parentFor). */
export async function restoredParents(
  indexes: RestoredIndexes,
  repo: Repository,
  plans: readonly PlannedComponent[],
): Promise<Map<string, ComponentRecord>> {
  const out = new Map<string, ComponentRecord>();
  for (const plan of plans) {
    const parent = await indexes.parentFor(plan, repo);
    if (parent) out.set(plan.id, parent);
  }
  return out;
}

/** Forgets the indexes of the components a committed snapshot `m` holds: its own entries are the parent now. */
export async function forgetCommitted(indexes: RestoredIndexes, m: Manifest): Promise<void> {
  for (const c of m.components) if (c.status === 'included' && !c.database && !c.physical) await indexes.forget(c.id);
}
