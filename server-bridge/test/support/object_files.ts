/**
 * A local repository's objects as the tests see them on disk, wherever they are stored: an object
 * file objects/<ab>/<sha256>, or a slice of a pack packs/<ab>/<pack> that index/<pack>.json lists
 * (docs/storage.md "Packs"). Tests that damage, remove or inspect an object use these, so they
 * prove the same with repository.packs on or off. Plain (unencrypted) local repositories only.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { objectKey, packIndexKey, packKey } from '../../src/repository/layout';
import { parsePackIndexFile, serializePackIndexFile, type PackIndexFile } from '../../src/repository/pack_index_file';

/** Where an object's bytes are: `file`[offset, offset + size); `pack` is set for a packed object. */
export interface ObjectPlace {
  file: string;
  offset: number;
  size: number;
  pack?: PackIndexFile;
}

const keyPath = (repoRoot: string, key: string): string => path.join(repoRoot, ...key.split('/'));

/** Every pack index of the repository, parsed (an index that does not parse is skipped: nobody reads it). */
export async function packIndexes(repoRoot: string): Promise<PackIndexFile[]> {
  const names = await readdir(path.join(repoRoot, 'index')).catch(() => [] as string[]);
  const out: PackIndexFile[] = [];
  for (const n of names.sort()) {
    const pack = /^([0-9a-f]{64})\.json$/.exec(n)?.[1];
    if (!pack) continue;
    try {
      out.push(parsePackIndexFile(await readFile(path.join(repoRoot, 'index', n)), pack));
    } catch {
      // not a valid index: its objects are not found by the repository either
    }
  }
  return out;
}

/**
 * Where object `sha` is stored: its packed slice when an index lists it (as the repository reads
 * it), else its object file. Throws when it is neither (a test's premise is wrong).
 */
export async function objectPlace(repoRoot: string, sha: string): Promise<ObjectPlace> {
  for (const pack of await packIndexes(repoRoot)) {
    const o = pack.objects.find((x) => x.sha256 === sha);
    if (o) return { file: keyPath(repoRoot, packKey(pack.pack)), offset: o.offset, size: o.size, pack };
  }
  const file = keyPath(repoRoot, objectKey(sha));
  const st = await stat(file).catch(() => undefined);
  if (!st) throw new Error(`object ${sha.slice(0, 12)}… is neither packed nor an object file in ${repoRoot}`);
  return { file, offset: 0, size: st.size };
}

/** Whether object `sha` is stored at all (packed or as an object file). */
export async function objectStored(repoRoot: string, sha: string): Promise<boolean> {
  return objectPlace(repoRoot, sha).then(
    () => true,
    () => false,
  );
}

/** Whether object `sha` is in a pack (false: an object file, or not stored). */
export async function objectPacked(repoRoot: string, sha: string): Promise<boolean> {
  return (await objectPlace(repoRoot, sha).catch(() => undefined))?.pack !== undefined;
}

/** The stored bytes of object `sha`, as they are on disk (not checked). */
export async function readStoredObject(repoRoot: string, sha: string): Promise<Buffer> {
  const p = await objectPlace(repoRoot, sha);
  return (await readFile(p.file)).subarray(p.offset, p.offset + p.size);
}

/**
 * Damages object `sha` with its size kept: the byte at `at` (default: the middle) is flipped in
 * its object file, or in its slice of the pack (the pack keeps its size; only this object no
 * longer matches its checksum). Returns the object's original bytes.
 */
export async function corruptObject(repoRoot: string, sha: string, at?: number): Promise<Buffer> {
  const p = await objectPlace(repoRoot, sha);
  if (p.size === 0) throw new Error(`object ${sha.slice(0, 12)}… is empty: no byte to damage`);
  const whole = await readFile(p.file);
  const original = Buffer.from(whole.subarray(p.offset, p.offset + p.size));
  const i = p.offset + (at ?? p.size >> 1);
  whole[i] = (whole[i] as number) ^ 0xff;
  await writeFile(p.file, whole);
  return original;
}

/**
 * Removes object `sha` and nothing else: its object file, or, for a packed object, its pack is
 * written again without it (a new pack named by its content, with its index; the old pack and
 * index removed), so every other object stays where the repository finds it.
 */
export async function removeObject(repoRoot: string, sha: string): Promise<void> {
  const p = await objectPlace(repoRoot, sha);
  if (!p.pack) {
    await rm(p.file);
    return;
  }
  const old = p.pack;
  const bytes = await readFile(p.file);
  const kept = old.objects.filter((o) => o.sha256 !== sha);
  await rm(keyPath(repoRoot, packIndexKey(old.pack)));
  await rm(p.file);
  if (kept.length === 0) return;
  const body = Buffer.concat(kept.map((o) => bytes.subarray(o.offset, o.offset + o.size)));
  const name = createHash('sha256').update(body).digest('hex');
  let offset = 0;
  const objects = kept.map((o) => {
    const placed = { sha256: o.sha256, offset, size: o.size };
    offset += o.size;
    return placed;
  });
  const packFile = keyPath(repoRoot, packKey(name));
  await mkdir(path.dirname(packFile), { recursive: true });
  await writeFile(packFile, body, { mode: 0o600 });
  await writeFile(
    keyPath(repoRoot, packIndexKey(name)),
    serializePackIndexFile({ pack: name, size: body.length, objects }),
    { mode: 0o600 },
  );
}

/**
 * Puts object `sha`'s `bytes` back (after corruptObject or removeObject): over its slice or file
 * where it is stored still, else as an object file (found by readers like a packed one).
 */
export async function putObjectBack(repoRoot: string, sha: string, bytes: Buffer): Promise<void> {
  const p = await objectPlace(repoRoot, sha).catch(() => undefined);
  if (p) {
    if (p.size !== bytes.length) {
      throw new Error(`object ${sha.slice(0, 12)}… is ${p.size} bytes here, not ${bytes.length}`);
    }
    const whole = await readFile(p.file);
    bytes.copy(whole, p.offset);
    await writeFile(p.file, whole);
    return;
  }
  const file = keyPath(repoRoot, objectKey(sha));
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, bytes, { mode: 0o600 });
}

/**
 * Object `sha`'s bytes from any copy of a repository, the way docs/commands.md restores by hand:
 * `read(key)` gives a key's plain bytes (decrypted by the caller for an encrypted copy), `list`
 * the keys under a prefix. Its object file if there is one, else its slice of the pack an index
 * lists it in. `key`: the key the bytes came from (the object file or the pack).
 */
export async function objectByHand(
  read: (key: string) => Promise<Buffer>,
  list: (prefix: string) => Promise<string[]>,
  sha: string,
): Promise<{ key: string; bytes: Buffer; offset: number }> {
  const own = objectKey(sha);
  if ((await list(path.posix.dirname(own))).includes(own)) return { key: own, bytes: await read(own), offset: 0 };
  for (const k of (await list('index')).sort()) {
    const pack = /^index\/([0-9a-f]{64})\.json$/.exec(k)?.[1];
    if (!pack) continue;
    const o = parsePackIndexFile(await read(k), pack).objects.find((x) => x.sha256 === sha);
    if (!o) continue;
    const key = packKey(pack);
    return { key, bytes: (await read(key)).subarray(o.offset, o.offset + o.size), offset: o.offset };
  }
  throw new Error(`object ${sha.slice(0, 12)}… is neither an object file nor in any pack`);
}

/**
 * The keys that hold object `sha` in local repository `repoRoot`: its object file's, or its pack's
 * and that pack's index (a copy off-site uses the same names).
 */
export async function objectKeys(repoRoot: string, sha: string): Promise<string[]> {
  const p = await objectPlace(repoRoot, sha);
  return p.pack ? [packKey(p.pack.pack), packIndexKey(p.pack.pack)] : [objectKey(sha)];
}

/**
 * A pack's objects split around `sha`: a new pack of the others (none when there are none) and,
 * with `alone`, one of `sha` alone, each with its index text; names are their SHA-256 as always.
 * For a copy that is not a plain local directory: the caller stores them its own way (encrypted).
 */
export function packsWithout(
  index: PackIndexFile,
  body: Buffer,
  sha: string,
  alone: boolean,
): Array<{ pack: string; body: Buffer; index: string }> {
  const groups = [index.objects.filter((o) => o.sha256 !== sha)];
  if (alone) groups.push(index.objects.filter((o) => o.sha256 === sha));
  return groups
    .filter((g) => g.length > 0)
    .map((g) => {
      const out = Buffer.concat(g.map((o) => body.subarray(o.offset, o.offset + o.size)));
      const pack = createHash('sha256').update(out).digest('hex');
      let offset = 0;
      const objects = g.map((o) => {
        const placed = { sha256: o.sha256, offset, size: o.size };
        offset += o.size;
        return placed;
      });
      return { pack, body: out, index: serializePackIndexFile({ pack, size: out.length, objects }) };
    });
}
