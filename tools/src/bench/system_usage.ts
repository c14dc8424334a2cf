/**
 * What the machine did while one run went on: CPU time by kind over all CPUs (/proc/stat) and
 * what the disk holding the bench's directory read and wrote (/proc/diskstats). Two runs that do
 * the same work at different speeds (the offline pre-copy and the online copy, runs 24 and 25)
 * show here whether one waited for the disk, lost the CPU to the host (steal) or to other
 * processes, or wrote more.
 */
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';

/** CPU seconds by kind, summed over all CPUs (USER_HZ ticks / 100). */
export interface CpuSeconds {
  user: number;
  system: number;
  iowait: number;
  steal: number;
  idle: number;
}

/** The disk's counters: bytes read and written, and milliseconds during which it had I/O in flight. */
export interface DiskCounters {
  device: string;
  readBytes: number;
  writtenBytes: number;
  busyMs: number;
}

export interface SystemSample {
  atMs: number;
  cpu?: CpuSeconds;
  disk?: DiskCounters;
}

/** The difference of two samples: seconds of wall time, CPU seconds by kind, disk MB and busy share. */
export interface SystemUsage {
  seconds: number;
  cpus: number;
  cpu?: CpuSeconds;
  disk?: { device: string; readMB: number; writtenMB: number; busyShare: number };
}

/** USER_HZ: /proc/stat counts in hundredths of a second on every Linux build the bench runs on. */
const TICKS = 100;

/** The aggregate `cpu` line of /proc/stat, in seconds; undefined when the text has none. */
export function parseCpu(stat: string): CpuSeconds | undefined {
  const line = stat.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return undefined;
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  if (f.length < 8 || f.some((x) => !Number.isFinite(x))) return undefined;
  const [user, nice, system, idle, iowait, irq, softirq, steal] = f as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return {
    user: (user + nice) / TICKS,
    system: (system + irq + softirq) / TICKS,
    iowait: iowait / TICKS,
    steal: steal / TICKS,
    idle: idle / TICKS,
  };
}

/** The /proc/diskstats line of device major:minor; undefined when there is none. */
export function parseDisk(diskstats: string, major: number, minor: number): DiskCounters | undefined {
  for (const line of diskstats.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 14 || Number(f[0]) !== major || Number(f[1]) !== minor) continue;
    // Sectors are 512 bytes whatever the device's own sector size (Documentation/admin-guide/iostats.rst).
    return {
      device: f[2] as string,
      readBytes: Number(f[5]) * 512,
      writtenBytes: Number(f[9]) * 512,
      busyMs: Number(f[12]),
    };
  }
  return undefined;
}

/** The device number of the filesystem holding `dir`, split as the kernel's MAJOR/MINOR do. */
export function deviceOf(dir: string): { major: number; minor: number } {
  const dev = statSync(dir).dev;
  return { major: Math.floor(dev / 256) & 0xfff, minor: (dev & 0xff) | (Math.floor(dev / 4096) & ~0xff) };
}

/** Reads the counters now; what cannot be read (no /proc) is left out. */
export async function sampleSystem(dir: string): Promise<SystemSample> {
  const atMs = performance.now();
  const cpu = parseCpu(await readFile('/proc/stat', 'utf8').catch(() => ''));
  let disk: DiskCounters | undefined;
  try {
    const { major, minor } = deviceOf(dir);
    disk = parseDisk(await readFile('/proc/diskstats', 'utf8'), major, minor);
  } catch {
    disk = undefined;
  }
  return { atMs, cpu, disk };
}

/** What happened between samples `a` and `b`. */
export function usageBetween(a: SystemSample, b: SystemSample, cpus = os.cpus().length): SystemUsage {
  const seconds = (b.atMs - a.atMs) / 1000;
  const round = (x: number) => Math.round(x * 100) / 100;
  const cpu =
    a.cpu && b.cpu
      ? {
          user: round(b.cpu.user - a.cpu.user),
          system: round(b.cpu.system - a.cpu.system),
          iowait: round(b.cpu.iowait - a.cpu.iowait),
          steal: round(b.cpu.steal - a.cpu.steal),
          idle: round(b.cpu.idle - a.cpu.idle),
        }
      : undefined;
  const disk =
    a.disk && b.disk && a.disk.device === b.disk.device
      ? {
          device: b.disk.device,
          readMB: round((b.disk.readBytes - a.disk.readBytes) / (1024 * 1024)),
          writtenMB: round((b.disk.writtenBytes - a.disk.writtenBytes) / (1024 * 1024)),
          busyShare: seconds > 0 ? round((b.disk.busyMs - a.disk.busyMs) / 1000 / seconds) : 0,
        }
      : undefined;
  return { seconds: round(seconds), cpus, cpu, disk };
}

/** One line for the report: CPU in use per second of the run, by kind, and the disk's reads, writes and busy share. */
export function usageText(u: SystemUsage): string {
  const parts: string[] = [];
  if (u.cpu && u.seconds > 0) {
    const per = (x: number) => (x / u.seconds).toFixed(2);
    const busy = u.cpu.user + u.cpu.system;
    parts.push(
      `CPUs busy ${per(busy)} of ${u.cpus} (user ${per(u.cpu.user)}, system ${per(u.cpu.system)}), waiting for I/O ${per(u.cpu.iowait)}, stolen ${per(u.cpu.steal)}`,
    );
  }
  if (u.disk) {
    parts.push(
      `disk ${u.disk.device}: ${Math.round(u.disk.readMB)} MB read, ${Math.round(u.disk.writtenMB)} MB written, busy ${Math.round(u.disk.busyShare * 100)} % of the time`,
    );
  }
  return parts.join('; ');
}
