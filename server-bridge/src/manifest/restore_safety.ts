/**
 * A snapshot is untrusted input: whoever can write the repository directory or the off-site
 * bucket can write a manifest. These checks run on the very entry lists that a restore writes,
 * before anything is stopped or written, and make sure a restore stays inside its target roots
 * and never writes through a symbolic link (one the snapshot asks for, or one already there).
 */
import path from 'node:path';
import { VerificationError } from '../core/errors';
import type { Entry } from './manifest';
import type { EntryList } from './entry_list';
import { AncestorStack, inPathOrder } from './entry_ancestors';
import { isSpooledList, spooledSymlinks } from './entry_spool';

/**
 * Directories a restore never makes identical to a snapshot (which would delete what else is
 * there). Discovery records a Mattermost directory as a whole-tree root, and '/' only for the
 * single-file components (TLS, extra paths), which name each path they write.
 */
const SYSTEM_DIRS = new Set([
  '/',
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/home',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/media',
  '/mnt',
  '/opt',
  '/proc',
  '/root',
  '/run',
  '/sbin',
  '/srv',
  '/sys',
  '/tmp',
  '/usr',
  '/usr/bin',
  '/usr/lib',
  '/usr/local',
  '/usr/sbin',
  '/usr/share',
  '/var',
  '/var/lib',
  '/var/log',
  '/var/opt',
]);

/** An empty segment (`//`, a trailing `/`) or a `.` or `..` between separators (`/` or `\`). */
const SUSPECT_PATH = /\/\/|\/$|(?:^|[/\\])\.\.?(?=$|[/\\])/;

/** Why `p` is not a plain relative entry path ('' is the root itself), or undefined when it is. */
export function entryPathProblem(p: string): string | undefined {
  if (p === '') return undefined;
  if (p.includes('\0')) return 'contains a NUL byte';
  if (p.startsWith('/')) return 'is absolute';
  // Every entry of every restore passes here, twice: one scan says most paths are fine, and only
  // a path it flags is split to name its first problem.
  if (!SUSPECT_PATH.test(p)) return undefined;
  for (const seg of p.split('/')) {
    if (seg === '') return 'has an empty segment';
    // A backslash is an ordinary byte in a POSIX name; a segment that would read as . or .. where
    // it separates paths is refused all the same, since no backup of a Linux install has one.
    if (seg.split('\\').some((s) => s === '.' || s === '..')) return 'has a "." or ".." segment';
  }
  return undefined;
}

/** Why a component's `rootInInstall` is not a plain path inside the install ('.' is the install itself). */
export function rootInInstallProblem(r: string): string | undefined {
  if (r === '.') return undefined;
  if (r === '') return 'is empty';
  return entryPathProblem(r);
}

/** Why an absolute root may not be restored to (`wholeTree`: the restore removes what the snapshot lacks). */
export function absoluteRootProblem(root: string, wholeTree: boolean): string | undefined {
  if (root.includes('\0')) return 'contains a NUL byte';
  if (!path.posix.isAbsolute(root)) return 'is not an absolute path';
  if (path.posix.normalize(root) !== root || (root.length > 1 && root.endsWith('/'))) return 'is not a normalised path';
  if (wholeTree && SYSTEM_DIRS.has(root)) return 'is a system directory, which a restore never replaces whole';
  return undefined;
}

/** The error every refusal here raises: exit code 4, naming the component and the path. */
export function unsafeSnapshot(component: string, where: string, problem: string): VerificationError {
  return new VerificationError(
    `the snapshot cannot be restored safely: component ${component}, ${where} ${problem}`,
    [{ component, path: where, problem }],
    {
      hint: 'mm-backup never writes such a manifest: it was altered or written by someone else. Restore another snapshot, run mm-backup verify, and check who can write the repository',
    },
  );
}

/**
 * Checks one component's entry list, exactly as it will be written: safe relative paths, none
 * twice, nothing inside an excluded subtree (another component's), every listed ancestor a
 * directory (so nothing is written through a symlink of the same list) and, for a whole tree
 * (`mirror`), every entry's parent listed as a directory under a root that is one.
 * One pass, memory bounded by the depth of the tree: a stream must be sorted by path (byPath), as
 * a loaded manifest's and a backup's index are, and one that is not is refused (an array is
 * sorted first, see inPathOrder).
 * Throws the VerificationError of unsafeSnapshot().
 */
export async function checkEntryList(
  component: string,
  entries: EntryList,
  mode: 'mirror' | 'files',
  exclude: readonly string[] = [],
): Promise<void> {
  // A spooled list that passed is not read again for the same check (the restore's preflight,
  // then restoreTree itself): its bytes cannot have changed. Any other list is checked each time.
  const how = isSpooledList(entries) ? JSON.stringify([component, mode, exclude]) : undefined;
  if (how !== undefined && passedChecks.get(entries)?.has(how)) return;
  await checkEntries(component, entries, mode, exclude);
  if (how === undefined) return;
  const done = passedChecks.get(entries) ?? new Set<string>();
  passedChecks.set(entries, done.add(how));
}

/** The checks each spooled list passed (JSON of component, mode and exclude). */
const passedChecks = new WeakMap<object, Set<string>>();

async function checkEntries(
  component: string,
  entries: EntryList,
  mode: 'mirror' | 'files',
  exclude: readonly string[],
): Promise<void> {
  const excluded = new Set(exclude);
  const ancestors = new AncestorStack<Pick<Entry, 'path' | 'type'>>();
  let previous: string | undefined;
  let rootType: Entry['type'] | undefined;
  for await (const e of inPathOrder(entries)) {
    // The entry is named only when it is refused: no string per entry that passes.
    const refuse = (problem: string) => unsafeSnapshot(component, `entry ${JSON.stringify(e.path)}`, problem);
    const bad = entryPathProblem(e.path);
    if (bad) throw refuse(bad);
    if (previous !== undefined && e.path <= previous) {
      // Duplicates are adjacent in a sorted list, so equal to the previous path means listed twice.
      if (e.path === previous) throw refuse('appears more than once');
      throw refuse(`is out of order (after ${JSON.stringify(previous)})`);
    }
    if (e.type === 'symlink' && (!e.target || e.target.includes('\0'))) {
      throw refuse('is a symbolic link without a valid target');
    }
    if (e.type === 'file' && !e.sha256) throw refuse('is a file without a checksum');
    // The root sorts first: a whole tree starts with it, a list of single files never has it.
    if (previous === undefined && mode === 'mirror' && (e.path !== '' || e.type !== 'dir')) {
      throw unsafeSnapshot(component, 'the root', 'is not listed as a directory');
    }
    previous = e.path;
    if (e.path === '') {
      if (mode === 'files') throw unsafeSnapshot(component, 'the root', 'is listed in a component of single files');
      rootType = e.type;
      continue;
    }
    ancestors.skipTo(e.path);
    if (excluded.has(e.path)) {
      throw refuse('is excluded from this component (another component owns it)');
    }
    for (let p = e.path, i = p.lastIndexOf('/'); ; i = p.lastIndexOf('/')) {
      const parent = i < 0 ? '' : p.slice(0, i);
      const t = parent === '' ? rootType : ancestors.find(parent)?.type;
      if (p === e.path && mode === 'mirror' && t !== 'dir') {
        throw refuse('has no parent directory entry');
      }
      if (t !== undefined && t !== 'dir') {
        throw refuse(`lies under the ${t} ${JSON.stringify(parent)}`);
      }
      if (!parent) break;
      if (excluded.has(parent)) {
        throw refuse(`lies in the excluded ${JSON.stringify(parent)} (another component owns it)`);
      }
      // A whole tree's ancestors were checked when their own entries were (each parent is listed).
      if (mode === 'mirror') break;
      p = parent;
    }
    ancestors.push(e);
  }
  if (mode === 'mirror' && previous === undefined) {
    throw unsafeSnapshot(component, 'the root', 'is not listed as a directory');
  }
}

/** A component as a restore will write it: its id, where it goes, and its entries. */
export interface RestoreTarget {
  id: string;
  root: string;
  entries: EntryList;
}

/**
 * Checks components against each other: no root and no entry of one component may lie under a
 * symbolic link that another restores (components are written one after the other, so a link
 * made by the first would carry the second's writes elsewhere), and no path is a link in one
 * component and something else in another. The links (few) are collected first; then the entries
 * of each component with a link inside its root are checked against them (a component with none
 * inside, like the file store, cannot have an entry at or under one: its root was checked), the
 * links above an entry looked up once per directory (path order). Throws the VerificationError of unsafeSnapshot().
 */
export async function checkTargetsTogether(targets: readonly RestoreTarget[]): Promise<void> {
  const links = new Map<string, string>();
  for (const t of targets) {
    if (spooledSymlinks(t.entries) === 0) continue; // counted as it was spooled: nothing to read
    for await (const e of t.entries) if (e.type === 'symlink') links.set(path.join(t.root, e.path), t.id);
  }
  if (!links.size) return;
  const underLink = (abs: string): string | undefined => {
    for (let p = path.dirname(abs); ; p = path.dirname(p)) {
      if (links.has(p)) return p;
      if (p === '/' || p === '.') return undefined;
    }
  };
  for (const t of targets) {
    const root = path.resolve(t.root); // no trailing separator
    const rootLink = links.has(root) ? root : underLink(root);
    if (rootLink) {
      throw unsafeSnapshot(
        t.id,
        `the root ${t.root}`,
        `lies at or under the symbolic link ${rootLink} restored by component ${links.get(rootLink)}`,
      );
    }
    // At 1M entries of the file store this pass took seconds of the restore's preflight, for nothing.
    const prefix = root === path.sep ? root : `${root}${path.sep}`;
    if (![...links.keys()].some((l) => l.startsWith(prefix))) continue;
    let lastDir: string | undefined;
    let lastLink: string | undefined;
    for await (const e of t.entries) {
      if (!e.path) continue;
      const abs = path.join(t.root, e.path);
      const owner = links.get(abs);
      if (owner !== undefined && e.type !== 'symlink') {
        throw unsafeSnapshot(
          t.id,
          `entry ${JSON.stringify(e.path)}`,
          `is a ${e.type} here and a symbolic link in component ${owner}`,
        );
      }
      const dir = path.dirname(abs);
      if (dir !== lastDir) {
        lastDir = dir;
        lastLink = links.has(dir) ? dir : underLink(dir);
      }
      if (lastLink) {
        throw unsafeSnapshot(
          t.id,
          `entry ${JSON.stringify(e.path)}`,
          `lies under the symbolic link ${lastLink} restored by component ${links.get(lastLink)}`,
        );
      }
    }
  }
}
