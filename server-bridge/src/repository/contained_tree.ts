/**
 * Paths under a restore's root that another account can change while root writes there (the
 * mattermost user owns the install directory; a plugin or a child of it may swap a directory for a
 * symbolic link mid-restore). A directory is made component by component, refusing a link or a
 * non-directory on the way; a directory is then opened without following a link and, on Linux,
 * its handle is checked to be the expected path (/proc/self/fd names what was really opened, so a
 * link anywhere above it shows). Its children are reached through /proc/self/fd/<fd>/<name>,
 * which resolves to the opened directory whatever is renamed meanwhile: the *at() calls Node lacks.
 * Metadata is set on a handle opened with O_NOFOLLOW (fchown/fchmod/futimes), never by path.
 *
 * For restores of many small files (a new install directory: every directory made here, every
 * file new), the synchronous calls keep the handles of the current directory and its parents open
 * (inDir; each use re-checks the handle's path, one readlink), make a file in a directory this
 * restore created straight in place with O_EXCL and set its metadata on the handle that wrote it
 * (createFile): 7 calls a file instead of 16 (measured with strace).
 */
import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  futimesSync,
  lchownSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  opendirSync,
  writeSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmdirSync,
  unlinkSync,
  chmodSync,
  utimesSync,
  type BigIntStats,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { BridgeError } from '../core/errors';

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
const NODE_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
// O_EXCL fails on anything there, a link included (dangling or not): nothing is written through.
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** The owner, mode and mtime to set, as tree_restore.ts decided (only what differs). */
export interface MetaChange {
  uid: number;
  gid: number;
  mode: number;
  chown: boolean;
  chmod: boolean;
  /** Seconds since the epoch, or undefined to leave the time. */
  time?: number;
}

/** STORAGE_FAILED, as tree_restore.ts's other target failures: it may come part-way, after changes. */
export function linkRefused(p: string, why: string): BridgeError {
  return new BridgeError(
    'STORAGE_FAILED',
    `${p} ${why}: the restore does not write through links in its target; it stopped there`,
    {
      hint: 'something changed the target during the restore (or left a link where the snapshot has a directory); find out what, remove it, and restore again',
    },
  );
}

function hardLinkRefused(p: string): BridgeError {
  return new BridgeError(
    'STORAGE_FAILED',
    `${p} has other hard links: the restore does not change the owner or mode of a file linked elsewhere; it stopped there`,
    {
      hint: 'something may have linked another file into the target during the restore; find out what, remove the link (or that file), and restore again',
    },
  );
}

function procRefused(root: string, realRoot: string, named: string | undefined): BridgeError {
  return named === undefined
    ? new BridgeError(
        'PRECONDITION_FAILED',
        `${root}: /proc/self/fd is not available, and a restore as root needs it to write only inside its target; nothing was restored`,
        { hint: "mount /proc (mount -t proc proc /proc) in the sidecar's mount namespace, and restore again" },
      )
    : new BridgeError(
        'PRECONDITION_FAILED',
        `${root} was opened as ${named}, not ${realRoot}: something moved it as the restore began; nothing was restored`,
        { hint: 'find out what changes the install directory during the restore, stop it, and restore again' },
      );
}

export class ContainedTree {
  /**
   * Directories (relative) made or found as real directories by this restore, not walked again,
   * with whether this restore created them (empty then: a file in one is created in place, see
   * createFile). Only the directory worked in and its parents are kept (a restore goes in path
   * order; memory must not grow with the tree): one left is looked at again if it comes back.
   */
  private readonly made = new Map<string, boolean>([['', false]]);
  /** inDir's open handles: a directory and its parents, root first. */
  private readonly handles: Array<{ rel: string; fd: number }> = [];

  /** The root as abs() joins it, and the resolved root as dirTarget() does, each with a final '/'. */
  private readonly base: string;
  private readonly realBase: string;

  private constructor(
    readonly root: string,
    private readonly realRoot: string,
    /** /proc/self/fd works here (Linux): handles are checked and children reached through them. */
    readonly proc: boolean,
  ) {
    const slash = (p: string) => (p.endsWith('/') ? p : `${p}/`);
    this.base = slash(path.join(root));
    this.realBase = slash(realRoot);
  }

  /** `root` made (like mkdir -p: the admin's configured path) and resolved once. */
  static open(root: string): ContainedTree {
    if (process.getuid?.() === 0) assertLinksOwnedByRoot(root);
    mkdirSync(root, { recursive: true });
    const realRoot = realpathSync(root);
    let named: string | undefined;
    const fd = openSync(realRoot, DIR_FLAGS);
    try {
      named = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      named = undefined;
    } finally {
      closeSync(fd);
    }
    // As root, path checks alone would let another account's rename between a check and a write
    // carry root's writes anywhere: without /proc's handles there is no safe way, so refuse.
    if (process.getuid?.() === 0 && named !== realRoot) throw procRefused(root, realRoot, named);
    return new ContainedTree(root, realRoot, named === realRoot);
  }

  /** The absolute path of `rel` ('a/b', '' for the root) as the admin named the root. */
  abs(rel: string): string {
    // What path.join(root, ...segments) gives: entry paths were checked to be plain (no '', '.' or
    // '..' segment, not absolute), and a join per file was a tenth of a small-file restore's time.
    return rel ? this.base + rel : this.root;
  }

  /** Directory `rel` as a writer thread opens it, and the path its handle must name (file_writers.ts). */
  dirTarget(rel: string): { open: string; want: string } {
    return { open: this.abs(rel), want: rel ? this.realBase + rel : this.realRoot };
  }

  /**
   * Makes `rel` and every directory above it inside the root, one component at a time; a link or
   * a non-directory on the way is refused (never followed, never replaced: that is mirror mode's
   * own decision for a listed directory).
   */
  makeDirs(rel: string): void {
    if (this.made.has(rel)) return;
    this.keepOnly(rel);
    const parts = rel.split('/');
    let cur = '';
    for (const name of parts) {
      cur = cur ? `${cur}/${name}` : name;
      if (this.made.has(cur)) continue;
      const p = this.abs(cur);
      let created = false;
      let st = lstatSync(p, { throwIfNoEntry: false });
      if (!st) {
        try {
          mkdirSync(p);
          created = true;
        } catch (err) {
          // A parallel file of this restore may have made it: what matters is what is there now.
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
        st = lstatSync(p);
      }
      if (st.isSymbolicLink()) throw linkRefused(p, 'is a symbolic link');
      if (!st.isDirectory()) throw linkRefused(p, 'is not a directory');
      this.made.set(cur, created);
    }
  }

  /** Forgets the directories made that are neither `rel` nor above it (path order: not needed again). */
  private keepOnly(rel: string): void {
    for (const d of this.made.keys()) if (d && d !== rel && !rel.startsWith(`${d}/`)) this.made.delete(d);
  }

  /** Forgets that `rel` (and what is below it) was made: mirror mode removed or replaced it. */
  forget(rel: string): void {
    const under = (d: string) => d === rel || d.startsWith(`${rel}/`);
    for (const d of this.made.keys()) if (under(d)) this.made.delete(d);
    this.made.set('', false);
    for (let top = this.handles.at(-1); top && under(top.rel); top = this.handles.at(-1)) this.closeTopHandle();
  }

  /** Records directory `rel` as created by this restore: a writer thread made it (fresh_dir_writes.ts). */
  adoptFresh(rel: string): void {
    this.keepOnly(rel);
    this.made.set(rel, true);
  }

  /** Whether directory `rel` was created by this restore (it held nothing of the target's). */
  isFresh(rel: string): boolean {
    return this.made.get(rel) === true;
  }

  /**
   * Makes `name` a directory inside `dirRel` (handle `dirFd`), which this restore created: true
   * when made here (recorded as fresh and made), false when something is already there (the
   * caller looks at it). Inside a fresh directory only this restore can have put anything.
   */
  makeFreshDir(dirFd: number, dirRel: string, name: string): boolean {
    try {
      // Only this process may enter it until the restore's last pass gives it its listed owner
      // and mode (a listed directory always gets them), whatever the umask.
      mkdirSync(this.child(dirFd, dirRel, name), { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
    const rel = dirRel ? `${dirRel}/${name}` : name;
    this.keepOnly(dirRel);
    this.made.set(rel, true);
    return true;
  }

  /**
   * Creates file `name` in directory `dirRel` (handle `dirFd`) with `data` and the metadata `c`,
   * all on the handle that created it: false, with nothing changed, when anything is there
   * already (a link included). A write that fails removes the file it created.
   */
  createFile(dirFd: number, dirRel: string, name: string, data: Buffer, c: MetaChange): boolean {
    const p = this.child(dirFd, dirRel, name);
    let fd: number;
    try {
      fd = openSync(p, CREATE_FLAGS, 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
    let open = true;
    try {
      for (let off = 0; off < data.length;) off += writeSync(fd, data, off, data.length - off);
      if (c.chown) fchownSync(fd, c.uid, c.gid);
      // After chown, which clears set-user-ID bits.
      if (c.chmod) fchmodSync(fd, c.mode);
      if (c.time !== undefined) futimesSync(fd, c.time, c.time);
      open = false;
      closeSync(fd); // may report a failed write-back (NFS): the file goes too
      return true;
    } catch (err) {
      if (open) closeQuietly(fd);
      ignoreMissing(() => unlinkSync(p));
      throw err;
    }
  }

  /**
   * Replaces whatever is at `name` in directory `dirRel` (handle `dirFd`) with a file of `data`
   * and the metadata `c`:
   * written under a new hidden name beside it (O_EXCL) and renamed over it, so a link there is
   * replaced, never written through, and the old file stays until the new one is whole.
   */
  replaceFile(dirFd: number, dirRel: string, name: string, data: Buffer, c: MetaChange): void {
    const tmp = `.${name}.mmb-${randomBytes(6).toString('hex')}`;
    // Owner, mode and time on the handle that wrote it, before the rename: never by name after.
    if (!this.createFile(dirFd, dirRel, tmp, data, c)) {
      throw new BridgeError('STORAGE_FAILED', `${this.abs(dirRel)}/${tmp} exists: it was not made by this restore`);
    }
    try {
      renameSync(this.child(dirFd, dirRel, tmp), this.child(dirFd, dirRel, name));
    } catch (err) {
      ignoreMissing(() => unlinkSync(this.child(dirFd, dirRel, tmp)));
      throw err;
    }
  }

  /**
   * Runs `f` (synchronous) with a handle of directory `rel`, kept open for the next call: the
   * handles of a directory and its parents stay open while a restore in path order works there.
   * Each use checks (Linux) that the handle is still that path, as withDir does on opening.
   */
  inDir<T>(rel: string, f: (fd: number) => T): T {
    const fd = this.handleOf(rel);
    const out = f(fd);
    if (out instanceof Promise) throw new BridgeError('INTERNAL', 'inDir takes synchronous work only');
    return out;
  }

  /** Closes inDir's handles (at the end of the restore, or on its failure). */
  close(): void {
    while (this.handles.length) this.closeTopHandle();
  }

  /** A kept handle of `rel` (checked again now) or a new one (checked as it was opened). */
  private handleOf(rel: string): number {
    for (let top = this.handles.at(-1); top; top = this.handles.at(-1)) {
      if (top.rel === rel) {
        this.checkFd(top.fd, rel, this.abs(rel));
        return top.fd;
      }
      if (top.rel === '' || rel.startsWith(`${top.rel}/`)) break;
      this.closeTopHandle();
    }
    const fd = this.openDir(rel);
    this.handles.push({ rel, fd });
    return fd;
  }

  private closeTopHandle(): void {
    const top = this.handles.pop();
    if (top) closeQuietly(top.fd);
  }

  /**
   * Opens directory `rel` without following a link there and checks (Linux) that the handle is
   * that path: a link swapped in above it is refused. Runs `f` with the handle's fd; closes it.
   */
  withDir<T>(rel: string, f: (fd: number) => T): T {
    const fd = this.openDir(rel);
    let sync = true;
    try {
      const out = f(fd);
      if (out instanceof Promise) {
        sync = false;
        return out.finally(() => closeSync(fd)) as T;
      }
      return out;
    } finally {
      if (sync) closeSync(fd);
    }
  }

  /** A handle of directory `rel`, opened without following a link and checked (see withDir). */
  private openDir(rel: string): number {
    const p = this.abs(rel);
    let fd: number;
    try {
      fd = openSync(p, DIR_FLAGS);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ELOOP' || (code === 'ENOTDIR' && lstatSync(p, { throwIfNoEntry: false })?.isSymbolicLink())) {
        throw linkRefused(p, 'is a symbolic link');
      }
      if (code === 'ENOTDIR') throw linkRefused(p, 'is not a directory');
      throw err;
    }
    try {
      this.checkFd(fd, rel, p);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    return fd;
  }

  /**
   * The path that reaches `name` inside the directory whose handle is `dirFd`, whatever is
   * renamed above it meanwhile (Linux); elsewhere the plain path (checked when it was opened).
   */
  child(dirFd: number, dirRel: string, name: string): string {
    return this.proc ? `/proc/self/fd/${dirFd}/${name}` : path.join(this.abs(dirRel), name);
  }

  /**
   * Sets owner, mode and time of `p` (reached through child(), or a directory's own path) on a
   * handle opened without following a link; a symbolic link gets lchown/lutimes on its own.
   * `dirFd`: a directory's own checked handle, used as it is.
   */
  applyMeta(p: string, type: 'file' | 'dir' | 'symlink', c: MetaChange, dirFd?: number): void {
    if (!c.chown && !c.chmod && c.time === undefined) return;
    if (type === 'symlink') {
      if (c.chown) lchownSync(p, c.uid, c.gid);
      if (c.time !== undefined) lutimesSync(p, c.time, c.time);
      return;
    }
    let fd = dirFd;
    if (fd === undefined) {
      try {
        fd = openSync(p, NODE_FLAGS);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ELOOP') throw linkRefused(p, 'became a symbolic link');
        // Not root and not readable: nothing runs with more rights than the caller, so the path does.
        if (code !== 'EACCES') throw err;
        this.applyMetaByPath(p, c);
        return;
      }
    }
    try {
      const st = fstatSync(fd);
      if (type === 'file' ? !st.isFile() : !st.isDirectory()) throw linkRefused(p, `is no longer a ${type}`);
      // A file with another hard link may be one planted at this name (renamed over it since it
      // was looked at or written): its owner and mode are not changed, whatever it reaches.
      if (type === 'file' && st.nlink > 1 && (c.chown || c.chmod)) throw hardLinkRefused(p);
      if (c.chown) fchownSync(fd, c.uid, c.gid);
      // After chown, which clears set-user-ID bits.
      if (c.chmod) fchmodSync(fd, c.mode);
      if (c.time !== undefined) futimesSync(fd, c.time, c.time);
    } finally {
      if (dirFd === undefined) closeSync(fd);
    }
  }

  /** A directory's owner, mode and time (`decide` from its current stat), set on its own checked handle. */
  applyDirMeta(rel: string, decide: (st: BigIntStats) => MetaChange): void {
    try {
      this.inDir(rel, (fd) => {
        this.applyMeta(this.abs(rel), 'dir', decide(fstatSync(fd, { bigint: true })), fd);
      });
    } catch (err) {
      // Not root and a directory we cannot read: nothing runs with more rights than the caller.
      if ((err as NodeJS.ErrnoException).code !== 'EACCES') throw err;
      const p = this.abs(rel);
      this.applyMetaByPath(p, decide(lstatSync(p, { bigint: true })));
    }
  }

  private applyMetaByPath(p: string, c: MetaChange): void {
    if (c.chown) lchownSync(p, c.uid, c.gid);
    if (c.chmod) chmodSync(p, c.mode);
    if (c.time !== undefined) utimesSync(p, c.time, c.time);
  }

  /**
   * Removes `name` from directory `dirRel`, each call inside a checked handle: a directory is
   * emptied through its own checked handle first (never a path through a link: an `rm -r` by path
   * deletes wherever a directory swapped for a link points). Nothing there is fine.
   */
  removeChild(dirRel: string, name: string): void {
    const rel = dirRel ? `${dirRel}/${name}` : name;
    this.withDir(dirRel, (fd) => {
      const p = this.child(fd, dirRel, name);
      const st = lstatSync(p, { throwIfNoEntry: false });
      if (!st) return;
      if (st.isDirectory()) {
        this.emptyDir(rel);
        ignoreMissing(() => rmdirSync(p));
      } else {
        // unlink, not rm: rm turns an unlink refused with EPERM (immutable) into a misleading ENOTDIR.
        ignoreMissing(() => unlinkSync(p));
      }
    });
    this.forget(rel);
  }

  private emptyDir(rel: string): void {
    this.withDir(rel, (fd) => {
      const here = this.proc ? `/proc/self/fd/${fd}` : this.abs(rel);
      // Read as a stream, removing as it goes (entries not removed are still listed once): a
      // directory of a million entries is not held as one array of names.
      const dir = opendirSync(here, { bufferSize: 256 });
      try {
        for (let d = dir.readSync(); d; d = dir.readSync()) this.removeEntry(fd, rel, d.name);
      } finally {
        dir.closeSync();
      }
    });
  }

  private removeEntry(fd: number, rel: string, n: string): void {
    const p = this.child(fd, rel, n);
    const st = lstatSync(p, { throwIfNoEntry: false });
    if (!st) return;
    if (st.isDirectory()) {
      this.emptyDir(`${rel}/${n}`);
      ignoreMissing(() => rmdirSync(p));
    } else {
      ignoreMissing(() => unlinkSync(p));
    }
  }

  /** lstat of a path reached through child(), undefined when nothing is there. */
  lstat(p: string): BigIntStats | undefined {
    return lstatSync(p, { bigint: true, throwIfNoEntry: false });
  }

  private checkFd(fd: number, rel: string, p: string): void {
    if (!this.proc) return;
    const { want } = this.dirTarget(rel);
    let got: string;
    try {
      got = readlinkSync(`/proc/self/fd/${fd}`);
    } catch (err) {
      // /proc worked when the tree was opened: a handle it cannot name (moved somewhere deeper
      // than a path can say) is not known to be inside the root.
      throw linkRefused(p, `cannot be checked (${(err as NodeJS.ErrnoException).code ?? 'readlink failed'})`);
    }
    if (got !== want) throw linkRefused(p, `resolves to ${got} (a symbolic link above it)`);
  }
}

/**
 * The root's path may go through symbolic links the admin made (a file store on another disk), but
 * a restore running as root does not follow one another account owns: the mattermost user, owner
 * of the install directory, could have swapped a component root for a link to /etc. Links in the
 * targets of links are checked too. Once opened, every handle is checked against the root
 * resolved here (checkFd), so a swap after this check is refused as well.
 */
function assertLinksOwnedByRoot(root: string, depth = 0): void {
  if (depth > 40) throw linkRefused(root, 'goes through too many symbolic links');
  const parts = path.resolve(root).split(path.sep).filter(Boolean);
  let cur: string = path.sep;
  for (let i = 0; i < parts.length; i++) {
    const next = path.join(cur, parts[i] as string);
    const st = lstatSync(next, { throwIfNoEntry: false });
    if (!st) return; // the rest is made as real directories
    if (st.isSymbolicLink()) {
      if (st.uid !== 0) {
        throw new BridgeError(
          'STORAGE_FAILED',
          `${next} is a symbolic link owned by uid ${st.uid}, not root: a restore running as root does not follow a link another account could have put there`,
          { hint: `if you made that link, give it to root (chown -h root ${next}); otherwise find out who did` },
        );
      }
      const target = path.resolve(cur, readlinkSync(next));
      assertLinksOwnedByRoot(path.join(target, ...parts.slice(i + 1)), depth + 1);
      return;
    }
    cur = next;
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    /* the failure being reported matters more */
  }
}

function ignoreMissing(f: () => void): void {
  try {
    f();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}
