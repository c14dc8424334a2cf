/**
 * Two renderings of the same job events: human text with progress bars on a terminal, or NDJSON
 * (one event per line, then a summary object) with --json, for scripts and the sidecar.
 */
import cliProgress from 'cli-progress';
import type { EmitFn, JobEvent } from '../jobs/events';
import { progressText } from './progress_text';

export interface Output {
  emit: EmitFn;
  /** Prints the final summary (an object with --json, text otherwise). */
  summary: (obj: Record<string, unknown>, text: string) => void;
  /**
   * summary with one more field, last, whose JSON text comes in chunks (a whole manifest): written
   * as it comes with --json, never read otherwise. Resolves once written.
   */
  summaryStreamed: (
    obj: Record<string, unknown>,
    key: string,
    json: AsyncIterable<string>,
    text: string,
  ) => Promise<void>;
  info: (text: string) => void;
  /** A warning for people, on stderr in both modes (it is no event of the job: a storage retry). */
  warn: (text: string) => void;
  close: () => void;
}

export function createOutput(
  json: boolean,
  stream: NodeJS.WriteStream = process.stderr,
  out: NodeJS.WriteStream = process.stdout,
): Output {
  if (json) {
    return {
      emit: (e) => out.write(`${JSON.stringify(e)}\n`),
      summary: (obj) => out.write(`${JSON.stringify({ type: 'summary', ...obj })}\n`),
      summaryStreamed: async (obj, key, json) => {
        const head = JSON.stringify({ type: 'summary', ...obj });
        await writeAll(out, `${head.slice(0, -1)},${JSON.stringify(key)}:`);
        for await (const chunk of json) await writeAll(out, chunk);
        await writeAll(out, '}\n');
      },
      info: (text) => out.write(`${JSON.stringify({ type: 'log', level: 'info', message: text })}\n`),
      warn: (text) => stream.write(`${text}\n`),
      close: () => undefined,
    };
  }
  // @types/node says `boolean`; a pipe or a file has no isTTY at all.
  const tty = (stream.isTTY as boolean | undefined) ?? false;
  let bar: cliProgress.SingleBar | undefined;
  let barStep = '';
  const stopBar = () => {
    bar?.stop();
    bar = undefined;
  };
  const line = (s: string) => stream.write(`${s}\n`);
  const handle = (e: JobEvent) => {
    switch (e.type) {
      case 'step.started':
        stopBar();
        line(`→ ${e.title}`);
        break;
      case 'step.progress': {
        if (!tty) break;
        // One bar per step; its total may change within the step (each component of the
        // pre-copy has its own), so the text is made from the latest event, never a stale total.
        const payload = { done: e.done, total: e.total, unit: e.unit };
        if (!bar || barStep !== e.step) {
          stopBar();
          barStep = e.step;
          bar = new cliProgress.SingleBar({
            stream,
            format: (_o, _p, p: typeof payload) => `  ${progressText(p.done, p.total, p.unit)}`,
            hideCursor: true,
            clearOnComplete: true,
          });
          bar.start(e.total || 1, 0, payload);
        }
        if (e.total) bar.setTotal(e.total);
        bar.update(Math.min(e.done, e.total || e.done), payload);
        break;
      }
      case 'step.finished':
        stopBar();
        line(`  ✓ ${e.summary ?? 'done'} (${(e.durationMs / 1000).toFixed(1)} s)`);
        break;
      case 'step.skipped':
        stopBar();
        line(`– ${e.title}: skipped (${e.reason})`);
        break;
      case 'step.failed':
        stopBar();
        line(`  ✗ ${e.error}`);
        break;
      case 'undo.started':
        line(`↩ undoing ${e.step}`);
        break;
      case 'undo.failed':
        line(`  ✗ undo of ${e.step} failed: ${e.error}`);
        break;
      case 'log':
        if (e.level !== 'info') line(`  ${e.level}: ${e.message}`);
        break;
      case 'job.finished':
        stopBar();
        break;
      default:
        break;
    }
  };
  return {
    emit: handle,
    summary: (_obj, text) => {
      stopBar();
      out.write(`${text}\n`);
    },
    summaryStreamed: (_obj, _key, _json, text) => {
      stopBar();
      out.write(`${text}\n`);
      return Promise.resolve();
    },
    info: (text) => line(text),
    warn: (text) => {
      stopBar();
      line(text);
    },
    close: stopBar,
  };
}

/** Writes `text`, waiting for the stream to drain when its buffer is full (a pipe to a slow reader). */
function writeAll(out: NodeJS.WritableStream, text: string): Promise<void> {
  if (out.write(text)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      out.off('drain', onDrain);
      out.off('error', done);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    out.once('drain', onDrain);
    out.once('error', done);
  });
}
