/** `mm-backup discover`: the official pre-backup checklist, automated. */
import { discover } from '../../discovery/discover';
import { buildReport } from '../../discovery/report';
import { size, table } from '../format';
import { openCommand, type GlobalOptions } from './shared';
import { recoveryView } from '../../status/recovery_state';

export async function discoverCommand(globals: GlobalOptions): Promise<void> {
  const { ec, out } = await openCommand(globals);
  const d = await discover(ec.cfg);
  const r = await buildReport(ec.cfg, d, ec.engineFor(d.database));
  // A killed job's stale lock (Mattermost may be down because of it) and interrupted jobs.
  const rec = await recoveryView(ec.lockDir, ec.cfg.repository.path);
  const text = [
    table([
      ['Install directory', `${r.install_dir} (${size(r.install_bytes)})`],
      ['Config source', r.config_source],
      ['Environment overrides', r.env_overrides.join(', ') || 'none'],
      [
        'Mattermost',
        `${r.mattermost.url}: reachable ${r.mattermost.reachable}${r.mattermost.version ? `, version ${r.mattermost.version}` : ''}`,
      ],
      ['Schema version', r.mattermost.schema_version === undefined ? 'unknown' : String(r.mattermost.schema_version)],
      ['Database', `${r.database.target}, server ${r.database.server_version ?? '?'}, ${size(r.database.size_bytes)}`],
      [
        'File store',
        r.file_store.name
          ? `${r.file_store.driver}: ${r.file_store.name} (not on this disk; not backed up)`
          : `${r.file_store.driver}${r.file_store.location ? ` at ${r.file_store.location}` : ''} (${size(r.file_store.size_bytes)})`,
      ],
      [
        'Repository',
        `${r.repository.path}: ${size(r.repository.free_bytes)} free, ${size(r.repository.needed_bytes)} recommended ${r.repository.enough ? '(ok)' : '(NOT ENOUGH)'}`,
      ],
    ]),
    '',
    table(
      r.components.map((c) => [
        c.id,
        c.status,
        c.status === 'included' ? size(c.size_bytes) : '',
        c.status === 'included'
          ? `${c.location ?? ''}${c.exclude ? ` (minus ${c.exclude.join(', ')})` : ''}`
          : (c.reason ?? ''),
      ]),
      ['component', 'status', 'size', 'location / reason'],
    ),
    ...(r.warnings.length ? ['', ...r.warnings.map((w) => `warning: ${w}`)] : []),
    ...(rec.lines.length ? ['', ...rec.lines] : []),
  ].join('\n');
  out.summary({ ok: true, report: r, lock: rec.lock, interrupted_jobs: rec.interrupted }, text);
}
