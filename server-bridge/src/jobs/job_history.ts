/**
 * Job history that survives sidecar restarts: one JSON file per job in <repository>/jobs,
 * written atomically. Small, dependency-free, and readable by hand.
 */
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { JobRecord } from './job_record';

const KEEP = 500;

export class JobHistory {
  /** Saves of one job are chained: events fire faster than files are written. */
  private readonly pending = new Map<string, Promise<void>>();
  private constructor(private readonly dir: string) {}

  static async open(repositoryPath: string): Promise<JobHistory> {
    const dir = path.join(repositoryPath, 'jobs');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return new JobHistory(dir);
  }

  /** The history for reading only (list, discover, status): undefined when none was ever written, nothing created. */
  static async openExisting(repositoryPath: string): Promise<JobHistory | undefined> {
    const dir = path.join(repositoryPath, 'jobs');
    return (await stat(dir).then(
      (st) => st.isDirectory(),
      () => false,
    ))
      ? new JobHistory(dir)
      : undefined;
  }

  /** Writes the record's current state; concurrent calls for one job are serialized, never lost. */
  save(rec: JobRecord): Promise<void> {
    const prev = this.pending.get(rec.id) ?? Promise.resolve();
    const next = prev
      .catch(() => undefined)
      .then(async () => {
        const file = path.join(this.dir, `${rec.id}.json`);
        const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
        await writeFile(tmp, JSON.stringify(rec), { mode: 0o600 });
        await rename(tmp, file);
      });
    this.pending.set(rec.id, next);
    void next
      .finally(() => {
        if (this.pending.get(rec.id) === next) this.pending.delete(rec.id);
      })
      .catch(() => undefined);
    return next;
  }

  /** Newest first. Unreadable files are skipped (a crash mid-write leaves only a .tmp). */
  async list(limit = KEEP): Promise<JobRecord[]> {
    const names = (await readdir(this.dir)).filter((n) => /^[a-z0-9]{26}\.json$/.test(n));
    const recs: JobRecord[] = [];
    for (const n of names) {
      try {
        recs.push(JSON.parse(await readFile(path.join(this.dir, n), 'utf8')) as JobRecord);
      } catch {
        /* skip */
      }
    }
    recs.sort((a, b) => b.created_at.localeCompare(a.created_at));
    for (const old of recs.slice(KEEP)) await rm(path.join(this.dir, `${old.id}.json`), { force: true });
    return recs.slice(0, limit);
  }
}
