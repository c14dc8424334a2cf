/**
 * Browsing and downloading a snapshot's files (the page's snapshot browser): one directory page at
 * a time from the manifest's sorted file index, and one file, or a directory as a tar, streamed
 * from the repository with every object checked against the checksum the signed manifest names.
 * Components that hold secrets are listed by name only and never downloaded; only snapshots
 * signed by a trusted key are downloaded (a forged manifest could name any object under any path).
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import path from 'node:path';
import { pack as tarPack, type Pack } from 'tar-stream';
import { kindOf, holdsSecrets } from '../components/registry';
import { ForbiddenError, NotFoundError, UsageError, VerificationError } from '../core/errors';
import { entriesUnder, findEntry, listDirectory, type ChildEntry } from '../manifest/entry_children';
import type { ComponentRecord, Entry, Manifest } from '../manifest/manifest';
import type { Repository } from '../repository/repository';
import type { TrustPolicy } from '../repository/trust';
import type { TrustState } from '../repository/signing';

/** How long a loaded manifest is kept for the next page (loading one reads its whole index). */
const KEEP_MS = 2 * 60_000;
/** Manifests kept at once (each is a spooled file on local disk, not memory). */
const KEEP = 2;

export interface TreeRequest {
  snapshotId: string;
  component: string;
  /** The directory, relative to the component root ('' is the root); checked by the caller's schema. */
  path: string;
  cursor?: string;
  limit: number;
}

export interface TreeResult {
  snapshotId: string;
  component: string;
  path: string;
  secrets: boolean;
  downloadable: boolean;
  trust: TrustState;
  children: ChildEntry[];
  next?: string;
}

/** What a download sends: its name for the browser, its length when known, and the bytes (started when read). */
export interface Download {
  kind: 'file' | 'tar';
  filename: string;
  size?: number;
  stream: Readable;
}

interface Loaded {
  m: Manifest;
  trust: TrustState;
}

export class SnapshotBrowser {
  /** Loaded (or loading) manifests by id, with when their load started. */
  private readonly kept = new Map<string, { p: Promise<Loaded>; at: number }>();

  constructor(
    private readonly repo: Repository,
    private readonly trust: TrustPolicy,
  ) {}

  async tree(req: TreeRequest): Promise<TreeResult> {
    const { m, trust } = await this.load(req.snapshotId);
    const c = treeComponent(m, req.component);
    const secrets = holdsSecrets(c.id);
    const page = await listDirectory(c.entries, req.path, { after: req.cursor, limit: req.limit });
    if (req.path !== '') {
      if (page.self && page.self.type !== 'dir') {
        throw new UsageError(`${req.path} in component ${c.id} is a ${page.self.type}, not a directory`);
      }
      if (!page.self && !page.populated) {
        throw new NotFoundError(`snapshot ${m.id} has no directory ${req.path} in component ${c.id}`);
      }
    }
    return {
      snapshotId: m.id,
      component: c.id,
      path: req.path,
      secrets,
      downloadable: !secrets && trust === 'signed',
      trust,
      children: page.children,
      next: page.next,
    };
  }

  /**
   * A file as it is, or a directory (or the whole component, path '') as a tar. Every refusal is
   * thrown here, before anything is sent; the stream starts reading when it is read, and fails
   * (so the answer is cut off, never completed) when an object differs from its checksum.
   */
  async download(req: { snapshotId: string; component: string; path: string }, signal: AbortSignal): Promise<Download> {
    // Refused before anything is read: whatever the snapshot holds, these are never sent.
    if (holdsSecrets(req.component)) {
      throw new ForbiddenError(`component ${req.component} holds secrets and is never downloaded from the page`, {
        hint: 'restore it with mm-backup restore on the server, where the files keep their permissions',
      });
    }
    const { m } = await this.load(req.snapshotId);
    const c = treeComponent(m, req.component);
    await this.trust.requireManifest(this.repo, m, { action: 'downloaded' });
    const e = req.path === '' ? undefined : await findEntry(c.entries, req.path);
    if (e?.type === 'file') {
      return {
        kind: 'file',
        filename: path.posix.basename(e.path),
        size: e.size ?? 0,
        stream: Readable.from(checkedObject(this.repo, e, signal)),
      };
    }
    if (e?.type === 'symlink') throw new UsageError(`${req.path} is a symbolic link (to ${e.target ?? '?'})`);
    // A directory: its own entry, or implied by the entries below it.
    const first = await firstOf(entriesUnder(c.entries, req.path));
    if (!first) {
      throw new NotFoundError(`snapshot ${m.id} has no file or directory ${req.path || '(root)'} in component ${c.id}`);
    }
    const top = req.path === '' ? `${m.id}-${c.id}` : path.posix.basename(req.path);
    return {
      kind: 'tar',
      filename: `${top}.tar`,
      stream: Readable.from(tarOf(this.repo, c, req.path, top, signal)),
    };
  }

  /** The manifest of `id`, signature checked, kept a while for the next page. */
  private async load(id: string): Promise<Loaded> {
    const now = Date.now();
    for (const [k, v] of this.kept) if (now - v.at > KEEP_MS) this.kept.delete(k);
    if (id === 'latest') {
      const m = await this.repo.loadSnapshot('latest');
      return this.keep(m.id, this.checked(m));
    }
    const hit = this.kept.get(id);
    if (hit) return hit.p;
    return this.keep(
      id,
      this.repo.loadSnapshot(id).then((m) => this.checked(m)),
    );
  }

  private async checked(m: Manifest): Promise<Loaded> {
    return { m, trust: (await this.trust.checkManifest(this.repo, m)).state };
  }

  private keep(id: string, p: Promise<Loaded>): Promise<Loaded> {
    this.kept.delete(id);
    this.kept.set(id, { p, at: Date.now() });
    // The oldest goes; its spooled index is removed once no request reads it any more (entry_spool.ts).
    while (this.kept.size > KEEP) this.kept.delete(this.kept.keys().next().value as string);
    p.catch(() => this.kept.delete(id));
    return p;
  }
}

function treeComponent(m: Manifest, id: string): ComponentRecord {
  const c = m.components.find((x) => x.id === id);
  if (!c) throw new NotFoundError(`snapshot ${m.id} has no component ${id}`);
  if (kindOf(c).store !== 'tree') {
    throw new UsageError(`component ${id} is a database dump, not a file tree: there is nothing to browse`);
  }
  return c;
}

async function firstOf<T>(it: AsyncGenerator<T>): Promise<T | undefined> {
  const r = await it.next();
  await it.return(undefined);
  return r.done ? undefined : r.value;
}

function mismatch(e: Entry, actual: string, bytes: number): VerificationError {
  const sha = e.sha256 ?? '';
  return new VerificationError(
    `${e.path}: object ${sha.slice(0, 12)}… does not match the manifest (got ${actual.slice(0, 12)}…, ${bytes} bytes): the download was cut off`,
    [{ component: 'object', object: sha, problem: 'content does not match its checksum' }],
    { hint: 'someone or something changed the repository; run mm-backup verify and see docs/security.md' },
  );
}

/**
 * An object's bytes, hashed as they flow; the last chunk is held back until the whole object
 * matched its checksum and size, so a swapped object never reaches the reader complete.
 */
async function* checkedObject(repo: Repository, e: Entry, signal: AbortSignal): AsyncGenerator<Buffer> {
  const size = e.size ?? 0;
  if (!e.sha256) {
    if (size !== 0) throw mismatch(e, 'none', 0);
    return;
  }
  const source = await repo.readObject(e.sha256, { signal });
  const hash = createHash('sha256');
  let held: Buffer | undefined;
  let bytes = 0;
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      hash.update(chunk);
      bytes += chunk.length;
      if (held) yield held;
      held = chunk;
    }
  } finally {
    source.destroy();
  }
  const actual = hash.digest('hex');
  if (actual !== e.sha256 || bytes !== size) throw mismatch(e, actual, bytes);
  if (held) yield held;
}

/** Entries at and below `dir` as a tar, each named under `top`/ (paths were checked when the manifest was read). */
async function* tarOf(
  repo: Repository,
  c: ComponentRecord,
  dir: string,
  top: string,
  signal: AbortSignal,
): AsyncGenerator<Buffer> {
  const pack = tarPack();
  const filling = fill(pack, repo, c, dir, top, signal).then(
    () => pack.finalize(),
    (err: unknown) => pack.destroy(err as Error),
  );
  try {
    for await (const chunk of pack as AsyncIterable<Buffer>) yield chunk;
  } finally {
    pack.destroy();
    await filling;
  }
}

async function fill(
  pack: Pack,
  repo: Repository,
  c: ComponentRecord,
  dir: string,
  top: string,
  signal: AbortSignal,
): Promise<void> {
  const base = dir === '' ? '' : `${dir}/`;
  for await (const e of entriesUnder(c.entries, dir)) {
    signal.throwIfAborted();
    const rel = e.path === dir ? '' : e.path.slice(base.length);
    const name = rel ? `${top}/${rel}` : top;
    const head = { name, mode: e.mode, uid: e.uid, gid: e.gid, mtime: new Date(Number(BigInt(e.mtime) / 1_000_000n)) };
    if (e.type === 'dir') {
      await entry(pack, { ...head, type: 'directory' });
    } else if (e.type === 'symlink') {
      await entry(pack, { ...head, type: 'symlink', linkname: e.target ?? '' });
    } else {
      await entry(pack, { ...head, type: 'file', size: e.size ?? 0 }, checkedObject(repo, e, signal));
    }
  }
}

type Header = Parameters<Pack['entry']>[0];

/** Adds one entry and waits until the pack took it whole (writes wait for the reader: memory stays flat). */
function entry(pack: Pack, header: Header, body?: AsyncIterable<Buffer>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const w = pack.entry(header, (err) => (err ? reject(err) : resolve()));
    // Its errors are this promise's (rejected below, and the pack is destroyed by the caller).
    w.on('error', () => undefined);
    if (!body) {
      w.end(undefined);
      return;
    }
    void (async () => {
      for await (const chunk of body) {
        if (!w.write(chunk)) await new Promise<void>((r) => w.once('drain', () => r()));
      }
      w.end(undefined);
    })().catch((err: unknown) => {
      const e = err instanceof Error ? err : new Error(String(err));
      w.destroy(e);
      reject(e);
    });
  });
}
