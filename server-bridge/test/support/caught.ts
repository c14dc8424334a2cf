/** Awaits a promise that must reject and returns the error, so tests assert on real fields. */
export async function caught(
  p: Promise<unknown>,
): Promise<Error & { code?: string; hint?: string; issues?: unknown[]; details?: Record<string, unknown> }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected the promise to reject, but it resolved');
}
