/**
 * One lock per repository so two jobs never overlap, across processes. Created atomically with
 * O_EXCL; a holder that is gone (dead pid, or a reused pid with another start time) is stale.
 * The lock also records whether its holder had stopped Mattermost, so a killed backup's
 * successor knows to start it again.
 */
import { open, readFile, rename, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PreconditionError } from '../core/errors';
import { replaceFile } from '../core/atomic_file';
import { LOCK_FILE } from '../repository/layout';
import { diskFullError, isDiskFull } from '../storage/disk_full';

export interface LockInfo {
  pid: number;
  host: string;
  procStart: string;
  jobId: string;
  kind: string;
  startedAt: string;
  /** True between a successful stop of Mattermost and its successful restart. */
  mattermostStopped: boolean;
  /** A restore's safety snapshot, once written: a successor rolls back from it. */
  safetySnapshotId?: string;
  /** Set when a restore starts overwriting: from then on the install may be half-restored. */
  overwriting?: boolean;
  /**
   * Physical mode's restart of PostgreSQL (pitr enable/disable): true from just before its stop
   * until it accepts connections again. A successor starts the cluster physical mode's state names
   * (never one the lock names: a lock in the repository is not trusted) if it is still down.
   */
  postgresStopped?: boolean;
}

export interface StaleLock {
  info: LockInfo;
}

function procStart(pid: number): string {
  try {
    // Field 22 of /proc/<pid>/stat: start time in clock ticks since boot. The command name
    // (field 2) may contain spaces, so split after its closing parenthesis.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}

function isAlive(info: LockInfo): boolean {
  if (info.host !== os.hostname()) return true; // cannot tell; assume alive
  try {
    process.kill(info.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  return !info.procStart || procStart(info.pid) === info.procStart;
}

export class JobLock {
  private constructor(
    private readonly file: string,
    private info: LockInfo,
  ) {}

  static path(dir: string): string {
    return path.join(dir, LOCK_FILE);
  }

  /** Reads the current lock, if any, with whether its holder is still alive. */
  static async inspect(dir: string): Promise<{ info: LockInfo; alive: boolean } | undefined> {
    try {
      const info = JSON.parse(await readFile(JobLock.path(dir), 'utf8')) as LockInfo;
      return { info, alive: isAlive(info) };
    } catch {
      return undefined;
    }
  }

  /**
   * Takes the lock or throws LOCK_HELD naming the holder. A stale lock is taken over and
   * returned in `stale` so the caller can repair what its holder left (a stopped Mattermost).
   */
  static async acquire(dir: string, jobId: string, kind: string): Promise<{ lock: JobLock; stale?: StaleLock }> {
    const file = JobLock.path(dir);
    const info: LockInfo = {
      pid: process.pid,
      host: os.hostname(),
      procStart: procStart(process.pid),
      jobId,
      kind,
      startedAt: new Date().toISOString(),
      mattermostStopped: false,
    };
    let stale: StaleLock | undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fh = await open(file, 'wx', 0o600);
        await fh.writeFile(JSON.stringify(info));
        await fh.close();
        return { lock: new JobLock(file, info), stale };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const current = await JobLock.inspect(dir);
      if (!current) continue; // released meanwhile
      if (current.alive) {
        throw new PreconditionError(
          'LOCK_HELD',
          `another mm-backup job is running: ${current.info.kind} ${current.info.jobId} (pid ${current.info.pid} on ${current.info.host}, since ${current.info.startedAt})`,
          {
            hint: 'wait for it to finish; if that process is gone from another host, remove ' + file,
            details: { holder: current.info },
          },
        );
      }
      // rename() succeeds for exactly one contender, so two processes cannot both take it over.
      const aside = `${file}.stale-${process.pid}`;
      try {
        await rename(file, aside);
        stale = { info: current.info };
        await rm(aside, { force: true });
      } catch {
        /* someone else took it over first; retry */
      }
    }
    throw new PreconditionError('LOCK_HELD', `could not take the job lock ${file}`);
  }

  get current(): LockInfo {
    return this.info;
  }

  /** Records state in the lock file (atomically) so a successor can act on it. */
  async update(patch: Partial<LockInfo>): Promise<void> {
    this.info = { ...this.info, ...patch };
    await replaceFile(this.file, JSON.stringify(this.info)).catch((err: unknown) => {
      // The lock lives in the repository: a disk filled by the job (a dump, a copy) fails this
      // write too, and must read as the full disk it is, not as an internal error.
      if (isDiskFull(err)) throw diskFullError(err, path.dirname(this.file), 'the job lock');
      throw err;
    });
  }

  /**
   * Puts a stale holder's record back in place of this lock (releasing it): used when repairing
   * what the holder left failed, so the next job or sidecar start tries again instead of the
   * state being lost.
   */
  async handBack(stale: LockInfo): Promise<void> {
    await replaceFile(this.file, JSON.stringify(stale));
    this.info = { ...this.info, pid: -1 }; // release() must not remove the handed-back record
  }

  async release(): Promise<void> {
    const cur = await JobLock.inspect(path.dirname(this.file));
    if (cur && cur.info.pid === this.info.pid && cur.info.jobId === this.info.jobId) {
      await rm(this.file, { force: true });
    }
  }
}
