/**
 * Reports jobs in the status channel as the bot. Posts that cannot be made (Mattermost stopped
 * for an offline backup or a restore) are queued and delivered in order once it answers again.
 * Updates of the same root post are coalesced, so a long outage leaves one edit, not hundreds.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { JobEvent } from '../jobs/events';
import { MattermostApiError, type MattermostClient } from '../mattermost/client';
import type { JobRecord } from '../jobs/job_record';
import { failureReply, rootMessage } from './format_post';

type Op =
  | { kind: 'root'; jobId: string; message: () => string }
  | { kind: 'update'; jobId: string; message: () => string }
  | { kind: 'reply'; jobId: string | null; message: string }
  | { kind: 'post'; message: string };

export interface ReporterOptions {
  client: () => MattermostClient | undefined;
  channelId: () => Promise<string | undefined>;
  successes: () => 'each' | 'daily' | 'none';
  /** Minimum time between two edits of the same root post. */
  throttleMs?: number;
  retryMs?: number;
  log: (level: 'info' | 'warn', msg: string) => void;
}

export class ChannelReporter {
  private readonly queue: Op[] = [];
  private readonly roots = new Map<string, string>();
  private readonly lastEdit = new Map<string, number>();
  private readonly live = new Set<string>();
  private draining = false;
  /** The op on the wire: its text is already rendered, so a newer edit must not replace it in the queue. */
  private inFlight: Op | undefined;
  private stopped = false;
  readonly delivered: string[] = [];

  constructor(private readonly o: ReporterOptions) {}

  /** Feeds one job event; decides what to post. */
  onEvent(rec: JobRecord, e: JobEvent): void {
    const each = this.o.successes() === 'each';
    switch (e.type) {
      case 'job.started':
        if (!each) return; // with daily/none, only failures are posted (at the end)
        this.live.add(rec.id);
        this.push({ kind: 'root', jobId: rec.id, message: () => rootMessage(rec) });
        break;
      case 'step.started':
      case 'step.progress': {
        if (!this.live.has(rec.id)) return;
        const now = Date.now();
        if (e.type === 'step.progress' && now - (this.lastEdit.get(rec.id) ?? 0) < (this.o.throttleMs ?? 5000)) return;
        this.lastEdit.set(rec.id, now);
        this.push({ kind: 'update', jobId: rec.id, message: () => rootMessage(rec) });
        if (e.type === 'step.started' && (e.step === 'stop' || e.step === 'safety-prepare')) {
          this.push({
            kind: 'reply',
            jobId: rec.id,
            message:
              e.step === 'stop'
                ? 'Mattermost is being stopped; updates resume when it is back.'
                : 'Taking a safety snapshot of the current state first.',
          });
        }
        break;
      }
      case 'job.finished':
        if (e.status === 'succeeded' && !this.live.has(rec.id)) return;
        if (this.live.has(rec.id)) {
          this.push({ kind: 'update', jobId: rec.id, message: () => rootMessage(rec) });
        } else {
          this.live.add(rec.id);
          this.push({ kind: 'root', jobId: rec.id, message: () => rootMessage(rec) });
        }
        if (e.status !== 'succeeded') this.push({ kind: 'reply', jobId: rec.id, message: failureReply(rec) });
        break;
      default:
        break;
    }
  }

  /** A standalone notice (missed run, low disk, broken setup). */
  notice(message: string): void {
    this.push({ kind: 'post', message });
  }

  stop(): void {
    this.stopped = true;
  }

  /** Resolves when everything queued so far has been delivered (tests). */
  async flushed(timeoutMs = 60_000): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while ((this.queue.length || this.draining) && Date.now() < end) await sleep(50);
    return this.queue.length === 0;
  }

  private push(op: Op): void {
    if (op.kind === 'update') {
      // Coalesce: an undelivered edit of the same post is replaced (it renders the latest state anyway).
      // Never the one in flight: removing it would make its completion drop this newer edit instead.
      const i = this.queue.findIndex((q) => q !== this.inFlight && q.kind === 'update' && q.jobId === op.jobId);
      if (i !== -1) this.queue.splice(i, 1);
    }
    this.queue.push(op);
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length && !this.stopped) {
        const op = this.queue[0] as Op;
        this.inFlight = op;
        try {
          await this.deliver(op);
          this.inFlight = undefined;
          this.queue.shift();
        } catch (err) {
          // Failed, so off the wire: a newer edit may replace it while we wait (one edit per outage).
          this.inFlight = undefined;
          if (err instanceof MattermostApiError && err.status >= 400 && err.status < 500 && err.status !== 429) {
            this.o.log('warn', `status post dropped: ${err.message}`);
            this.queue.shift();
            continue;
          }
          await sleep(this.o.retryMs ?? 2000); // Mattermost is down or busy: keep the order, retry
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private async deliver(op: Op): Promise<void> {
    const client = this.o.client();
    // Not connected, or no status channel configured: nothing can ever be posted, so drop the op
    // instead of queueing forever. (A channel lookup that fails because Mattermost is down throws
    // and is retried; one that answers 404 is dropped with a log line.)
    const channel = client ? await this.o.channelId() : undefined;
    if (!client || !channel) return;
    if (op.kind === 'root') {
      const post = await client.createPostQuietly({ channel_id: channel, message: op.message() });
      this.roots.set(op.jobId, post.id);
      this.delivered.push(post.message);
    } else if (op.kind === 'update') {
      const id = this.roots.get(op.jobId);
      if (!id) return;
      const post = await client.patchPost({ id, message: op.message() });
      this.delivered.push(post.message);
    } else if (op.kind === 'reply') {
      const root = op.jobId ? this.roots.get(op.jobId) : undefined;
      const post = await client.createPostQuietly({ channel_id: channel, message: op.message, root_id: root });
      this.delivered.push(post.message);
    } else {
      const post = await client.createPostQuietly({ channel_id: channel, message: op.message });
      this.delivered.push(post.message);
    }
  }
}
