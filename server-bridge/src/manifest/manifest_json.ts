/**
 * A manifest as JSON text with every file index in it (`show --json`, GET …/manifest), produced in
 * chunks as the indexes are read: the same text as JSON.stringify(await wholeManifest(m)), without
 * holding a million entries (and a few hundred MB of text) at once.
 */
import { randomBytes } from 'node:crypto';
import type { Manifest } from './manifest';

/** About this much text per chunk: large enough that writes are few, small enough to stay flat. */
const CHUNK_CHARS = 64 * 1024;

/**
 * Yields the JSON text of `m` with each component's `entries` written out in full, in the key
 * order JSON.stringify gives the whole manifest. Stopping early (a client that went away) closes
 * the index being read.
 */
export async function* manifestJsonChunks(m: Manifest): AsyncGenerator<string> {
  // Each streamed index is written where a placeholder stands: a fresh random word nobody can put
  // in a manifest field, whose JSON string form is then found exactly once per component.
  const mark = `mm-backup-entries-${randomBytes(16).toString('hex')}`;
  const placeholder = JSON.stringify(mark);
  const text = JSON.stringify({ ...m, components: m.components.map((c) => ({ ...c, entries: mark })) });
  const parts = text.split(placeholder);
  if (parts.length !== m.components.length + 1) {
    throw new Error('the manifest text could not be laid out around its file indexes');
  }
  yield parts[0] as string;
  for (let i = 0; i < m.components.length; i++) {
    let buf = '[';
    let first = true;
    for await (const e of (m.components[i] as Manifest['components'][number]).entries) {
      buf += (first ? '' : ',') + JSON.stringify(e);
      first = false;
      if (buf.length >= CHUNK_CHARS) {
        yield buf;
        buf = '';
      }
    }
    yield `${buf}]${parts[i + 1] as string}`;
  }
}
