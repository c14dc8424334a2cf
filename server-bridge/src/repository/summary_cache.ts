/**
 * The repository's summaries of manifests (without their file entries), by storage key: in memory
 * for this process, and on the host's disk (summary_store.ts) for the next one. Manifests never
 * change once written; one replaced in the repository since (another size) is read again.
 */
import { parseManifest, type Manifest } from '../manifest/manifest';
import { parseSnapshotKey } from './layout';
import type { SummaryStore } from './summary_store';

/** Where a manifest's bytes came from and their SHA-256 (what a signature covers). */
export interface ManifestOrigin {
  keyId: string;
  sha256: string;
}

/** Contract: get() gives a summary only for a manifest of the size it was made from; each summary's origin is set. */
export class SummaryCache {
  private readonly memory = new Map<string, Manifest>();

  constructor(
    private readonly store: SummaryStore | undefined,
    private readonly origins: WeakMap<Manifest, ManifestOrigin>,
  ) {}

  /**
   * The summary of the manifest at `key`. `kept`: one kept on disk by an earlier process may
   * answer, when `size` (the manifest's size in the repository now) is the size it was made from.
   * Only for choices that the whole manifest is checked for again, or that a replaced manifest
   * cannot make wrong (which snapshot to load as a parent, the retention's times); never for what
   * a listing shows the admin about a snapshot, which is read from the repository as it is now.
   */
  async get(key: string, size: number | undefined, kept: boolean): Promise<Manifest | undefined> {
    const hit = this.memory.get(key);
    if (hit) return hit;
    const id = parseSnapshotKey(key)?.id;
    if (!kept || !this.store || !id || size === undefined) return undefined;
    const stored = await this.store.get(id, size);
    if (!stored) return undefined;
    this.origins.set(stored.summary, { keyId: id, sha256: stored.sha256 });
    return stored.summary;
  }

  /**
   * Remembers the summary of `m` (a summary, a whole manifest or one just written), read from or
   * written to `key` as bytes hashing to `origin.sha256`; kept on disk too when `size` is known.
   * A failure to keep it only costs a read later.
   */
  async remember(key: string, m: Manifest, origin: ManifestOrigin, size: number | undefined): Promise<void> {
    // Through JSON, as a summary read from the file would be: no entry stream, nothing undefined.
    const res = parseManifest(
      JSON.parse(JSON.stringify({ ...m, components: m.components.map((c) => ({ ...c, entries: [] })) })),
    );
    if (!res.success) return;
    this.origins.set(res.data, origin);
    this.memory.set(key, res.data);
    if (this.store && size !== undefined) {
      await this.store.put(origin.keyId, size, origin.sha256, res.data).catch(() => undefined);
    }
  }

  /** Forgets the summary at `key` (its snapshot was deleted). */
  async forget(key: string): Promise<void> {
    this.memory.delete(key);
    const id = parseSnapshotKey(key)?.id;
    if (id) await this.store?.drop(id).catch(() => undefined);
  }

  /** Drops kept summaries of snapshots the repository no longer has (`ids`: those it has). */
  async retain(ids: ReadonlySet<string>): Promise<void> {
    await this.store?.retain(ids).catch(() => undefined);
  }
}
