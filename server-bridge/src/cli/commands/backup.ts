/** `mm-backup backup`: offline (default, the official clean backup) or online. */
import { COMPONENT_IDS, type ComponentId } from '../../config/schema';
import { UsageError } from '../../core/errors';
import { discover } from '../../discovery/discover';
import { planBackup } from '../../operations/backup_plan';
import { duration, size } from '../format';
import { runCliJob, withLock } from '../run_with_lock';
import { openCommand, throwIfFailed, type GlobalOptions } from './shared';
import { replicateAfterBackup } from './replicate';

export interface BackupFlags {
  mode?: string;
  exclude?: string;
}

export function parseComponentList(list: string | undefined, flag: string): ComponentId[] | undefined {
  if (!list) return undefined;
  const ids = list.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = ids.filter((i) => !(COMPONENT_IDS as readonly string[]).includes(i));
  if (bad.length) throw new UsageError(`${flag}: unknown component ${bad.join(', ')} (known: ${COMPONENT_IDS.join(', ')})`);
  return ids as ComponentId[];
}

export async function backupCommand(globals: GlobalOptions, flags: BackupFlags): Promise<void> {
  const mode = flags.mode ?? undefined;
  if (mode !== undefined && mode !== 'offline' && mode !== 'online') throw new UsageError(`--mode must be offline or online, not "${mode}"`);
  const exclude = parseComponentList(flags.exclude, '--exclude');
  const { ec, out } = await openCommand(globals);
  const d = await discover(ec.cfg, { exclude });
  await withLock(ec, 'backup', out, async (lock) => {
    const plan = planBackup(ec, d, lock, { mode: mode ?? ec.cfg.backup.mode, trigger: 'cli' });
    const result = await runCliJob(plan.job, lock, out);
    throwIfFailed(result);
    const m = plan.result.manifest;
    if (!m) return;
    const offsite = await replicateAfterBackup(ec, lock, out, m.id);
    out.summary(
      { ok: true, snapshot: { id: m.id, mode: m.mode, bytes: m.stats.bytes, new_bytes: m.stats.newBytes, files: m.stats.files, files_read: m.stats.filesRead, duration_ms: m.stats.durationMs, downtime_ms: m.stats.downtimeMs }, ...(offsite ? { offsite: offsite.json } : {}) },
      `Snapshot ${m.id} (${m.mode}): ${size(m.stats.bytes)}, ${size(m.stats.newBytes)} new, ${m.stats.files} files (${m.stats.filesRead} read), took ${duration(m.stats.durationMs)}, downtime ${duration(m.stats.downtimeMs)}${offsite ? `\n${offsite.text}` : ''}`,
    );
  });
}
