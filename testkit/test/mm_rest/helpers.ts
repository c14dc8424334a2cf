/** Shared setup for the mm_rest tests: the kit's seeded stand-in and the app-error assertion. */
export { seedBot, world, type Call, type World } from '../../src/mm_rest';
import type { Call } from '../../src/mm_rest';

export function expectAppError(c: Call, status: number, id: string): void {
  expect({ status: c.status, id: c.json?.id }).toEqual({ status, id });
  expect(Object.keys(c.json).sort()).toEqual(['detailed_error', 'id', 'message', 'request_id', 'status_code']);
  expect(c.json.status_code).toBe(status);
  expect(c.json.request_id).toMatch(/^[a-z0-9]{26}$/);
}
