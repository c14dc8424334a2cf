/**
 * Runs a memory test's child: a Node script of test/support/ that loads the built code (dist/)
 * and reports what it measured on stdout, so that the limits it runs under (heap flags) and the
 * high-water mark it reads (VmHWM) are its own, not the test runner's.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

/** test/support/, where the children are. */
export const SUPPORT = __dirname;
/** The built code the children load: rebuild before running them (jest's global setup does). */
export const DIST = path.resolve(__dirname, '../../dist');

export interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** `node ...args` (with `env` added), its output collected; resolves when it has exited, whatever its status. */
export function runNode(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}
