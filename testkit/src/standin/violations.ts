/**
 * The Mattermost stand-in checks every request our code sends it, and every answer it gives,
 * against the API description; a mismatch is answered 400 and recorded. A test that passes while
 * violations were recorded only proves our code copes with a stand-in error, so each suite that
 * starts a stand-in fails at its end when any was recorded (e2e_env and service_env cleanup()).
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Violation } from '../mm_rest/server';
import { standinStateFiles } from './control';

/** What the process-level stand-in with state directory `stateDir` recorded, across restarts. */
export function standinViolations(stateDir: string): Violation[] {
  const file = standinStateFiles(stateDir).violations;
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Violation);
}

/** Throws, naming each one, when `violations` is not empty. */
export function assertNoSpecViolations(violations: readonly Violation[]): void {
  if (violations.length === 0) return;
  const list = violations
    .slice(0, 10)
    .map((v) => `  ${v.method} ${v.path}: ${v.problem.split('\n')[0]}`)
    .join('\n');
  throw new Error(`the Mattermost stand-in recorded ${violations.length} API-description violations:\n${list}`);
}
