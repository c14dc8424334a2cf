/**
 * What a backup learnt about a tree's subtrees (day directories of the file store) when it wrote
 * a snapshot: for each, the fingerprint of the database rows its entries are complete for, and
 * how many entries it holds; and when every path was last walked. The next backup of the same
 * component, whose parent is that snapshot, uses it to take unchanged settled days from the parent
 * without walking them (settled_days.ts).
 *
 * Where: `mm-backup-walk/<component>@<snapshot id>.json` (0700 directory, 0600 file) beside the
 * signing key, like the post-restore indexes and for the same reason: a state that says
 * "unchanged" makes a backup copy the parent's entries without looking, so it must not be
 * plantable by whoever can write the repository. It is a cache: a missing or unreadable one costs
 * a full walk, never a wrong snapshot. One file per snapshot, the newest KEEP of a component kept:
 * configs beside each other (one key) that back up to other repositories each find their parent's
 * state. One file per component, as it was, held only the last backup's, so a backup to the other
 * repository walked every path (the benchmark's first unchanged offline backup, after an online
 * one to a repository of its own: 77 s of pre-copy at a million files instead of a carry).
 */
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import { SNAPSHOT_ID } from '../manifest/manifest';

const DIR = 'mm-backup-walk';
/** States kept per component: the parents of the next backups of this many repositories. */
export const KEEP_STATES = 8;
const STATE_FILE = /^([a-z_]+)@(\d{8}T\d{6}Z-[0-9a-f]{6})\.json$/;
const FORMAT = 'mm-backup-walk-state';

/** A tree's walk state, without the snapshot it belongs to. */
export interface WalkState {
  /** When a backup last walked every path of the tree (ISO 8601). */
  fullWalkAt: string;
  /** The paths the walk left out: entries carried from a parent were made with these. */
  exclude: string[];
  /** Per subtree (a day directory's relative path): row fingerprint and entries under it. */
  subtrees: Record<string, { fp: string; entries: number }>;
}

const stateSchema = z.strictObject({
  format: z.literal(FORMAT),
  version: z.literal(1),
  component: z.string(),
  root: z.string(),
  snapshotId: z.string().regex(SNAPSHOT_ID),
  fullWalkAt: z.iso.datetime(),
  exclude: z.array(z.string()),
  subtrees: z.record(
    z.string().regex(/^\d{8}$/),
    z.strictObject({ fp: z.string().max(200), entries: z.number().int().min(0) }),
  ),
});

export class WalkStates {
  private constructor(private readonly dir: string | undefined) {}

  /** The states kept beside the signing key `keyFile`; none (loads find nothing, saves do nothing) without one. */
  static beside(keyFile: string | undefined): WalkStates {
    return new WalkStates(keyFile ? path.join(path.dirname(keyFile), DIR) : undefined);
  }

  private file(component: string, snapshotId: string): string | undefined {
    // Component ids are [a-z_]+ (manifest.ts componentSchema), snapshot ids SNAPSHOT_ID: a plain file name.
    if (!this.dir || !/^[a-z_]+$/.test(component) || !SNAPSHOT_ID.test(snapshotId)) return undefined;
    return path.join(this.dir, `${component}@${snapshotId}.json`);
  }

  /** The one file per component written before 2026-12-07: still read, removed by the next save. */
  private legacy(component: string): string | undefined {
    return this.dir && /^[a-z_]+$/.test(component) ? path.join(this.dir, `${component}.json`) : undefined;
  }

  /** The state recorded for `component` at `root` with snapshot `snapshotId`, or undefined (none, another snapshot, unreadable). */
  async load(component: string, root: string, snapshotId: string): Promise<WalkState | undefined> {
    for (const file of [this.file(component, snapshotId), this.legacy(component)]) {
      if (!file) continue;
      let raw: unknown;
      try {
        raw = JSON.parse(await readFile(file, 'utf8'));
      } catch {
        continue;
      }
      const res = stateSchema.safeParse(raw);
      if (!res.success) continue;
      const s = res.data;
      if (s.component !== component || s.root !== root || s.snapshotId !== snapshotId) continue;
      return { fullWalkAt: s.fullWalkAt, exclude: s.exclude, subtrees: s.subtrees };
    }
    return undefined;
  }

  /** Records `state` as the walk state of `component` in the committed snapshot `snapshotId` (atomic replace). */
  async save(component: string, root: string, snapshotId: string, state: WalkState): Promise<void> {
    const file = this.file(component, snapshotId);
    if (!file || !this.dir) return;
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${file}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
    const body = JSON.stringify({ format: FORMAT, version: 1, component, root, snapshotId, ...state });
    const h = await open(tmp, 'wx', 0o600);
    try {
      await h.writeFile(body);
      await h.sync();
    } finally {
      await h.close();
    }
    await rename(tmp, file).catch(async (err: unknown) => {
      await rm(tmp, { force: true });
      throw err;
    });
    // The state is saved; a prune that fails leaves old states behind, which are only files.
    await this.prune(component).catch(() => undefined);
  }

  /** Removes the component's states but the KEEP_STATES newest (by snapshot id: its UTC time first), and the legacy file. */
  private async prune(component: string): Promise<void> {
    const dir = this.dir as string;
    const mine = (await readdir(dir))
      .filter((n) => STATE_FILE.exec(n)?.[1] === component)
      .sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
    const stale = [...mine.slice(KEEP_STATES), `${component}.json`];
    await Promise.all(stale.map((n) => rm(path.join(dir, n), { force: true })));
  }
}
