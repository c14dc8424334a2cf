/**
 * What a backup learnt about a tree's subtrees (day directories of the file store) when it wrote
 * a snapshot: for each, the fingerprint of the database rows its entries are complete for, and
 * how many entries it holds; and when every path was last walked. The next backup of the same
 * component, whose parent is that snapshot, uses it to take unchanged settled days from the parent
 * without walking them (settled_days.ts).
 *
 * Where: `mm-backup-walk/<component>.json` (0700 directory, 0600 file) beside the signing key, like
 * the post-restore indexes and for the same reason: a state that says "unchanged" makes a backup
 * copy the parent's entries without looking, so it must not be plantable by whoever can write the
 * repository. It is a cache: a missing or unreadable one costs a full walk, never a wrong snapshot.
 */
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import { SNAPSHOT_ID } from '../manifest/manifest';

const DIR = 'mm-backup-walk';
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

  private file(component: string): string | undefined {
    // Component ids are [a-z_]+ (manifest.ts componentSchema): a plain file name.
    return this.dir && /^[a-z_]+$/.test(component) ? path.join(this.dir, `${component}.json`) : undefined;
  }

  /** The state recorded for `component` at `root` with snapshot `snapshotId`, or undefined (none, another snapshot, unreadable). */
  async load(component: string, root: string, snapshotId: string): Promise<WalkState | undefined> {
    const file = this.file(component);
    if (!file) return undefined;
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(file, 'utf8'));
    } catch {
      return undefined;
    }
    const res = stateSchema.safeParse(raw);
    if (!res.success) return undefined;
    const s = res.data;
    if (s.component !== component || s.root !== root || s.snapshotId !== snapshotId) return undefined;
    return { fullWalkAt: s.fullWalkAt, exclude: s.exclude, subtrees: s.subtrees };
  }

  /** Records `state` as the walk state of `component` in the committed snapshot `snapshotId` (atomic replace). */
  async save(component: string, root: string, snapshotId: string, state: WalkState): Promise<void> {
    const file = this.file(component);
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
  }
}
