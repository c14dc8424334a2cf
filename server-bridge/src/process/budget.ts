/**
 * The CPU and I/O priority an online backup runs at (backup.budget), so Mattermost stays
 * responsive while the backup reads at disk speed. Children are started through `nice` (coreutils)
 * and `ionice` (util-linux) as argument arrays: the priority is set before the program's first
 * instruction and is inherited by anything it starts. Only backups get a budget: a restore, and
 * Mattermost's stop/start commands, run at full speed. Our own process: process/own_priority.ts.
 */
import { accessSync, constants } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ParsedConfig } from '../config/schema';
import { readBudget, type ReadBudget } from '../core/rate_limit';

type BudgetSettings = ParsedConfig['backup']['budget'];

/** How a process runs: niceness 0..19 (0 leaves CPU priority alone); I/O class and level as ionice takes them. */
export interface ProcessBudget {
  nice: number;
  /** `none` leaves the I/O priority alone (the kernel derives it from the niceness). */
  ioClass: 'best-effort' | 'idle' | 'none';
  /** 0 (highest) .. 7 (lowest); best-effort only. */
  ioLevel: number;
}

const IO_CLASS = { 'best-effort': '2', idle: '3' } as const;

/** The tools found per PATH, looked up once (a package installed later is seen after a restart). */
const tools = new Map<string, { nice: boolean; ionice: boolean }>();

function onPath(name: string, pathVar: string): boolean {
  for (const dir of pathVar.split(path.delimiter)) {
    if (!dir) continue;
    try {
      accessSync(path.join(dir, name), constants.X_OK);
      return true;
    } catch {
      /* not here */
    }
  }
  return false;
}

/** Which wrappers a spawn with this PATH finds (spawn looks programs up in the child's PATH). */
export function budgetTools(pathVar = process.env.PATH ?? ''): { nice: boolean; ionice: boolean } {
  let found = tools.get(pathVar);
  if (!found) {
    found = { nice: onPath('nice', pathVar), ionice: process.platform === 'linux' && onPath('ionice', pathVar) };
    tools.set(pathVar, found);
  }
  return found;
}

/** The parts of `budget` that cannot be applied here (a tool missing), for the job to say once; empty when all apply. */
export function budgetGaps(budget: ProcessBudget, pathVar?: string): string[] {
  const have = budgetTools(pathVar);
  const gaps: string[] = [];
  if (budget.nice > 0 && !have.nice) gaps.push(`niceness ${budget.nice} (no "nice" on PATH: install coreutils)`);
  if (budget.ioClass !== 'none' && !have.ionice) {
    gaps.push(`I/O class ${budget.ioClass} (no "ionice" on PATH: install util-linux)`);
  }
  return gaps;
}

/** One line for the job log: what the backup's children and reads run at. */
export function describeBudget(budget: ProcessBudget, readMBps?: number): string {
  const io =
    budget.ioClass === 'none'
      ? 'I/O priority unchanged'
      : `I/O class ${budget.ioClass}${budget.ioClass === 'best-effort' ? ` ${budget.ioLevel}` : ''}`;
  const cpu = budget.nice > 0 ? `niceness ${budget.nice}` : 'CPU priority unchanged';
  return `online backup budget: ${cpu}, ${io}, reads ${readMBps ? `at most ${readMBps} MB/s` : 'unlimited'}`;
}

/** The niceness a child spawned from this thread starts with (Linux keeps it per thread). */
function currentNice(): number {
  try {
    return os.getPriority(0);
  } catch {
    return 0;
  }
}

export function ioniceArgs(budget: ProcessBudget): string[] {
  if (budget.ioClass === 'none') return [];
  const cls = IO_CLASS[budget.ioClass];
  // -t: a kernel or container that refuses the class still runs the program (at its old priority).
  return budget.ioClass === 'best-effort' ? ['-t', '-c', cls, '-n', String(budget.ioLevel)] : ['-t', '-c', cls];
}

/**
 * `cmd args` wrapped so it starts under `budget`: `nice -n ADD ionice -t -c C [-n L] cmd args`. Each
 * wrapper execs the next, so the pid (and process group) is the program's own. A missing tool is
 * left out (budgetGaps says so). `pathVar`: the PATH the child is spawned with.
 */
export function underBudget(
  cmd: string,
  args: readonly string[],
  budget: ProcessBudget,
  pathVar?: string,
): { cmd: string; args: string[] } {
  const have = budgetTools(pathVar);
  const argv = [cmd, ...args];
  if (budget.ioClass !== 'none' && have.ionice) argv.unshift('ionice', ...ioniceArgs(budget));
  // `nice -n` ADDS to the niceness the child inherits: a process already lowered (a CLI backup,
  // a service started with Nice=) gets only what is missing, never more than asked for.
  const add = budget.nice - currentNice();
  if (add > 0 && have.nice) argv.unshift('nice', '-n', String(add));
  return { cmd: argv[0] as string, args: argv.slice(1) };
}

/** What one online backup runs under: its children's priority and, when capped, the pace of its reads. */
export interface BackupBudget {
  children: ProcessBudget;
  /** Every byte the backup reads (files, the database dump) takes from it first; absent = unlimited. */
  reads?: ReadBudget;
  /** For the job log (describeBudget). */
  readMBps?: number;
}

/** The budget of a backup in `mode` under backup.budget: online backups only, none when disabled. */
export function backupBudget(settings: BudgetSettings, mode: 'offline' | 'online'): BackupBudget | undefined {
  if (!settings.enabled || mode !== 'online') return undefined;
  return {
    children: { nice: settings.nice, ioClass: settings.ioClass, ioLevel: settings.ioLevel },
    reads: readBudget(settings.readMBps),
    readMBps: settings.readMBps,
  };
}
