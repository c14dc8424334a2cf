/**
 * Reads one manifest from the repository's storage: parsed and checked, hashed as it is read, its
 * file entries copied to a private spool (or skipped).
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { formatIssues } from '../config/load';
import { parseManifest, type Manifest } from '../manifest/manifest';
import { readManifestText } from '../manifest/manifest_io';
import { loadManifestText } from '../manifest/manifest_load';
import type { EntrySpool } from '../manifest/entry_spool';
import { spoolDir } from '../manifest/spool_dir';
import type { Storage } from '../storage/storage';
import { damagedManifest } from './damaged_manifest';
import { parseSnapshotKey } from './layout';
import type { ManifestOrigin } from './summary_cache';

/** A manifest read from `key`, where its bytes came from, and the spool holding its entries (none when skipped). */
export interface ReadManifest {
  manifest: Manifest;
  origin: ManifestOrigin;
  spool?: EntrySpool;
}

/**
 * Contract: resolves only with a manifest that parses and passes the schema, entry by entry
 * (`entries: false` leaves every component's entries empty), with the SHA-256 of exactly the
 * bytes parsed; a damaged one is a damagedManifest error, the spool of a failed read removed.
 */
export async function readManifest(storage: Storage, key: string, opts: { entries: boolean }): Promise<ReadManifest> {
  let raw: unknown;
  let entryIssues: Array<{ path: PropertyKey[]; message: string }> = [];
  let spool: EntrySpool | undefined;
  // The whole file is hashed as it is parsed (also when entries are skipped), so a signature is
  // checked against exactly the bytes behind the manifest in hand, with no second read to race:
  // the file indexes are copied to a private spool on the way, and read from there afterwards.
  // A read retried after a broken connection starts the hash and the parse over.
  let hash = createHash('sha256');
  const dir = opts.entries ? await spoolDir() : undefined;
  try {
    raw = await storage.load(key, async (source) => {
      hash = createHash('sha256');
      const h = hash;
      const hashed = Readable.from(
        (async function* hashedChunks() {
          for await (const chunk of source) {
            h.update(chunk as Buffer);
            yield chunk as Buffer;
          }
        })(),
      );
      if (!dir) return readManifestText(hashed, opts);
      await spool?.discard(); // a retried read starts a new spool
      const loaded = await loadManifestText(hashed, dir);
      entryIssues = loaded.issues;
      spool = loaded.spool;
      return loaded.raw;
    });
  } catch (err) {
    await spool?.discard();
    if (!(err instanceof SyntaxError)) throw err;
    throw damagedManifest(key, 'is not valid JSON', err);
  }
  const res = parseManifest(raw);
  const issues = res.success ? entryIssues : res.issues;
  if (!res.success || issues.length) {
    await spool?.discard();
    throw damagedManifest(key, `is invalid: ${formatIssues(issues).slice(0, 3).join('; ')}`);
  }
  return { manifest: res.data, origin: { keyId: parseSnapshotKey(key)?.id ?? key, sha256: hash.digest('hex') }, spool };
}
