/**
 * A NameFile (object names on local disk, behind PackIndex and SessionPacked) whose owner is
 * dropped without close() has its descriptor closed when it is collected, and one closed by its
 * owner is never closed again (its number may belong to another file by then). Runs in a child
 * started with --expose-gc (test/support/name_file_gc_child.cjs, on the built dist/).
 */
import path from 'node:path';
import { DIST, runNode, SUPPORT } from '../support/memory_child';

test('80 dropped owners of name files: their 80 descriptors are open while held and closed after a collection; a closed one is not closed twice', async () => {
  const res = await runNode(['--expose-gc', path.join(SUPPORT, 'name_file_gc_child.cjs'), DIST]);
  if (res.code !== 0) throw new Error(`the child failed (${res.code ?? res.signal}):\n${res.stderr.slice(-3000)}`);
  const out = JSON.parse(res.stdout) as {
    base: number;
    whileHeld: number;
    afterGc: number;
    sameNumber: boolean;
    otherOpen: boolean;
  };
  expect(out.whileHeld - out.base).toBe(80);
  expect(out.afterGc).toBe(out.base);
  // The file opened after the close took the closed one's number, and the collection left it open.
  expect(out.sameNumber).toBe(true);
  expect(out.otherOpen).toBe(true);
});
