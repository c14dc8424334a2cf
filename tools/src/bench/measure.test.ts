// node --test: ping latency against a real HTTP server, and the percentiles (run from tools/dist/bench).
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterRemoval, idleLatency, latencyStats, percentile, PingWatcher, settle } from './measure';

void describe('percentile', () => {
  void it('is the nearest rank', () => {
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i);
    assert.equal(percentile(xs, 99), 99);
    assert.equal(percentile(xs, 50), 50);
    assert.equal(percentile([7], 99), 7);
    assert.ok(Number.isNaN(percentile([], 99)));
    assert.deepEqual(latencyStats([1, 2, 3, 40]), { probes: 4, medianMs: 2.5, p99Ms: 40, maxMs: 40 });
    assert.equal(latencyStats([]), undefined);
  });
});

void describe('PingWatcher latency', () => {
  let delayMs = 0;
  let up = true;
  const server = http.createServer((_req, res) => {
    setTimeout(() => {
      res.writeHead(up ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: up ? 'OK' : 'UNHEALTHY' }));
    }, delayMs);
  });
  after(() => {
    server.close();
  });

  void it('keeps the round trip of answered probes only, and counts downtime apart', async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    delayMs = 40;
    const slow = await idleLatency(url, 600);
    assert.ok(slow.length >= 3, `${slow.length} probes`);
    assert.ok(
      slow.every((x) => x >= 39),
      slow.join(','),
    );

    delayMs = 0;
    const w = new PingWatcher(url);
    w.start();
    await new Promise((r) => setTimeout(r, 200));
    up = false;
    await new Promise((r) => setTimeout(r, 300));
    up = true;
    const downtime = await w.stop();
    assert.ok(downtime >= 200 && downtime < 800, String(downtime));
    assert.equal(w.latenciesMs.length, w.probes - w.failures);
    assert.ok(w.failures > 0);
  });
});

void describe('settle before a timed run', () => {
  void it('drops the caches only when asked for a cold start and allowed; syncs either way', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'settle-'));
    try {
      // A stand-in for /proc/sys/vm/drop_caches: what settle writes there, and when.
      const file = path.join(dir, 'drop_caches');
      await writeFile(file, '');
      assert.equal(await settle({ dropFile: file }), false);
      assert.equal(await readFile(file, 'utf8'), '');
      assert.equal(await settle({ cold: true, dropFile: file }), true);
      assert.equal(await readFile(file, 'utf8'), '3\n');
      // Not writable (here: not there): no drop, no error.
      assert.equal(await settle({ cold: true, dropFile: path.join(dir, 'missing', 'drop_caches') }), false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

void describe('afterRemoval', () => {
  void it('waits the time given before the next run, and says why', async () => {
    const said: string[] = [];
    const t0 = performance.now();
    await afterRemoval((m) => said.push(m), 300);
    assert.ok(performance.now() - t0 >= 290);
    assert.equal(said.length, 1);
    assert.match(said[0] ?? '', /^waiting 0 s after removing a tree: inodes freed/);
  });
});
