/** Assertions shared by the PostgreSQL and MariaDB sandbox tests. */
import { lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { openSqlConn, tableName, type Sandbox, type SqlConn } from '../src';

/** Opens a connection as the sandbox's Mattermost user (through its own DSN). */
export async function connectAsMattermost(sb: Sandbox): Promise<SqlConn> {
  const u = new URL(sb.dbUrl);
  return openSqlConn({
    driver: sb.driver,
    host: u.hostname,
    port: Number(u.port),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: u.pathname.slice(1),
  });
}

/** Every FileInfo row's file, thumbnail and preview exist, and the original has the recorded size. */
export async function expectFileInfoFilesExist(sb: Sandbox, c: SqlConn): Promise<number> {
  const t = tableName(sb.driver, 'FileInfo');
  const rows = await c.query<{ id: string; path: string; thumb: string; preview: string; size: string | number }>(
    `SELECT Id AS id, Path AS path, ThumbnailPath AS thumb, PreviewPath AS preview, Size AS size FROM ${t}`,
  );
  const missing: string[] = [];
  for (const r of rows) {
    const p = join(sb.dataDir, r.path);
    try {
      if (statSync(p).size !== Number(r.size)) missing.push(`${r.path} (size ${statSync(p).size} != ${r.size})`);
    } catch {
      missing.push(r.path);
    }
    for (const extra of [r.thumb, r.preview]) {
      if (extra) {
        try {
          statSync(join(sb.dataDir, extra));
        } catch {
          missing.push(extra);
        }
      }
    }
  }
  if (missing.length) throw new Error(`FileInfo rows whose files are missing:\n${missing.slice(0, 20).join('\n')}`);
  return rows.length;
}

/** Checks the install tree and config files generateSandbox promises. */
export function expectInstallTree(sb: Sandbox): void {
  const d = sb.installDir;
  for (const p of [
    'bin/mattermost',
    'bin/mmctl',
    'config/config.json',
    'client/index.html',
    'i18n/en.json',
    'NOTICE.txt',
    'README.md',
    'logs/mattermost.log',
    'plugins/playbooks/plugin.json',
    'config/saml-idp.crt',
    'config/saml-public.crt',
    'config/saml-private.key',
    'data/plugins/playbooks.tar.gz',
  ]) {
    expect({ p, ok: statSync(join(d, p), { throwIfNoEntry: false }) !== undefined }).toEqual({ p, ok: true });
  }
  expect(statSync(join(d, 'bin/mattermost')).mode & 0o777).toBe(0o755);
  expect(statSync(join(d, 'config/saml-private.key')).mode & 0o777).toBe(0o600);
  expect(statSync(join(d, 'logs/mattermost.log')).mode & 0o777).toBe(0o640);
  expect(lstatSync(join(d, 'client/root.js')).isSymbolicLink()).toBe(true);
  expect(readdirSync(join(d, 'data/export'))).toEqual([]);
  expect(readdirSync(join(d, 'prepackaged_plugins')).filter((f) => f.endsWith('.tar.gz')).length).toBeGreaterThan(0);
  expect(readdirSync(join(d, 'client/plugins')).length).toBeGreaterThan(0);
  // TLS lives outside the install, referenced by absolute path.
  expect(sb.tlsDir.startsWith(d)).toBe(false);
  expect(statSync(sb.tlsKeyFile).mode & 0o777).toBe(0o600);

  const cfg = JSON.parse(readFileSync(sb.configPath, 'utf8'));
  expect(cfg.SqlSettings).toMatchObject({
    DriverName: sb.driver,
    DataSource: sb.mattermostDsn,
    DataSourceReplicas: [],
  });
  expect(cfg.ServiceSettings).toMatchObject({
    SiteURL: sb.siteUrl,
    ListenAddress: `127.0.0.1:${sb.port}`,
    TLSCertFile: sb.tlsCertFile,
    TLSKeyFile: sb.tlsKeyFile,
    EnableCommands: true,
  });
  expect(typeof cfg.ServiceSettings.AllowedUntrustedInternalConnections).toBe('string');
  expect(cfg.FileSettings).toMatchObject({ DriverName: 'local', Directory: './data/' });
  expect(cfg.PluginSettings).toMatchObject({
    Enable: true,
    Directory: './plugins',
    ClientDirectory: './client/plugins',
  });
  expect(cfg.LogSettings.FileLocation).toBe('');
  expect(cfg.SamlSettings).toMatchObject({
    IdpCertificateFile: 'saml-idp.crt',
    PublicCertificateFile: 'saml-public.crt',
    PrivateKeyFile: 'saml-private.key',
  });
  const v10 = Number.parseInt(sb.mattermostVersion, 10) < 11;
  expect(cfg.BleveSettings !== undefined).toBe(v10);
  if (v10) expect(statSync(join(d, 'bleve-indexes'), { throwIfNoEntry: false })?.isDirectory()).toBe(true);
  expect(readFileSync(join(d, 'bin/mattermost'), 'utf8')).toContain(`mattermost-version: ${sb.mattermostVersion}`);

  if (sb.envFilePath) {
    const env = readFileSync(sb.envFilePath, 'utf8');
    expect(env).toMatch(/^#/m);
    expect(env).toContain(`MM_SERVICESETTINGS_SITEURL=${sb.siteUrl}`);
  }
}

/** Attachments with awkward names exist where FileInfo says. */
export async function expectTrickyNames(sb: Sandbox, c: SqlConn): Promise<void> {
  const t = tableName(sb.driver, 'FileInfo');
  for (const name of ['Résumé 2026.pdf', '日本語.txt']) {
    const rows = await c.query<{ path: string }>(`SELECT Path AS path FROM ${t} WHERE Name = ?`, [name]);
    expect(rows.length).toBe(1);
    const p = join(sb.dataDir, (rows[0] as { path: string }).path);
    expect(p.endsWith(`/${name}`)).toBe(true);
    if (name === '日本語.txt') expect(statSync(p).mode & 0o777).toBe(0o640);
  }
}
