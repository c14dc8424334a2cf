/** The CLI's human rendering: progress text (no "/0", sizes on one scale, nouns in number) and step lines. */
import { Writable } from 'node:stream';
import { createOutput } from '../../src/cli/render';
import { progressText } from '../../src/cli/progress_text';
import { plural } from '../../src/core/units';
import type { JobEvent } from '../../src/jobs/events';

const MB = 1024 * 1024;

test('a total of zero or unknown shows the amount alone, never "/0" or a full bar', () => {
  expect(progressText(13.6 * MB, 0, 'bytes')).toBe('13.6 MB');
  expect(progressText(13.6 * MB, undefined, 'bytes')).toBe('13.6 MB');
  expect(progressText(0, 0, 'bytes')).toBe('0 B');
  expect(progressText(3, undefined, 'objects')).toBe('3 objects');
  expect(progressText(0, 0, 'files')).toBe('0 files');
});

test('with a total: bar, percentage (floored, at most 100) and done/total on one scale', () => {
  expect(progressText(14.26 * MB, 30 * MB, 'bytes', 10)).toBe('[█████░░░░░] 47% 14.3/30.0 MB');
  // A small total is not rounded to 0 MB: the scale follows the larger number.
  expect(progressText(10 * 1024, 20 * 1024, 'bytes', 4)).toBe('[██░░] 50% 10.0/20.0 KB');
  expect(progressText(300, 900, 'bytes', 3)).toBe('[█░░] 33% 300/900 B');
  expect(progressText(512 * MB, 2048 * MB, 'bytes', 4)).toBe('[█░░░] 25% 0.5/2.0 GB');
  // Done past a total that was an estimate: the bar is full, the numbers say what happened.
  expect(progressText(12, 10, 'files', 2)).toBe('[██] 100% 12/10 files');
});

test('counts take their noun in the right number', () => {
  expect(progressText(1, 1, 'files', 2)).toBe('[██] 100% 1/1 file');
  expect(progressText(0, 1, 'objects', 2)).toBe('[░░] 0% 0/1 object');
  expect(progressText(1, undefined, 'objects')).toBe('1 object');
  expect(plural(1, 'file')).toBe('1 file');
  expect(plural(0, 'file')).toBe('0 files');
  expect(plural(2, 'entry', 'entries')).toBe('2 entries');
});

// eslint-disable-next-line no-control-regex -- the cursor codes cli-progress writes
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

/** A terminal that keeps what is written to it (ANSI cursor codes removed). */
function terminal(tty: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  const chunks: string[] = [];
  const w = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  Object.assign(w, { isTTY: tty, columns: 120 });
  return {
    stream: w as unknown as NodeJS.WriteStream,
    text: () => chunks.join('').replace(ANSI, ''),
  };
}

const ev = (e: Record<string, unknown>) => ({ jobId: 'j', ...e }) as JobEvent;

test('a step whose total changes (one per component of the pre-copy) shows the latest total, never a stale 0', () => {
  const t = terminal(true);
  const out = createOutput(false, t.stream, t.stream);
  out.emit(ev({ type: 'step.started', step: 'precopy', title: 'Copy changed files while Mattermost still runs' }));
  // The config component: a few hundred bytes (0.0 MB when rounded to MB, as the old bar did).
  out.emit(ev({ type: 'step.progress', step: 'precopy', done: 300, total: 300, unit: 'bytes' }));
  // The file store: its own total.
  out.emit(ev({ type: 'step.progress', step: 'precopy', done: 14.26 * MB, total: 30 * MB, unit: 'bytes' }));
  out.emit(ev({ type: 'step.finished', step: 'precopy', durationMs: 1200, summary: '2 changed files (14.3 MB)' }));
  out.close();
  const text = t.text();
  expect(text).toContain('→ Copy changed files while Mattermost still runs');
  expect(text).toContain('100% 300/300 B');
  expect(text).toContain('47% 14.3/30.0 MB');
  expect(text).not.toMatch(/\/0(\.0)? MB/);
  expect(text).not.toMatch(/100% 14\.3/);
  expect(text).toContain('  ✓ 2 changed files (14.3 MB) (1.2 s)');
});

test('skipped steps are printed with their name and the reason', () => {
  const t = terminal(false);
  const out = createOutput(false, t.stream, t.stream);
  out.emit(
    ev({
      type: 'step.skipped',
      step: 'stop',
      title: 'Stop Mattermost',
      reason: 'online backup: Mattermost keeps running',
    }),
  );
  expect(t.text()).toBe('– Stop Mattermost: skipped (online backup: Mattermost keeps running)\n');
});

test('without a terminal no bar is drawn; with --json events are NDJSON and a skip carries its title', () => {
  const t = terminal(false);
  const out = createOutput(false, t.stream, t.stream);
  out.emit(ev({ type: 'step.progress', step: 'x', done: 1, total: 2, unit: 'files' }));
  expect(t.text()).toBe('');
  const j = terminal(false);
  const json = createOutput(true, j.stream, j.stream);
  json.emit(ev({ type: 'step.skipped', step: 'stop', title: 'Stop Mattermost', reason: 'online' }));
  expect(JSON.parse(j.text())).toEqual({
    type: 'step.skipped',
    jobId: 'j',
    step: 'stop',
    title: 'Stop Mattermost',
    reason: 'online',
  });
});
