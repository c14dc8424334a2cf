/**
 * Summaries of manifests (a manifest without its file entries) that this host read or wrote, kept
 * on local disk so that a new process lists the repository's snapshots without reading every
 * manifest again. At a million files a manifest is about 430 MB: each backup's retention step read
 * every kept snapshot's whole manifest to learn its time, and the preflight read the parent's
 * twice (once for its summary, once whole).
 *
 * Where: `mm-backup-summaries/<repository>@<snapshot id>.json` (0700 directory, 0600 files) beside
 * the signing key, like the walk states, and for the same reason: the repository may be written
 * by others, this directory is the host's own. `<repository>` is a digest of the storage's
 * location, so two repositories' summaries never answer for each other. A summary is used only
 * while the manifest's size in the repository is the size it had when it was read or written,
 * and it carries the SHA-256 of those bytes: a signature check of a summary is a check of the
 * bytes that were read, and a manifest replaced since is read again whole wherever its entries
 * are needed (restore, verify, a backup's parent), which checks its signature then. It is a
 * cache: a missing or unreadable summary costs one read of the manifest, never a wrong answer.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { replaceFile } from '../core/atomic_file';
import { parseManifest, SNAPSHOT_ID, type Manifest } from '../manifest/manifest';

const DIR = 'mm-backup-summaries';
const FORMAT = 'mm-backup-summary';
const SUMMARY_FILE = /^([0-9a-f]{16})@(\d{8}T\d{6}Z-[0-9a-f]{6})\.json$/;
/** A summary is a few KB; a larger file is not one of ours. */
const MAX_FILE_BYTES = 1024 * 1024;

const fileSchema = z.strictObject({
  format: z.literal(FORMAT),
  version: z.literal(1),
  location: z.string(),
  id: z.string().regex(SNAPSHOT_ID),
  size: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  summary: z.unknown(),
});

/** A kept summary and the SHA-256 of the manifest bytes it was made from. */
export interface StoredSummary {
  summary: Manifest;
  sha256: string;
}

/** Contract: get() answers only with what put() stored for the same location, id and size; every failure is a miss. */
export class SummaryStore {
  private readonly tag: string;

  private constructor(
    private readonly dir: string | undefined,
    private readonly location: string,
  ) {
    this.tag = createHash('sha256').update(location).digest('hex').slice(0, 16);
  }

  /** The store beside the signing key `keyFile` for the repository at `location`; none (every get misses) without a key file. */
  static beside(keyFile: string | undefined, location: string): SummaryStore {
    return new SummaryStore(keyFile ? path.join(path.dirname(keyFile), DIR) : undefined, location);
  }

  private file(id: string): string | undefined {
    return this.dir && SNAPSHOT_ID.test(id) ? path.join(this.dir, `${this.tag}@${id}.json`) : undefined;
  }

  /** The summary kept for snapshot `id` whose manifest has `size` bytes in the repository, or undefined. */
  async get(id: string, size: number): Promise<StoredSummary | undefined> {
    const file = this.file(id);
    if (!file) return undefined;
    try {
      const text = await readSmallText(file);
      if (text === undefined) return undefined;
      const f = fileSchema.safeParse(JSON.parse(text));
      if (!f.success || f.data.location !== this.location || f.data.id !== id || f.data.size !== size) return undefined;
      const m = parseManifest(f.data.summary);
      if (
        !m.success ||
        m.data.id !== id ||
        m.data.components.some((c) => !Array.isArray(c.entries) || c.entries.length)
      ) {
        return undefined;
      }
      return { summary: m.data, sha256: f.data.sha256 };
    } catch {
      return undefined;
    }
  }

  /** Keeps `summary` (entries left out) of snapshot `id`, whose manifest has `size` bytes hashing to `sha256`. */
  async put(id: string, size: number, sha256: string, summary: Manifest): Promise<void> {
    const file = this.file(id);
    if (!file || !this.dir) return;
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const body = JSON.stringify({
      format: FORMAT,
      version: 1,
      location: this.location,
      id,
      size,
      sha256,
      summary: { ...summary, components: summary.components.map((c) => ({ ...c, entries: [] })) },
    });
    await replaceFile(file, body);
  }

  /** Removes the summary of snapshot `id`. */
  async drop(id: string): Promise<void> {
    const file = this.file(id);
    if (file) await rm(file, { force: true });
  }

  /** Removes this repository's summaries of snapshots not in `ids` (deleted by this host or another). */
  async retain(ids: ReadonlySet<string>): Promise<void> {
    const dir = this.dir;
    if (!dir) return;
    const names = await readdir(dir).catch(() => [] as string[]);
    const stale = names.filter((n) => {
      const m = SUMMARY_FILE.exec(n);
      return m?.[1] === this.tag && !ids.has(m[2] as string);
    });
    await Promise.all(stale.map((n) => rm(path.join(dir, n), { force: true })));
  }
}

/** The text of `file` if it is a regular file of at most MAX_FILE_BYTES (not followed if a link), else undefined. */
async function readSmallText(file: string): Promise<string | undefined> {
  const h = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const st = await h.stat();
    if (!st.isFile() || st.size > MAX_FILE_BYTES) return undefined;
    return await h.readFile('utf8');
  } finally {
    await h.close();
  }
}
