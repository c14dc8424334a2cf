import { mkdtemp, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { JobHistory } from '../../src/jobs/job_history';
import type { JobRecord } from '../../src/jobs/job_record';

test('many concurrent saves of one job all succeed and the last state wins', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hist-'));
  const h = await JobHistory.open(dir);
  const rec: JobRecord = {
    id: 'b'.repeat(26),
    kind: 'backup',
    trigger: 'api',
    options: {},
    status: 'queued',
    created_at: new Date().toISOString(),
    steps: [],
    log_tail: [],
  };
  const saves: Array<Promise<void>> = [];
  for (let i = 0; i < 50; i++) {
    rec.log_tail.push({ at: '', level: 'info', message: String(i) });
    saves.push(h.save({ ...rec, log_tail: [...rec.log_tail] }));
  }
  await Promise.all(saves);
  const [stored] = await h.list();
  expect(stored?.log_tail).toHaveLength(50);
  expect((await readdir(path.join(dir, 'jobs'))).filter((n) => n.includes('.tmp'))).toEqual([]);
});
