import { backgroundTask, runJob, type Job, type Step } from '../../src/jobs/runner';
import type { JobEvent } from '../../src/jobs/events';
import { BridgeError } from '../../src/core/errors';

function recorder() {
  const events: JobEvent[] = [];
  const order: string[] = [];
  return { events, order, emit: (e: JobEvent) => events.push(e) };
}

const step = (id: string, order: string[], opts: { fail?: boolean; undo?: boolean; wait?: number } = {}): Step => ({
  id,
  title: id,
  run: async (ctx) => {
    order.push(`run:${id}`);
    if (opts.wait) {
      await new Promise((r, j) => {
        const t = setTimeout(r, opts.wait);
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(t);
          j(new Error('aborted'));
        });
      });
    }
    if (opts.fail) throw new BridgeError('PROCESS_FAILED', `${id} broke`);
  },
  undo:
    opts.undo === false
      ? undefined
      : async () => {
          order.push(`undo:${id}`);
        },
});

test('steps run in order, finally runs, events come in the documented order', async () => {
  const r = recorder();
  const job: Job = {
    id: 'j',
    kind: 'backup',
    steps: [step('a', r.order), step('b', r.order)],
    finally: [step('fin', r.order)],
  };
  const res = await runJob(job, new AbortController().signal, r.emit);
  expect(res.status).toBe('succeeded');
  expect(r.order).toEqual(['run:a', 'run:b', 'run:fin']);
  expect(r.events.map((e) => `${e.type}${'step' in e ? `:${e.step}` : ''}`)).toEqual([
    'job.started',
    'step.started:a',
    'step.finished:a',
    'step.started:b',
    'step.finished:b',
    'step.started:fin',
    'step.finished:fin',
    'job.finished',
  ]);
});

test("each step.finished carries the process's peak resident set so far, in bytes: at least what was resident in the step", async () => {
  const r = recorder();
  const held: Buffer[] = [];
  // What was resident inside each step: the peak reported as it ended can only be higher. (Not a
  // difference between steps: a jest worker reused after larger tests may have peaked before.)
  const resident: Record<string, number> = {};
  const job: Job = {
    id: 'j',
    kind: 'backup',
    steps: [
      {
        id: 'a',
        title: 'a',
        run: () => {
          resident.a = process.memoryUsage().rss;
          return Promise.resolve(undefined);
        },
      },
      {
        id: 'big',
        title: 'big',
        run: () => {
          // Touched, so resident (allocUnsafe memory is not, until written).
          held.push(Buffer.alloc(64 * 1024 * 1024, 1));
          resident.big = process.memoryUsage().rss;
          return Promise.resolve(undefined);
        },
      },
    ],
    finally: [],
  };
  await runJob(job, new AbortController().signal, r.emit);
  const peak = (id: string) => {
    const e = r.events.find((x) => x.type === 'step.finished' && x.step === id);
    return e?.type === 'step.finished' ? (e.peakRssBytes ?? 0) : 0;
  };
  expect(resident.big).toBeGreaterThan(64 * 1024 * 1024);
  expect(peak('a')).toBeGreaterThanOrEqual(resident.a as number);
  expect(peak('big')).toBeGreaterThanOrEqual(resident.big as number);
  expect(peak('big')).toBeGreaterThanOrEqual(peak('a'));
  expect(held).toHaveLength(1);
});

test('a failure undoes the failed step and completed steps in reverse, then runs finally', async () => {
  const r = recorder();
  const job: Job = {
    id: 'j',
    kind: 'restore',
    steps: [step('a', r.order), step('b', r.order), step('c', r.order, { fail: true }), step('d', r.order)],
    finally: [step('fin', r.order)],
  };
  const res = await runJob(job, new AbortController().signal, r.emit);
  expect(res.status).toBe('failed');
  expect(res.failedStep).toBe('c');
  expect(res.error?.code).toBe('PROCESS_FAILED');
  expect(r.order).toEqual(['run:a', 'run:b', 'run:c', 'undo:c', 'undo:b', 'undo:a', 'run:fin']);
  const last = r.events.at(-1);
  expect(last).toMatchObject({ type: 'job.finished', status: 'failed', code: 'PROCESS_FAILED' });
});

test('an abort mid-step cancels the job, undoes, and still runs finally', async () => {
  const r = recorder();
  const ac = new AbortController();
  const job: Job = {
    id: 'j',
    kind: 'backup',
    steps: [step('a', r.order), step('slow', r.order, { wait: 5000 }), step('never', r.order)],
    finally: [step('fin', r.order)],
  };
  setTimeout(() => ac.abort(), 50);
  const res = await runJob(job, ac.signal, r.emit);
  expect(res.status).toBe('cancelled');
  expect(r.order).toEqual(['run:a', 'run:slow', 'undo:slow', 'undo:a', 'run:fin']);
});

test('a failing finally step fails an otherwise successful job; a failing undo is reported, not thrown', async () => {
  const r = recorder();
  const failingUndo: Step = {
    id: 'x',
    title: 'x',
    run: async () => {
      throw new Error('x broke');
    },
    undo: async () => {
      throw new Error('undo broke');
    },
  };
  const res1 = await runJob(
    { id: 'j', kind: 'backup', steps: [failingUndo], finally: [] },
    new AbortController().signal,
    r.emit,
  );
  expect(res1.status).toBe('failed');
  expect(r.events.some((e) => e.type === 'undo.failed' && e.error === 'undo broke')).toBe(true);
  const res2 = await runJob(
    { id: 'k', kind: 'backup', steps: [step('a', r.order)], finally: [step('fin', r.order, { fail: true })] },
    new AbortController().signal,
    r.emit,
  );
  expect(res2.status).toBe('failed');
  expect(res2.failedStep).toBe('fin');
});

test('skipped steps are reported with their title and reason and not run', async () => {
  const r = recorder();
  const s: Step = { ...step('s', r.order), skip: () => 'not today' };
  await runJob({ id: 'j', kind: 'backup', steps: [s], finally: [] }, new AbortController().signal, r.emit);
  expect(r.order).toEqual([]);
  expect(r.events).toContainEqual({
    type: 'step.skipped',
    jobId: 'j',
    step: 's',
    title: 's',
    reason: 'not today',
  });
});

test('progress events are throttled per step, and the final one always comes through', async () => {
  const r = recorder();
  const s: Step = {
    id: 'p',
    title: 'p',
    run: async (ctx) => {
      for (let i = 1; i <= 1000; i++) ctx.progress(i, 1000, 'files');
    },
  };
  await runJob({ id: 'j', kind: 'backup', steps: [s], finally: [] }, new AbortController().signal, r.emit);
  const progress = r.events.filter((e) => e.type === 'step.progress');
  expect(progress.length).toBeLessThanOrEqual(3);
  expect(progress.at(-1)).toMatchObject({ done: 1000, total: 1000 });
});

test('a failing undo is data on the result, not appended to the error message', async () => {
  const r = recorder();
  const failingUndo: Step = {
    id: 'x',
    title: 'X',
    run: async () => {
      throw new BridgeError('PROCESS_FAILED', 'x broke');
    },
    undo: async () => {
      throw new Error('undo broke');
    },
  };
  const res = await runJob(
    { id: 'j', kind: 'restore', steps: [failingUndo], finally: [] },
    new AbortController().signal,
    r.emit,
  );
  expect(res.error?.message).toBe('x broke');
  expect(res.undoFailed).toEqual([{ step: 'x', title: 'X', error: 'undo broke' }]);
  expect(r.events.at(-1)).toMatchObject({
    type: 'job.finished',
    error: 'x broke',
    undoFailed: [{ step: 'x', title: 'X', error: 'undo broke' }],
  });
});

describe('follow-ups', () => {
  const followUps = (order: string[], failAt?: string): Job['followUps'] => [
    {
      id: 'replicate',
      title: 'The off-site copy',
      steps: [step('r1', order, { fail: failAt === 'r1' }), step('r2', order)],
    },
    { id: 'prune', title: 'The retention policy', steps: [step('p1', order, { fail: failAt === 'p1' })] },
  ];

  test('run after the steps, are announced with them, and a failing one is a warning: the job succeeds, nothing is undone', async () => {
    const r = recorder();
    const job: Job = {
      id: 'j',
      kind: 'backup',
      steps: [step('a', r.order)],
      followUps: followUps(r.order, 'r1'),
      finally: [step('fin', r.order)],
    };
    const res = await runJob(job, new AbortController().signal, r.emit);
    expect(res.status).toBe('succeeded');
    expect(r.order).toEqual(['run:a', 'run:r1', 'run:p1', 'run:fin']);
    expect(res.warnings).toEqual([{ followUp: 'replicate', step: 'r1', code: 'PROCESS_FAILED', message: 'r1 broke' }]);
    expect(r.events[0]).toMatchObject({
      type: 'job.started',
      steps: ['a', 'r1', 'r2', 'p1'].map((id) => ({ id, title: id })),
    });
    expect(r.events.find((e) => e.type === 'step.skipped')).toMatchObject({
      step: 'r2',
      reason: 'The off-site copy failed at an earlier step',
    });
    expect(r.events.at(-1)).toMatchObject({
      type: 'job.finished',
      status: 'succeeded',
      warnings: [{ followUp: 'replicate', step: 'r1' }],
    });
  });

  test('do not run when the job failed', async () => {
    const r = recorder();
    const job: Job = {
      id: 'j',
      kind: 'backup',
      steps: [step('a', r.order, { fail: true })],
      followUps: followUps(r.order),
      finally: [],
    };
    const res = await runJob(job, new AbortController().signal, r.emit);
    expect(res.status).toBe('failed');
    expect(r.order).toEqual(['run:a', 'undo:a']);
  });
});

describe('background tasks', () => {
  const task = backgroundTask<string>('dump');

  test('started by one step, awaited by a later one, which then owns its progress', async () => {
    const r = recorder();
    let release!: () => void;
    const gate = new Promise<void>((res) => {
      release = res;
    });
    const job: Job = {
      id: 'j',
      kind: 'backup',
      finally: [],
      steps: [
        {
          id: 'start',
          title: 'start',
          run: async (ctx) => {
            void ctx.startBackground(task, async (bg) => {
              await gate;
              bg.progress(1, 1, 'bytes');
              return 'dumped';
            });
          },
        },
        {
          id: 'middle',
          title: 'middle',
          run: async () => {
            r.order.push('middle');
          },
        },
        {
          id: 'finish',
          title: 'finish',
          run: async (ctx) => {
            setTimeout(release, 10);
            return ctx.awaitBackground(task);
          },
        },
      ],
    };
    const res = await runJob(job, new AbortController().signal, r.emit);
    expect(res.status).toBe('succeeded');
    expect(r.events.find((e) => e.type === 'step.progress')).toMatchObject({ step: 'finish', done: 1 });
    expect(r.events.find((e) => e.type === 'step.finished' && e.step === 'finish')).toMatchObject({
      summary: 'dumped',
    });
  });

  test('a job failing before the task is awaited stops the task and waits for it before undoing', async () => {
    const r = recorder();
    const job: Job = {
      id: 'j',
      kind: 'backup',
      finally: [],
      steps: [
        {
          id: 'start',
          title: 'start',
          run: async (ctx) => {
            void ctx.startBackground(
              task,
              (bg) =>
                new Promise<string>((_res, rej) =>
                  bg.signal.addEventListener('abort', () => {
                    r.order.push('task stopped');
                    rej(new Error('aborted'));
                  }),
                ),
            );
          },
          undo: async () => {
            r.order.push('undo:start');
          },
        },
        step('boom', r.order, { fail: true, undo: false }),
      ],
    };
    const res = await runJob(job, new AbortController().signal, r.emit);
    expect(res.status).toBe('failed');
    expect(r.order).toEqual(['run:boom', 'task stopped', 'undo:start']);
  });
});
