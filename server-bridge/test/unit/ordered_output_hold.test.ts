// Entries held in the ordered window without a promise (the second reading thread's files): they
// are written in the order they were held, whatever order they are settled in; the window runs
// their `wait` when it must write one, again until it is settled; a failure there fails the write.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { collectEntries } from '../../src/manifest/entry_list';
import { EntrySpool } from '../../src/manifest/entry_spool';
import type { Entry } from '../../src/manifest/manifest';
import { OrderedOutput, type HeldEntry } from '../../src/repository/ordered_output';

let work: string;
let spool: EntrySpool;
beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'held-'));
  spool = await EntrySpool.create(work, 'held');
});
afterEach(async () => {
  await spool.discard();
  await rm(work, { recursive: true, force: true });
});

const file = (p: string): Entry => ({ path: p, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: '1', size: 1 });

async function written(): Promise<string[]> {
  const stream = await spool.endSection();
  return (await collectEntries(stream)).map((e) => `${e.path}${e.sha256 ? `=${e.sha256}` : ''}`);
}

test('held entries are written in the order held, settled in any order, one left out', async () => {
  const out = new OrderedOutput(spool);
  const held: HeldEntry[] = [];
  const neverWaited = () => Promise.reject(new Error('the window waited though nothing was over its bounds'));
  for (const p of ['a', 'b', 'c', 'd']) {
    held.push(out.hold(file(p), p, neverWaited));
    await out.pace();
  }
  await out.add(file('e'), 'e'); // a plain entry behind the held ones waits its turn
  const [a, b, c, d] = held as [HeldEntry, HeldEntry, HeldEntry, HeldEntry];
  out.settle(d, { ...file('d'), sha256: 'D' });
  out.settle(b, undefined); // vanished: left out
  out.settleWith(c, Promise.resolve({ ...file('c'), sha256: 'C' }));
  await out.pace();
  expect(out.waiting).toBe(5); // 'a' is not settled: nothing may pass it
  out.settle(a, { ...(a.entry as Entry), sha256: 'A' });
  await out.finish();
  expect(await written()).toEqual(['a=A', 'c=C', 'd=D', 'e']);
});

test('over its bounds, the window runs the oldest held entry`s wait until it is settled', async () => {
  const out = new OrderedOutput(spool, { count: 2, bytes: 1 << 20 });
  const held: HeldEntry[] = [];
  let waits = 0;
  // Each wait settles one more entry, oldest first: the first entry needs two waits.
  const wait = (): Promise<void> => {
    waits++;
    const next = held[waits - 2];
    if (next) out.settle(next, { ...(next.entry as Entry), sha256: `w${waits}` });
    return Promise.resolve();
  };
  for (const p of ['a', 'b', 'c', 'd']) {
    held.push(out.hold(file(p), p, wait));
    await out.pace();
    expect(out.waiting).toBeLessThanOrEqual(2);
  }
  const last = held.slice(waits - 1);
  for (const h of last) out.settle(h, h.entry);
  await out.finish();
  expect(await written()).toEqual(['a=w2', 'b=w3', 'c', 'd']);
});

test('a wait that fails, or work that rejects, fails the write that reaches it', async () => {
  const out = new OrderedOutput(spool, { count: 1, bytes: 1 << 20 });
  out.hold(file('a'), 'a', () => Promise.reject(new Error('the reading thread failed')));
  await expect(out.add(file('b'), 'b')).rejects.toThrow('the reading thread failed');

  const other = await EntrySpool.create(work, 'held2');
  try {
    const out2 = new OrderedOutput(other);
    const h = out2.hold(file('a'), 'a', () => Promise.resolve());
    out2.settleWith(h, Promise.reject(new Error('EACCES: permission denied')));
    await expect(out2.finish()).rejects.toThrow('EACCES');
  } finally {
    await other.discard();
  }
});
