import { sleep } from '../../src/core/sleep';
import { CancelledError } from '../../src/core/errors';

test('waits the time it is given', async () => {
  const t0 = Date.now();
  await sleep(60);
  expect(Date.now() - t0).toBeGreaterThanOrEqual(55);
});

test("rejects at once with the caller's own reason when aborted, and leaves no timer behind", async () => {
  const ac = new AbortController();
  const reason = new CancelledError('stopped by the admin');
  const t0 = Date.now();
  const waiting = sleep(60_000, ac.signal);
  setTimeout(() => ac.abort(reason), 20);
  await expect(waiting).rejects.toBe(reason);
  expect(Date.now() - t0).toBeLessThan(5_000);
});

test('an already aborted signal rejects without waiting; a non-Error reason becomes an Error', async () => {
  const ac = new AbortController();
  ac.abort('not an error');
  const err = (await sleep(60_000, ac.signal).catch((e: unknown) => e)) as Error;
  expect(err).toBeInstanceOf(Error);
  expect(err.cause).toBe('not an error');
});
