/** What the kernel says a process or thread runs at: niceness from /proc, I/O class from `ionice -p`. */
import { readdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

function statFields(path: string): string[] | undefined {
  try {
    const s = readFileSync(path, 'utf8');
    // Field 2 (comm) is in parentheses and may hold spaces: fields 3.. follow the last ')'.
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Niceness of `pid` (field 19 of /proc/<pid>/stat), or of one thread with `tid`. */
export function niceOf(pid: number, tid?: number): number {
  const f = statFields(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`);
  if (!f) throw new Error(`no process ${pid}`);
  return Number(f[16]);
}

/** `ionice -p` for one pid or thread id: "best-effort: prio 7", "idle", "none: prio 0". */
export function ioClassOf(pid: number): string {
  const r = spawnSync('ionice', ['-p', String(pid)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ionice -p ${pid}: ${r.stderr}`);
  return r.stdout.trim();
}

export function commOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The argument vector of `pid` (empty once it is gone). */
export function cmdlineOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/** Waits until `pid` runs `comm` (the wrappers nice and ionice have exec'd it). */
export async function waitForComm(pid: number, comm: string, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (commOf(pid) !== comm) {
    if (Date.now() > until) throw new Error(`process ${pid} is ${commOf(pid) ?? 'gone'}, not ${comm}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The children of `parent` now, with what they run. */
export function childrenOf(parent: number): Array<{ pid: number; comm: string }> {
  const out: Array<{ pid: number; comm: string }> = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(`/proc/${name}/stat`);
    if (f && Number(f[1]) === parent) out.push({ pid: Number(name), comm: commOf(Number(name)) ?? '' });
  }
  return out;
}

/** Every descendant of `root` now (children, their children, ...). */
export function descendantsOf(root: number): Array<{ pid: number; comm: string }> {
  const all: Array<{ pid: number; comm: string }> = [];
  let frontier = [root];
  while (frontier.length) {
    const next = frontier.flatMap((p) => childrenOf(p));
    all.push(...next);
    frontier = next.map((c) => c.pid);
  }
  return all;
}
