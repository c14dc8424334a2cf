/**
 * Reads manifest text into a head and file indexes spooled to local disk (entry_spool.ts): memory
 * stays flat whatever the number of files. Each entry is checked (entrySchema, by way of checkEntry) on the way; a
 * component whose entries are out of path order (a hand-written or foreign manifest) is sorted
 * once, in memory, so every reader can rely on the order. Throws SyntaxError on invalid JSON.
 */
import type { Readable } from 'node:stream';
import { byPath, checkEntry, type Entry } from './manifest';
import { readManifestText } from './manifest_io';
import { EntrySpool } from './entry_spool';
import type { EntryStream } from './entry_list';

type Issue = { path: PropertyKey[]; message: string; code?: string };

export interface LoadedText {
  /** The manifest as parsed, each component's entries an EntryStream (not yet checked by manifestSchema). */
  raw: unknown;
  /** Entries that failed entrySchema (at most 10), with their place in the manifest. */
  issues: Issue[];
  /** The spool holding the entries: discard() it when the manifest is no longer needed. */
  spool: EntrySpool;
}

export async function loadManifestText(input: Readable, spoolDir: string): Promise<LoadedText> {
  const spool = await EntrySpool.create(spoolDir, 'manifest');
  const sections: EntryStream[] = [];
  const issues: Issue[] = [];
  let current = -1;
  let index = 0;
  let last: string | undefined;
  let sorted = true;
  const endSection = async (): Promise<void> => {
    let list = await spool.endSection();
    if (!sorted) list = await sortSection(list, spool);
    sections.push(list);
  };
  const check = (e: unknown, ci: number, ei: number): Entry | undefined => {
    const r = checkEntry(e);
    if (r.success) return r.data;
    if (issues.length < 10) {
      issues.push(
        ...(r.error.issues as Issue[]).map((x) => ({ ...x, path: ['components', ci, 'entries', ei, ...x.path] })),
      );
    }
    return undefined;
  };
  try {
    const raw = (await readManifestText(input, {
      entries: true,
      onEntry: async (n, json) => {
        if (n !== current) {
          if (current >= 0) await endSection();
          // Lists with no entry never reach here: each gets its (empty) section all the same.
          for (let k = current + 1; k < n; k++) sections.push(await spool.endSection());
          current = n;
          index = 0;
          last = undefined;
          sorted = true;
        }
        const e = check(JSON.parse(json) as unknown, n, index++);
        if (!e) return;
        if (last !== undefined && e.path < last) sorted = false;
        last = e.path;
        // The line as read: the checked entry is exactly what it parses to (strictObject refused
        // unknown keys, and the schema changes no value).
        await spool.writeChecked(json, e);
      },
    })) as { components?: Array<{ entries?: unknown } | null> } | null;
    if (current >= 0) await endSection();
    // Each lifted list belongs to the next component whose entries the skeleton left empty.
    let n = 0;
    const comps = raw && typeof raw === 'object' && Array.isArray(raw.components) ? raw.components : [];
    for (let ci = 0; ci < comps.length; ci++) {
      const c = comps[ci];
      if (!c || !Array.isArray(c.entries)) continue;
      const inline = c.entries as unknown[];
      if (inline.length === 0 && n < sections.length) {
        c.entries = sections[n++];
        continue;
      }
      // An older single-line manifest: its entries were parsed with the rest; spooled the same way.
      last = undefined;
      sorted = true;
      for (let ei = 0; ei < inline.length; ei++) {
        const e = check(inline[ei], ci, ei);
        if (!e) continue;
        if (last !== undefined && e.path < last) sorted = false;
        last = e.path;
        await spool.write(e);
      }
      const list = await spool.endSection();
      c.entries = sorted ? list : await sortSection(list, spool);
    }
    await spool.close();
    return { raw, issues, spool };
  } catch (err) {
    await spool.discard();
    throw err;
  }
}

/** Sorts one section by path (stable: duplicates stay side by side for the checks to refuse) into a new one. */
async function sortSection(list: EntryStream, spool: EntrySpool): Promise<EntryStream> {
  const all: Entry[] = [];
  for await (const e of list) all.push(e);
  all.sort(byPath);
  for (const e of all) await spool.write(e);
  return spool.endSection();
}
