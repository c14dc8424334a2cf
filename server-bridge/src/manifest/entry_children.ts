/**
 * One directory of a file index, one page at a time, read from the sorted entry stream without
 * holding more than the page: entries before the directory (or before the cursor) are passed
 * over, and the read stops as soon as no later entry can add to the page. A child's subtree is
 * counted (files, bytes) on the way, since reading past it is needed to know the page anyway.
 * Directories that have no entry of their own (a component of single files) are implied by the
 * paths below them.
 */
import type { Entry } from './manifest';
import type { EntryList } from './entry_list';

/** One direct child of the directory listed. `entry` is its own entry (absent for an implied directory). */
export interface ChildEntry {
  name: string;
  type: Entry['type'];
  entry?: Entry;
  /** Files below a directory and their bytes. */
  files: number;
  bytes: number;
}

export interface DirectoryPage {
  /** The directory's own entry, when the index has one ('' is the component root). */
  self?: Entry;
  /** Whether anything lies below the directory. */
  populated: boolean;
  /** At most `limit` children, in path order, all after `after`. */
  children: ChildEntry[];
  /** The last name of this page when more children follow. */
  next?: string;
}

/**
 * The children of `dir` ('' for the root; no trailing '/') whose names sort after `after`.
 * Memory is bounded by `limit` whatever the size of the index or of the directory.
 */
export async function listDirectory(
  list: EntryList,
  dir: string,
  opts: { after?: string; limit: number },
): Promise<DirectoryPage> {
  const { after, limit } = opts;
  const prefix = dir === '' ? '' : `${dir}/`;
  const skipTo = after === undefined ? undefined : prefix + after;
  const kids = new Map<string, ChildEntry>();
  let self: Entry | undefined;
  let populated = false;
  // Once `limit + 1` names are known, names above the largest of them cannot be on this page.
  let ceiling: string | undefined;
  // Paths past which no child up to the ceiling can have any entry (see stopsFor).
  let stops: string[] | undefined;
  const prune = (): void => {
    const names = [...kids.keys()].sort(byName).slice(0, limit + 1);
    const keep = new Set(names);
    for (const k of kids.keys()) if (!keep.has(k)) kids.delete(k);
    const top = names[names.length - 1];
    if (top === undefined) return;
    ceiling = top;
    stops = stopsFor(top).map((c) => `${prefix}${c}/`);
  };
  for await (const e of list) {
    const p = e.path;
    if (p === dir) {
      self = e;
      continue;
    }
    if (p < prefix) continue;
    if (!p.startsWith(prefix)) break; // the directory's subtree is one run of the sorted index
    populated = true;
    if (stops?.every((s) => p > s && !p.startsWith(s))) break;
    if (skipTo !== undefined && p <= skipTo) continue;
    const rest = p.slice(prefix.length);
    const slash = rest.indexOf('/');
    const name = slash < 0 ? rest : rest.slice(0, slash);
    if (after !== undefined && name <= after) continue;
    if (ceiling !== undefined && name > ceiling) continue;
    let k = kids.get(name);
    if (!k) {
      k = { name, type: 'dir', files: 0, bytes: 0 };
      kids.set(name, k);
      if ((ceiling === undefined && kids.size === limit + 1) || kids.size > 2 * (limit + 1)) prune();
    }
    if (slash < 0) {
      k.entry = e;
      k.type = e.type;
    } else if (e.type === 'file') {
      k.files++;
      k.bytes += e.size ?? 0;
    }
  }
  const names = [...kids.keys()].sort(byName);
  const page = names.slice(0, limit);
  return {
    self,
    populated,
    children: page.map((n) => kids.get(n) as ChildEntry),
    next: names.length > limit ? page[page.length - 1] : undefined,
  };
}

/** The order of the index (UTF-16 code units), for names. */
function byName(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

/**
 * The names whose subtrees ('name/...') can lie furthest in the index among names up to `ceiling`:
 * the ceiling itself and each of its prefixes followed by a character that sorts before '/'
 * ('a' of 'a-b': 'a/x' sorts after 'a-b'). Every other smaller name's subtree sorts before the ceiling.
 */
function stopsFor(ceiling: string): string[] {
  const out = [ceiling];
  for (let i = 1; i < ceiling.length; i++) if ((ceiling[i] as string) < '/') out.push(ceiling.slice(0, i));
  return out;
}

/** The entry at exactly `p`, reading no further than where it would be. */
export async function findEntry(list: EntryList, p: string): Promise<Entry | undefined> {
  for await (const e of list) {
    if (e.path === p) return e;
    if (e.path > p) return undefined;
  }
  return undefined;
}

/** The entries at and below `dir` ('' for the whole list), in index order, read as they stream. */
export async function* entriesUnder(list: EntryList, dir: string): AsyncGenerator<Entry> {
  const prefix = dir === '' ? '' : `${dir}/`;
  for await (const e of list) {
    if (e.path === dir) {
      yield e;
      continue;
    }
    if (e.path < prefix) continue;
    if (!e.path.startsWith(prefix)) return;
    yield e;
  }
}
