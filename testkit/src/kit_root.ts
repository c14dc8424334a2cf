/**
 * The test kit's package directory (where its package.json is), whether the kit runs from src/
 * (jest maps @mm-backup/testkit to the sources) or from dist/ (child processes, the tools).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Absolute path of testkit/; throws when no package.json is above this file. */
export function kitRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = up;
  }
  return dir;
}
