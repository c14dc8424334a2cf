/** Runs the built `mm-backup` CLI as a real child process and parses its --json output. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export const CLI = path.resolve(__dirname, '../../bin/mm-backup.js');

export interface CliResult {
  code: number;
  /** The signal that ended the process, if one did (code is then -1). */
  signal?: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  events: Array<Record<string, any>>;
  summary?: Record<string, any>;
}

export function startCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): { child: ChildProcess; done: Promise<CliResult>; onEvent(fn: (e: Record<string, any>) => void): void } {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const listeners: Array<(e: Record<string, any>) => void> = [];
  let partial = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
    partial += d.toString();
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) {
      try {
        const e = JSON.parse(l);
        listeners.forEach((fn) => fn(e));
      } catch {
        /* not JSON */
      }
    }
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => {
      const events = stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => {
          try {
            return JSON.parse(l);
          } catch {
            return {};
          }
        });
      resolve({ code: code ?? -1, signal, stdout, stderr, events, summary: events.find((e) => e.type === 'summary') });
    });
  });
  return { child, done, onEvent: (fn) => listeners.push(fn) };
}

export function runCli(args: string[], env?: NodeJS.ProcessEnv): Promise<CliResult> {
  return startCli(args, env).done;
}
