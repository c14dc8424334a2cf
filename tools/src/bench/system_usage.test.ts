// node --test: the machine's counters around a run (run from tools/dist/bench): parsing, and real
// work on this machine showing up in them.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { deviceOf, parseCpu, parseDisk, sampleSystem, usageBetween, usageText } from './system_usage';

void describe('system usage', () => {
  void it('reads the aggregate cpu line and the disk of a device number', () => {
    const stat = 'cpu  1000 50 300 9000 200 10 40 7 0 0\ncpu0 500 25 150 4500 100 5 20 3 0 0\nintr 1\n';
    assert.deepEqual(parseCpu(stat), { user: 10.5, system: 3.5, iowait: 2, steal: 0.07, idle: 90 });
    assert.equal(parseCpu('intr 1\n'), undefined);
    assert.equal(parseCpu('cpu  1 2 x 4 5 6 7 8\n'), undefined);
    const disks =
      ' 254       0 vda 150838 61563 3970490 24563 518833 3541273 97433528 933950 0 77888 995530 0 0 0 0\n' +
      // A partition as kernels before 2.6.25 listed it: four counters.
      ' 254       1 vda1 10 20 30 40\n';
    assert.deepEqual(parseDisk(disks, 254, 0), {
      device: 'vda',
      readBytes: 3970490 * 512,
      writtenBytes: 97433528 * 512,
      busyMs: 77888,
    });
    // A line too short to hold the counters is no answer; neither is another device.
    assert.equal(parseDisk(disks, 254, 1), undefined);
    assert.equal(parseDisk(disks, 8, 0), undefined);
  });

  void it('differences of two samples, and the line the report prints', () => {
    const a = {
      atMs: 0,
      cpu: { user: 10, system: 2, iowait: 1, steal: 0, idle: 100 },
      disk: { device: 'vda', readBytes: 0, writtenBytes: 0, busyMs: 0 },
    };
    const b = {
      atMs: 10_000,
      cpu: { user: 25, system: 5, iowait: 3, steal: 0.5, idle: 101 },
      disk: { device: 'vda', readBytes: 100 * 1024 * 1024, writtenBytes: 300 * 1024 * 1024, busyMs: 4000 },
    };
    const u = usageBetween(a, b, 2);
    assert.deepEqual(u, {
      seconds: 10,
      cpus: 2,
      cpu: { user: 15, system: 3, iowait: 2, steal: 0.5, idle: 1 },
      disk: { device: 'vda', readMB: 100, writtenMB: 300, busyShare: 0.4 },
    });
    assert.equal(
      usageText(u),
      'CPUs busy 1.80 of 2 (user 1.50, system 0.30), waiting for I/O 0.20, stolen 0.05; disk vda: 100 MB read, 300 MB written, busy 40 % of the time',
    );
    // Samples of two devices (the directory moved) give no disk figures.
    assert.equal(usageBetween(a, { ...b, disk: { ...b.disk, device: 'vdb' } }, 2).disk, undefined);
  });

  void it('sees this machine work: CPU time spent and bytes written to the disk of a directory', async () => {
    // Beside the checkout, not in TMPDIR: a tmpfs there has no disk to count.
    const dir = await mkdtemp(path.join(__dirname, '..', 'system-usage-'));
    try {
      const before = await sampleSystem(dir);
      assert.ok(before.cpu, 'no /proc/stat');
      assert.ok(before.disk, `no /proc/diskstats line for ${JSON.stringify(deviceOf(dir))}`);
      // 64 MB written and made durable, then half a second of CPU.
      const file = path.join(dir, 'x');
      const dd = spawnSync('dd', ['if=/dev/zero', `of=${file}`, 'bs=1M', 'count=64', 'conv=fsync'], {
        stdio: 'ignore',
      });
      assert.equal(dd.status, 0);
      const end = performance.now() + 500;
      let spin = 0;
      while (performance.now() < end) spin++;
      assert.ok(spin > 0);
      const u = usageBetween(before, await sampleSystem(dir));
      assert.ok(u.seconds >= 0.5, `${u.seconds}`);
      assert.ok(u.cpu && u.cpu.user + u.cpu.system >= 0.3, JSON.stringify(u.cpu));
      // On a device that compresses or dedupes writes nothing smaller shows; the count is of requests.
      assert.ok(u.disk && u.disk.writtenMB >= 60, JSON.stringify(u.disk));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
