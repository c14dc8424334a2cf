/**
 * The stand-in's configuration: Mattermost's defaults for the settings it uses, merging of test
 * overrides, GET /api/v4/config masking (model.FakeSetting) and the flat client config map.
 */
import { createHash } from 'node:crypto';
import type { MmConfigInput, MmConfigSubset } from './types';

/** model.FakeSetting: what GET /api/v4/config shows instead of a secret. */
export const FAKE_SETTING = '********************************';

export function defaultConfig(siteUrl: string): MmConfigSubset {
  return {
    ServiceSettings: {
      SiteURL: siteUrl,
      ListenAddress: ':8065',
      EnableCommands: true,
      EnableBotAccountCreation: false,
      EnableUserAccessTokens: false,
      AllowedUntrustedInternalConnections: '',
      PostEditTimeLimit: -1,
      ExperimentalStrictCSRFEnforcement: false,
      EnablePostUsernameOverride: false,
      EnablePostIconOverride: false,
      OutgoingIntegrationRequestsTimeout: 30,
      EnableDeveloper: false,
      EnableOnlyAdminIntegrations: true,
      ReadTimeout: 300,
      WriteTimeout: 300,
    },
    TeamSettings: { SiteName: 'Mattermost', MaxUsersPerTeam: 50 },
    SqlSettings: {
      DriverName: 'postgres',
      DataSource: 'postgres://mmuser:mostest@localhost/mattermost_test?sslmode=disable&connect_timeout=10',
      DataSourceReplicas: [],
      AtRestEncryptKey: 'k3yk3yk3yk3yk3yk3yk3yk3yk3yk3yk3',
      MaxIdleConns: 20,
      MaxOpenConns: 300,
    },
    FileSettings: {
      DriverName: 'local',
      Directory: './data/',
      PublicLinkSalt: 's4lts4lts4lts4lts4lts4lts4lts4lt',
      AmazonS3SecretAccessKey: '',
      MaxFileSize: 104857600,
    },
    EmailSettings: { SMTPPassword: '', SMTPServer: 'localhost', SMTPPort: '10025' },
    PluginSettings: { Enable: true, EnableUploads: false, Directory: './plugins', ClientDirectory: './client/plugins' },
    LogSettings: { EnableConsole: true, ConsoleLevel: 'INFO', EnableFile: true, FileLocation: '' },
  };
}

/** Applies section-wise overrides in place. */
export function mergeConfig(base: MmConfigSubset, over: MmConfigInput | undefined): MmConfigSubset {
  for (const [section, values] of Object.entries(over ?? {})) {
    const target = (base as unknown as Record<string, Record<string, unknown>>)[section];
    if (target) Object.assign(target, values);
    else (base as unknown as Record<string, unknown>)[section] = { ...values };
  }
  return base;
}

/** Settings the real server replaces with FAKE_SETTING on GET /api/v4/config (model.Config.Sanitize). */
const MASKED: Array<[string, string]> = [
  ['SqlSettings', 'DataSource'],
  ['SqlSettings', 'AtRestEncryptKey'],
  ['FileSettings', 'PublicLinkSalt'],
  ['FileSettings', 'AmazonS3SecretAccessKey'],
  ['EmailSettings', 'SMTPPassword'],
];

/** A deep copy with secrets masked like model.Config.Sanitize (empty secrets stay empty for S3/SMTP). */
export function maskedConfig(c: MmConfigSubset): Record<string, Record<string, unknown>> {
  const out = JSON.parse(JSON.stringify(c)) as Record<string, Record<string, unknown>>;
  for (const [s, k] of MASKED) {
    const sec = out[s];
    if (!sec) continue;
    if (k === 'AmazonS3SecretAccessKey' || k === 'SMTPPassword') {
      if (sec[k]) sec[k] = FAKE_SETTING;
    } else sec[k] = FAKE_SETTING;
  }
  const sql = out.SqlSettings;
  if (sql && Array.isArray(sql.DataSourceReplicas)) {
    sql.DataSourceReplicas = sql.DataSourceReplicas.map(() => FAKE_SETTING);
  }
  return out;
}

/** The flat client config (GET /api/v4/config/client?format=old), values as strings. */
export function clientConfig(c: MmConfigSubset, version: string, withSession: boolean): Record<string, string> {
  const m: Record<string, string> = {
    BuildDate: 'Mon Jan  5 10:00:00 UTC 2026',
    BuildEnterpriseReady: 'false',
    BuildHash: '0123456789abcdef0123456789abcdef01234567',
    BuildHashEnterprise: 'none',
    BuildNumber: version,
    DiagnosticsEnabled: 'true',
    EnableBotAccountCreation: String(c.ServiceSettings.EnableBotAccountCreation),
    EnableCommands: String(c.ServiceSettings.EnableCommands),
    EnableUserAccessTokens: String(c.ServiceSettings.EnableUserAccessTokens),
    PluginsEnabled: String(c.PluginSettings.Enable),
    SiteName: c.TeamSettings.SiteName,
    SiteURL: c.ServiceSettings.SiteURL,
    TelemetryId: '',
    Version: version,
    WebsocketURL: '',
  };
  if (withSession) m.SchemaVersion = '148';
  return m;
}

/** JSON of a flat string map with keys in Go's map order (sorted), as the server marshals map[string]string. */
export function goMapJson(m: Record<string, string | boolean>): string {
  const keys = Object.keys(m).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(m[k])}`).join(',')}}`;
}

/** X-Version-ID: <version>.<build number>.<config hash>.<licensed>. */
export function versionId(c: MmConfigSubset, version: string): string {
  const hash = createHash('md5').update(JSON.stringify(c)).digest('hex');
  return `${version}.${version}.${hash}.false`;
}
