/**
 * Lowering our OWN process or thread to an online backup's budget (process/budget.ts). Linux keeps
 * CPU niceness and I/O priority per thread, and new threads inherit their creator's: a whole CLI
 * run can be lowered, but in the sidecar only a worker thread may be, never the main thread that
 * answers the HTTP API. Neither can be undone without privileges (CAP_SYS_NICE).
 */
import { readdirSync, readlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { budgetTools, ioniceArgs, type ProcessBudget } from './budget';
import { runProcess } from './run_process';

/** Thread ids of this process (Linux); just the pid elsewhere. */
function threadIds(): number[] {
  try {
    return readdirSync('/proc/self/task').map(Number);
  } catch {
    return [process.pid];
  }
}

/** Raises the niceness of thread `tid` (0: the calling thread) to `nice`, never lowers it: going back needs privileges. */
function reniceThread(tid: number, nice: number): void {
  try {
    if (os.getPriority(tid) < nice) os.setPriority(tid, nice);
  } catch {
    /* the thread ended meanwhile, or a system that refuses: the budget is a courtesy */
  }
}

async function ioniceThreads(tids: number[], budget: ProcessBudget): Promise<void> {
  if (budget.ioClass === 'none' || !budgetTools().ionice || !tids.length) return;
  await runProcess('ionice', [...ioniceArgs(budget), '-p', ...tids.map(String)], { stdout: 'ignore' }).catch(
    () => undefined,
  );
}

/**
 * Lowers every thread of this process, and every thread it starts later (they inherit it), to
 * `budget`. For a one-shot `mm-backup backup` only: it cannot be undone without privileges, and in
 * the sidecar it would slow the HTTP API and every later job (a restore must run at full speed).
 */
export async function applyToProcess(budget: ProcessBudget): Promise<void> {
  const tids = threadIds();
  if (budget.nice > 0) for (const tid of tids) reniceThread(tid, budget.nice);
  await ioniceThreads(tids, budget);
}

/**
 * Lowers the calling thread alone to `budget` (Linux priorities are per thread): for a worker
 * thread doing an online backup's hashing, so the sidecar's main thread keeps its priority. The
 * thread stays lowered (see applyToProcess): use threads made for budgeted jobs.
 */
export async function applyToThisThread(budget: ProcessBudget): Promise<void> {
  if (budget.nice > 0) reniceThread(0, budget.nice);
  let tid: number | undefined;
  try {
    // "<pid>/task/<tid>": the kernel's name for the calling thread.
    tid = Number(path.basename(readlinkSync('/proc/thread-self')));
  } catch {
    return;
  }
  if (Number.isInteger(tid)) await ioniceThreads([tid], budget);
}
