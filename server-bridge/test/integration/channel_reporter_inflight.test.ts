/**
 * The status post ends on the job's last state even when the job ends while an edit of the same
 * post is on the wire. Real HTTP: the spec-checked stand-in behind a loopback server that holds
 * post edits until the test lets them go, so "an edit in flight" is a fact, not a timing guess.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { seedBot, world, type World } from '@mm-backup/testkit/mm_rest';
import { ChannelReporter } from '../../src/status/channel_reporter';
import { MattermostClient } from '../../src/mattermost/client';
import { applyEvent, type JobRecord } from '../../src/jobs/job_record';
import type { JobEvent } from '../../src/jobs/events';
import { rootMessage } from '../../src/status/format_post';

let w: World;
let gate: Server;
let base: string;
let holding = false;
const held: Array<() => void> = [];
let heldSeen: (() => void) | undefined;

beforeAll(async () => {
  w = await world();
  gate = createServer((req: IncomingMessage, res: ServerResponse) => {
    const pass = () => {
      w.rest.handle(req, res).catch((err: unknown) => res.destroy(err instanceof Error ? err : undefined));
    };
    if (holding && req.method === 'PUT' && /\/patch$/.test(req.url ?? '')) {
      held.push(pass);
      heldSeen?.();
    } else pass();
  });
  await new Promise<void>((resolve) => gate.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(gate.address() as AddressInfo).port}`;
});
afterAll(async () => {
  gate.closeAllConnections();
  await new Promise((resolve) => gate.close(resolve));
  await w.close();
});
afterEach(() => {
  expect(w.rest.violations).toEqual([]);
});

function job(): JobRecord {
  return {
    id: 'job1',
    kind: 'verify',
    trigger: 'console',
    options: {},
    status: 'queued',
    created_at: new Date().toISOString(),
    steps: [],
    log_tail: [],
  };
}

test('the job ends while the previous edit of its post is in flight: the post still ends on the final state', async () => {
  const bot = seedBot(w, 'backup-bot', w.privateId);
  const client = new MattermostClient(base, { token: bot.token });
  const reporter = new ChannelReporter({
    client: () => client,
    channelId: async () => w.privateId,
    successes: () => 'each',
    throttleMs: 0,
    log: () => undefined,
  });
  const rec = job();
  const feed = (e: JobEvent) => {
    applyEvent(rec, e);
    reporter.onEvent(rec, e);
  };
  const at = () => new Date().toISOString();
  feed({ type: 'job.started', jobId: rec.id, kind: 'verify', at: at(), steps: [{ id: 'check', title: 'Check' }] });
  expect(await reporter.flushed(10_000)).toBe(true);

  holding = true;
  const seen = new Promise<void>((resolve) => {
    heldSeen = resolve;
  });
  feed({ type: 'step.started', jobId: rec.id, step: 'check', title: 'Check every object', at: at() });
  await seen; // the edit that says "⏳ Check every object" has reached the server and waits there
  feed({ type: 'step.finished', jobId: rec.id, step: 'check', durationMs: 5 });
  rec.result = { snapshot_id: 'abc123', objects: 3 };
  feed({ type: 'job.finished', jobId: rec.id, status: 'succeeded', durationMs: 10 });
  holding = false;
  for (const pass of held.splice(0)) pass();

  expect(await reporter.flushed(10_000)).toBe(true);
  const posts = w.rest.state.posts(w.privateId).filter((p) => p.user_id === bot.id);
  expect(posts).toHaveLength(1);
  expect(posts[0]?.message).toBe(rootMessage(rec));
  expect(posts[0]?.message).toContain('✅ done');
  reporter.stop();
});
