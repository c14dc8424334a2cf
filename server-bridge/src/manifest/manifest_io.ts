/**
 * Manifest text, written and read as a stream. The file is ordinary JSON, laid out with one file
 * entry per line, so a reader can parse a 100k-file index line by line instead of holding the
 * whole text and its parse tree at once, and a listing can skip the entries without parsing them.
 * Any other valid JSON layout (older manifests, hand-edited ones) is still read, just not lazily.
 */
import { constants as bufferConstants } from 'node:buffer';
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import type { Manifest } from './manifest';
import { storedLines } from './entry_list';

const ENTRIES_OPEN = '"entries":[';
const COMPONENT_CLOSE = ']}';
const BATCH = 1000;
/** The longest string V8 can make: a longer line cannot be joined, let alone parsed. */
const MAX_LINE_CHARS = bufferConstants.MAX_STRING_LENGTH;

/** The manifest's JSON text in pieces of at most ~BATCH entries; entry streams are read as it goes. */
export async function* manifestText(m: Manifest): AsyncGenerator<string> {
  const { components, ...head } = m;
  yield `${openObject(JSON.stringify(head))}"components":[\n`;
  for (let i = 0; i < components.length; i++) {
    const { entries, ...rest } = components[i] as Manifest['components'][number];
    yield `${i ? ',' : ''}${openObject(JSON.stringify(rest))}${ENTRIES_OPEN}\n`;
    let batch = '';
    let j = 0;
    // A spooled list's lines are each an entry's JSON already: copied, not parsed and serialised.
    const lines = storedLines(entries) ?? mapAsync(entries, (e) => JSON.stringify(e));
    for await (const line of lines) {
      batch += `${j ? ',' : ''}${line}\n`;
      if (++j % BATCH === 0) {
        yield batch;
        batch = '';
      }
    }
    yield `${batch}${COMPONENT_CLOSE}\n`;
  }
  yield ']}\n';
}

async function* mapAsync<T, U>(items: AsyncIterable<T> | Iterable<T>, f: (x: T) => U): AsyncGenerator<U> {
  for await (const x of items) yield f(x);
}

/** `{"a":1}` → `{"a":1,` (or `{` for an empty object), ready for more keys. */
function openObject(json: string): string {
  return json === '{}' ? '{' : `${json.slice(0, -1)},`;
}

/**
 * Parses manifest text from `input`. Entry lines are parsed one at a time (or skipped, with
 * `entries: false`, leaving each component's entries empty; or handed to `onEntry` with the
 * component's index, unparsed, leaving its entries empty); everything else is parsed as JSON.
 * Throws SyntaxError on invalid JSON.
 */
export async function readManifestText(
  input: Readable,
  opts: {
    entries: boolean;
    onEntry?: (component: number, json: string) => Promise<void>;
    /** A longer line is refused (SyntaxError) as it arrives; default and most: the longest string V8 can make. */
    maxLineChars?: number;
  },
): Promise<unknown> {
  const maxLine = Math.min(opts.maxLineChars ?? MAX_LINE_CHARS, MAX_LINE_CHARS);
  const decoder = new StringDecoder('utf8');
  const lists: unknown[][] = [];
  let skeleton = '';
  // Widened: TypeScript does not see that onLine (a closure) sets it.
  let inEntries = false as boolean;
  let pending: string[] = [];
  let pendingLength = 0;
  const onLine = async (line: string): Promise<void> => {
    if (inEntries) {
      if (line === COMPONENT_CLOSE) {
        inEntries = false;
        skeleton += line;
        return;
      }
      if (opts.onEntry) {
        await opts.onEntry(lists.length - 1, line.startsWith(',') ? line.slice(1) : line);
      } else if (opts.entries) {
        (lists[lists.length - 1] as unknown[]).push(JSON.parse(line.startsWith(',') ? line.slice(1) : line));
      }
      return;
    }
    skeleton += line;
    if (line.endsWith(ENTRIES_OPEN)) {
      inEntries = true;
      lists.push([]);
    }
  };
  for await (const chunk of input) {
    // A line's text is kept in pieces and joined once, at its end, and only the new chunk is
    // searched: appending to one string and searching it flattens (copies) it at every chunk,
    // quadratic in a long line (measured: a 50 MB single-line file took 54 s of CPU, 100 MB over
    // 120 s) and anyone who can write the repository can make one.
    const text = typeof chunk === 'string' ? chunk : decoder.write(chunk as Buffer);
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      pending.push(text.slice(start, nl));
      await onLine(pending.join(''));
      pending = [];
      pendingLength = 0;
      start = nl + 1;
    }
    if (start < text.length) {
      pending.push(text.slice(start));
      pendingLength += text.length - start;
      // A line no string can hold could never be parsed: refused as it grows (a damaged
      // manifest), not held whole until the join throws a RangeError.
      if (pendingLength > maxLine) throw new SyntaxError(`a manifest line longer than ${maxLine} characters`);
    }
  }
  pending.push(decoder.end());
  const last = pending.join('');
  if (last) await onLine(last);
  if (inEntries) throw new SyntaxError('the manifest ends inside a file list');
  const raw = JSON.parse(skeleton) as { components?: Array<{ entries?: unknown[] } | null> };
  // Entry lists were lifted out in order: the n-th "entries":[ belongs to the n-th component.
  let n = 0;
  for (const c of raw.components ?? []) {
    if (c && Array.isArray(c.entries) && c.entries.length === 0 && n < lists.length) {
      c.entries = lists[n++];
    }
  }
  return raw;
}
