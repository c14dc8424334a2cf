/**
 * The sandbox's small hand-written tables (systems, roles, schemes, bots, tokens, commands,
 * webhooks, jobs, drafts, plugin KV, db_migrations); the bulk tables are in sandbox_rows.ts.
 */
import { derivedId, newId } from './ids';
import { MIGRATION_NAMES, ROLES, TIMEZONES, USER_NOTIFY_PROPS } from './sandbox_content';
import { insertRows, type SandboxModel } from './sandbox_rows';
import type { SqlConn } from './sql_conn';

const DAY = 86_400_000;

/** Options for insertStaticRows. */
export interface StaticRowOptions {
  mattermostVersion: string;
  migrations: number;
}

/** The small hand-written tables: systems, roles, schemes, bots, tokens, commands, webhooks, jobs, drafts, plugin KV, db_migrations. */
export async function insertStaticRows(conn: SqlConn, m: SandboxModel, o: StaticRowOptions): Promise<void> {
  const t0 = m.p.t0;
  const admin = m.userId(0);
  const team0 = m.teamId(0);
  const town0 = m.channelId(0);
  const offTopic0 = m.channelId(m.T < m.C ? m.T : 0);

  await insertRows(conn, 'Systems', [
    { Name: 'Version', Value: o.mattermostVersion.replace(/\.\d+$/, '.0') },
    { Name: 'DiagnosticId', Value: newId() },
    { Name: 'InstallationDate', Value: String(t0 - 200 * DAY) },
    { Name: 'FirstServerRunTimestamp', Value: String(t0 - 200 * DAY) },
    { Name: 'LastSecurityTime', Value: String(t0) },
    { Name: 'PostActionCookieSecret', Value: JSON.stringify({ key: Buffer.from(newId()).toString('base64') }) },
    {
      Name: 'AsymmetricSigningKey',
      Value: JSON.stringify({ ecdsa_key: { curve: 'P-256', x: '1234567890', y: '9876543210', d: '5555555555' } }),
    },
    { Name: 'AdvancedPermissionsMigrationComplete', Value: 'true' },
    { Name: 'EmojisPermissionsMigrationComplete', Value: 'true' },
    { Name: 'GuestRolesCreationMigrationComplete', Value: 'true' },
    { Name: 'ContentExtractionConfigDefaultTrueMigrationComplete', Value: 'true' },
    { Name: 'CRTChannelMembershipCountsMigrationComplete', Value: 'true' },
    { Name: 'CRTThreadCountsAndUnreadsMigrationComplete', Value: 'true' },
    { Name: 'PlaybookRolesCreationMigrationComplete', Value: 'true' },
    { Name: 'RemainingSchemaMigrations', Value: 'true' },
    { Name: 'ServerUpgradedTo', Value: o.mattermostVersion },
  ]);

  await insertRows(
    conn,
    'Roles',
    ROLES.map(([name, displayName, permissions], i) => ({
      Id: derivedId(m.p.seed, 'role', i),
      Name: name,
      DisplayName: displayName,
      Description: `authentication.roles.${name}.description`,
      CreateAt: t0 - 200 * DAY,
      UpdateAt: t0 - 10 * DAY,
      DeleteAt: 0,
      Permissions: ` ${permissions}`,
      SchemeManaged: !name.startsWith('system_') || name === 'system_user' || name === 'system_admin',
      BuiltIn: true,
    })),
  );

  await insertRows(conn, 'Schemes', [
    {
      Id: derivedId(m.p.seed, 'scheme', 0),
      Name: derivedId(m.p.seed, 'scheme-name', 0),
      DisplayName: 'Restricted team scheme 🔒',
      Description: 'Guests cannot post in Town Square',
      CreateAt: t0 - 50 * DAY,
      UpdateAt: t0 - 50 * DAY,
      DeleteAt: 0,
      Scope: 'team',
      DefaultTeamAdminRole: 'team_admin',
      DefaultTeamUserRole: 'team_user',
      DefaultChannelAdminRole: 'channel_admin',
      DefaultChannelUserRole: 'channel_user',
      DefaultTeamGuestRole: 'team_guest',
      DefaultChannelGuestRole: 'channel_guest',
      DefaultPlaybookAdminRole: 'playbook_admin',
      DefaultPlaybookMemberRole: 'playbook_member',
      DefaultRunAdminRole: 'run_admin',
      DefaultRunMemberRole: 'run_member',
    },
  ]);

  // Bot accounts are users too.
  const botRows = m.bots.map((name, b) => {
    const i = m.botUserIndex(b);
    return {
      Id: m.userId(i),
      CreateAt: t0 - 150 * DAY,
      UpdateAt: t0 - 150 * DAY,
      DeleteAt: 0,
      Username: name,
      Password: '',
      AuthData: null,
      AuthService: '',
      Email: `${name}@localhost`,
      EmailVerified: true,
      Nickname: '',
      FirstName: name === 'playbooks' ? 'Playbooks' : 'System',
      LastName: '',
      Position: '',
      Roles: 'system_user',
      AllowMarketing: false,
      Props: '{}',
      NotifyProps: USER_NOTIFY_PROPS,
      LastPasswordUpdate: t0 - 150 * DAY,
      LastPictureUpdate: 0,
      FailedAttempts: 0,
      Locale: 'en',
      Timezone: TIMEZONES[0],
      MfaActive: false,
      MfaSecret: '',
      RemoteId: null,
      LastLogin: 0,
      MfaUsedTimestamps: null,
    };
  });
  await insertRows(conn, 'Users', botRows);
  await insertRows(
    conn,
    'Bots',
    m.bots.map((name, b) => ({
      UserId: m.userId(m.botUserIndex(b)),
      Description: name === 'playbooks' ? 'Playbooks bot. 🤖' : '',
      OwnerId: name === 'playbooks' ? 'playbooks' : admin,
      LastIconUpdate: 0,
      CreateAt: t0 - 150 * DAY,
      UpdateAt: t0 - 150 * DAY,
      DeleteAt: 0,
    })),
  );
  await insertRows(
    conn,
    'TeamMembers',
    m.bots.map((_, b) => ({
      TeamId: team0,
      UserId: m.userId(m.botUserIndex(b)),
      Roles: 'team_user',
      DeleteAt: 0,
      SchemeUser: true,
      SchemeAdmin: false,
      SchemeGuest: false,
      CreateAt: t0 - 150 * DAY,
    })),
  );
  await insertRows(conn, 'UserAccessTokens', [
    {
      Id: derivedId(m.p.seed, 'uat', 0),
      Token: derivedId(m.p.seed, 'uat-token', 0),
      UserId: m.userId(m.botUserIndex(0)),
      Description: 'integration token',
      IsActive: true,
    },
  ]);

  const cmdId = derivedId(m.p.seed, 'cmd', 0);
  await insertRows(conn, 'Commands', [
    {
      Id: cmdId,
      Token: derivedId(m.p.seed, 'cmd-token', 0),
      CreateAt: t0 - 20 * DAY,
      UpdateAt: t0 - 20 * DAY,
      DeleteAt: 0,
      CreatorId: admin,
      TeamId: team0,
      Trigger: 'weather',
      Method: 'P',
      Username: 'weatherbot',
      IconURL: '',
      AutoComplete: true,
      AutoCompleteDesc: 'Shows the weather ☀️',
      AutoCompleteHint: '[city]',
      DisplayName: 'Weather',
      Description: 'Weather for a city',
      URL: 'http://127.0.0.1:9/weather',
      PluginId: '',
    },
    {
      Id: derivedId(m.p.seed, 'cmd', 1),
      Token: derivedId(m.p.seed, 'cmd-token', 1),
      CreateAt: t0 - 19 * DAY,
      UpdateAt: t0 - 19 * DAY,
      DeleteAt: t0 - 5 * DAY,
      CreatorId: admin,
      TeamId: team0,
      Trigger: 'oldcmd',
      Method: 'G',
      Username: '',
      IconURL: '',
      AutoComplete: false,
      AutoCompleteDesc: '',
      AutoCompleteHint: '',
      DisplayName: 'Deleted command',
      Description: '',
      URL: 'https://example.com/hook',
      PluginId: '',
    },
  ]);
  await insertRows(conn, 'CommandWebhooks', [
    {
      Id: derivedId(m.p.seed, 'cmdhook', 0),
      CreateAt: t0 - DAY,
      CommandId: cmdId,
      UserId: admin,
      ChannelId: town0,
      RootId: '',
      UseCount: 1,
    },
  ]);
  await insertRows(conn, 'IncomingWebhooks', [
    {
      Id: derivedId(m.p.seed, 'inhook', 0),
      CreateAt: t0 - 30 * DAY,
      UpdateAt: t0 - 30 * DAY,
      DeleteAt: 0,
      UserId: admin,
      ChannelId: offTopic0,
      TeamId: team0,
      DisplayName: 'Jenkins',
      Description: 'CI notifications',
      Username: 'jenkins',
      IconURL: '',
      ChannelLocked: false,
    },
  ]);
  await insertRows(conn, 'OutgoingWebhooks', [
    {
      Id: derivedId(m.p.seed, 'outhook', 0),
      Token: derivedId(m.p.seed, 'outhook-token', 0),
      CreateAt: t0 - 30 * DAY,
      UpdateAt: t0 - 30 * DAY,
      DeleteAt: 0,
      CreatorId: admin,
      ChannelId: town0,
      TeamId: team0,
      TriggerWords: 'deploy',
      TriggerWhen: 0,
      CallbackURLs: 'http://127.0.0.1:9/outgoing',
      DisplayName: 'Deployer',
      Description: '',
      ContentType: 'application/json',
      Username: '',
      IconURL: '',
    },
  ]);

  await insertRows(conn, 'Jobs', [
    {
      Id: derivedId(m.p.seed, 'job', 0),
      Type: 'migrations',
      Priority: 0,
      CreateAt: t0 - 100 * DAY,
      StartAt: t0 - 100 * DAY,
      LastActivityAt: t0 - 100 * DAY,
      Status: 'success',
      Progress: 100,
      Data: '{"last_done":"{\\"current_table\\":\\"ChannelMembers\\"}","migration_key":"migration_advanced_permissions_phase_2"}',
    },
    {
      Id: derivedId(m.p.seed, 'job', 1),
      Type: 'expiry_notify',
      Priority: 0,
      CreateAt: t0 - DAY,
      StartAt: t0 - DAY,
      LastActivityAt: t0 - DAY,
      Status: 'success',
      Progress: 0,
      Data: null,
    },
    {
      Id: derivedId(m.p.seed, 'job', 2),
      Type: 'export_delete',
      Priority: 0,
      CreateAt: t0,
      StartAt: 0,
      LastActivityAt: t0,
      Status: 'pending',
      Progress: 0,
      Data: '{}',
    },
  ]);

  await insertRows(
    conn,
    'Drafts',
    Array.from({ length: Math.min(m.U, 5) }, (_, i) => ({
      CreateAt: t0,
      UpdateAt: t0,
      DeleteAt: 0,
      UserId: m.userId(i),
      ChannelId: m.channelId(0),
      RootId: i % 2 === 0 ? '' : m.postId(0),
      Message: i % 2 === 0 ? 'Half-written thought… 🤔' : 'Draft reply with "quotes" and \\ backslash',
      Props: '{}',
      FileIds: '[]',
      Priority: null,
    })),
  );

  await insertRows(conn, 'PluginKeyValueStore', [
    {
      PluginId: 'com.mattermost.calls',
      PKey: 'mmi_botid',
      PValue: Buffer.from(m.userId(m.botUserIndex(0))),
      ExpireAt: 0,
    },
    { PluginId: 'playbooks', PKey: 'mmi_botid', PValue: Buffer.from(m.userId(m.botUserIndex(1))), ExpireAt: 0 },
    {
      PluginId: 'playbooks',
      PKey: 'binary_blob',
      PValue: Buffer.from([0, 1, 2, 0xff, 0xfe, 0, 0x27, 0x5c, 0x22]),
      ExpireAt: 0,
    },
    {
      PluginId: 'com.mattermost.calls',
      PKey: 'session_cache',
      PValue: Buffer.from('{"ttl":true}'),
      ExpireAt: t0 + DAY,
    },
  ]);

  await insertRows(
    conn,
    'db_migrations',
    Array.from({ length: o.migrations }, (_, i) => ({
      Version: i + 1,
      Name: MIGRATION_NAMES[i] ?? `schema_change_${String(i + 1).padStart(6, '0')}`,
    })),
  );
}
