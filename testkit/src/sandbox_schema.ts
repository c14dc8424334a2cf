/**
 * A trimmed copy of Mattermost's schema: the real table and column names with realistic types, one
 * definition rendered for both databases. PostgreSQL gets lower-case names (Mattermost's migrations
 * use unquoted identifiers); MySQL/MariaDB keeps Mattermost's PascalCase names, except the
 * migration ledgers, which are lower-case there too.
 */
import type { SqlDriver } from './sql_conn';

type ColType =
  | 'id'
  | `vc:${number}`
  | 'text'
  | 'mediumtext'
  | 'longtext'
  | 'msg'
  | 'bigint'
  | 'int'
  | 'bool'
  | 'json'
  | 'blob'
  | 'enum:channel_type'
  | 'enum:team_type';

/** One table of the sandbox schema, with PascalCase (MySQL-style) names. */
export interface TableDef {
  name: string;
  cols: Array<[name: string, type: ColType, notNull?: 'notnull']>;
  pk: string[];
  unique?: string[][];
  /** Secondary indexes, created after the bulk load because that is much faster. */
  indexes?: string[][];
  /** Only created with configInDatabase. */
  configStore?: boolean;
}

const ENUMS: Record<string, string[]> = { channel_type: ['P', 'G', 'O', 'D'], team_type: ['I', 'O'] };

const table = (name: string, cols: TableDef['cols'], pk: string[], extra: Partial<TableDef> = {}): TableDef => ({
  name,
  cols,
  pk,
  ...extra,
});

/** All sandbox tables in creation order. */
export const TABLES: TableDef[] = [
  table(
    'Users',
    [
      ['Id', 'id', 'notnull'],
      ['CreateAt', 'bigint'],
      ['UpdateAt', 'bigint'],
      ['DeleteAt', 'bigint'],
      ['Username', 'vc:64'],
      ['Password', 'vc:128'],
      ['AuthData', 'vc:128'],
      ['AuthService', 'vc:32'],
      ['Email', 'vc:128'],
      ['EmailVerified', 'bool'],
      ['Nickname', 'vc:64'],
      ['FirstName', 'vc:64'],
      ['LastName', 'vc:64'],
      ['Position', 'vc:128'],
      ['Roles', 'vc:256'],
      ['AllowMarketing', 'bool'],
      ['Props', 'json'],
      ['NotifyProps', 'json'],
      ['LastPasswordUpdate', 'bigint'],
      ['LastPictureUpdate', 'bigint'],
      ['FailedAttempts', 'int'],
      ['Locale', 'vc:5'],
      ['Timezone', 'json'],
      ['MfaActive', 'bool'],
      ['MfaSecret', 'vc:128'],
      ['RemoteId', 'vc:26'],
      ['LastLogin', 'bigint'],
      ['MfaUsedTimestamps', 'json'],
    ],
    ['Id'],
    { unique: [['Username'], ['Email'], ['AuthData']], indexes: [['CreateAt'], ['UpdateAt'], ['DeleteAt']] },
  ),
  table(
    'Teams',
    [
      ['Id', 'id', 'notnull'],
      ['CreateAt', 'bigint'],
      ['UpdateAt', 'bigint'],
      ['DeleteAt', 'bigint'],
      ['DisplayName', 'vc:64'],
      ['Name', 'vc:64'],
      ['Description', 'vc:255'],
      ['Email', 'vc:128'],
      ['Type', 'enum:team_type'],
      ['CompanyName', 'vc:64'],
      ['AllowedDomains', 'vc:1000'],
      ['InviteId', 'vc:32'],
      ['AllowOpenInvite', 'bool'],
      ['LastTeamIconUpdate', 'bigint'],
      ['SchemeId', 'vc:26'],
      ['GroupConstrained', 'bool'],
      ['CloudLimitsArchived', 'bool', 'notnull'],
      ['RemoteId', 'vc:26'],
    ],
    ['Id'],
    { unique: [['Name']], indexes: [['InviteId'], ['UpdateAt']] },
  ),
  table(
    'TeamMembers',
    [
      ['TeamId', 'id', 'notnull'],
      ['UserId', 'id', 'notnull'],
      ['Roles', 'vc:256'],
      ['DeleteAt', 'bigint'],
      ['SchemeUser', 'bool'],
      ['SchemeAdmin', 'bool'],
      ['SchemeGuest', 'bool'],
      ['CreateAt', 'bigint'],
    ],
    ['TeamId', 'UserId'],
    { indexes: [['UserId']] },
  ),
  table(
    'Channels',
    [
      ['Id', 'id', 'notnull'],
      ['CreateAt', 'bigint'],
      ['UpdateAt', 'bigint'],
      ['DeleteAt', 'bigint'],
      ['TeamId', 'vc:26'],
      ['Type', 'enum:channel_type'],
      ['DisplayName', 'vc:64'],
      ['Name', 'vc:64'],
      ['Header', 'vc:1024'],
      ['Purpose', 'vc:250'],
      ['LastPostAt', 'bigint'],
      ['TotalMsgCount', 'bigint'],
      ['ExtraUpdateAt', 'bigint'],
      ['CreatorId', 'vc:26'],
      ['SchemeId', 'vc:26'],
      ['GroupConstrained', 'bool'],
      ['Shared', 'bool'],
      ['TotalMsgCountRoot', 'bigint'],
      ['LastRootPostAt', 'bigint'],
    ],
    ['Id'],
    { unique: [['Name', 'TeamId']], indexes: [['TeamId'], ['UpdateAt'], ['CreateAt'], ['DeleteAt']] },
  ),
  table(
    'ChannelMembers',
    [
      ['ChannelId', 'id', 'notnull'],
      ['UserId', 'id', 'notnull'],
      ['Roles', 'vc:256'],
      ['LastViewedAt', 'bigint'],
      ['MsgCount', 'bigint'],
      ['MentionCount', 'bigint'],
      ['NotifyProps', 'json'],
      ['LastUpdateAt', 'bigint'],
      ['SchemeUser', 'bool'],
      ['SchemeAdmin', 'bool'],
      ['SchemeGuest', 'bool'],
      ['MentionCountRoot', 'bigint'],
      ['MsgCountRoot', 'bigint'],
      ['UrgentMentionCount', 'bigint'],
    ],
    ['ChannelId', 'UserId'],
    { indexes: [['UserId', 'ChannelId', 'LastViewedAt']] },
  ),
  table(
    'Posts',
    [
      ['Id', 'id', 'notnull'],
      ['CreateAt', 'bigint'],
      ['UpdateAt', 'bigint'],
      ['EditAt', 'bigint'],
      ['DeleteAt', 'bigint'],
      ['IsPinned', 'bool'],
      ['UserId', 'vc:26'],
      ['ChannelId', 'vc:26'],
      ['RootId', 'vc:26'],
      ['OriginalId', 'vc:26'],
      ['Message', 'msg'],
      ['Type', 'vc:26'],
      ['Props', 'json'],
      ['Hashtags', 'vc:1000'],
      ['Filenames', 'vc:4000'],
      ['FileIds', 'vc:300'],
      ['HasReactions', 'bool'],
      ['RemoteId', 'vc:26'],
    ],
    ['Id'],
    {
      indexes: [['ChannelId', 'DeleteAt', 'CreateAt'], ['RootId', 'DeleteAt'], ['UserId'], ['CreateAt'], ['UpdateAt']],
    },
  ),
  table(
    'FileInfo',
    [
      ['Id', 'id', 'notnull'],
      ['CreatorId', 'vc:26'],
      ['PostId', 'vc:26'],
      ['ChannelId', 'vc:26'],
      ['CreateAt', 'bigint'],
      ['UpdateAt', 'bigint'],
      ['DeleteAt', 'bigint'],
      ['Path', 'vc:512'],
      ['ThumbnailPath', 'vc:512'],
      ['PreviewPath', 'vc:512'],
      ['Name', 'vc:256'],
      ['Extension', 'vc:64'],
      ['Size', 'bigint'],
      ['MimeType', 'vc:256'],
      ['Width', 'int'],
      ['Height', 'int'],
      ['HasPreviewImage', 'bool'],
      ['MiniPreview', 'blob'],
      ['Content', 'longtext'],
      ['RemoteId', 'vc:26'],
      ['Archived', 'bool', 'notnull'],
    ],
    ['Id'],
    { indexes: [['PostId'], ['CreatorId'], ['CreateAt'], ['ChannelId', 'CreateAt']] },
  ),
  table(
    'Reactions',
    [
      ['UserId', 'id', 'notnull'],
      ['PostId', 'id', 'notnull'],
      ['EmojiName', 'vc:64', 'notnull'],
      ['CreateAt', 'bigint'],
      ['UpdateAt', 'bigint'],
      ['DeleteAt', 'bigint'],
      ['RemoteId', 'vc:26'],
      ['ChannelId', 'vc:26', 'notnull'],
    ],
    ['PostId', 'UserId', 'EmojiName'],
    { indexes: [['ChannelId']] },
  ),
  table(
    'Threads',
    [
      ['PostId', 'id', 'notnull'],
      ['ReplyCount', 'bigint'],
      ['LastReplyAt', 'bigint'],
      ['Participants', 'json'],
      ['ChannelId', 'vc:26'],
      ['ThreadDeleteAt', 'bigint'],
      ['ThreadTeamId', 'vc:26'],
    ],
    ['PostId'],
    { indexes: [['ChannelId', 'LastReplyAt']] },
  ),
  table(
    'Systems',
    [
      ['Name', 'vc:64', 'notnull'],
      ['Value', 'vc:1024'],
    ],
    ['Name'],
  ),
  table(
    'Preferences',
    [
      ['UserId', 'id', 'notnull'],
      ['Category', 'vc:32', 'notnull'],
      ['Name', 'vc:32', 'notnull'],
      ['Value', 'vc:2000'],
    ],
    ['UserId', 'Category', 'Name'],
    { indexes: [['Category'], ['Name']] },
  ),
  table(
    'Sessions',
    [
      ['Id', 'id', 'notnull'],
      ['Token', 'vc:26'],
      ['CreateAt', 'bigint'],
      ['ExpiresAt', 'bigint'],
      ['LastActivityAt', 'bigint'],
      ['UserId', 'vc:26'],
      ['DeviceId', 'vc:512'],
      ['Roles', 'vc:256'],
      ['IsOAuth', 'bool'],
      ['ExpiredNotify', 'bool'],
      ['Props', 'json'],
    ],
    ['Id'],
    { indexes: [['UserId'], ['Token'], ['ExpiresAt']] },
  ),
  table(
    'UserAccessTokens',
    [
      ['Id', 'id', 'notnull'],
      ['Token', 'vc:26'],
      ['UserId', 'vc:26'],
      ['Description', 'vc:512'],
      ['IsActive', 'bool'],
    ],
    ['Id'],
    { unique: [['Token']], indexes: [['UserId']] },
  ),
  table(
    'Bots',
    [
      ['UserId', 'id', 'notnull'],
      ['Description', 'vc:1024'],
      ['OwnerId', 'vc:190'],
      ['LastIconUpdate', 'bigint'],
      ['CreateAt', 'bigint'],
      ['UpdateAt', 'bigint'],
      ['DeleteAt', 'bigint'],
    ],
    ['UserId'],
  ),
  table(
    'Commands',
    [
      ['Id', 'id', 'notnull'],
      ['Token', 'vc:26'],
      ['CreateAt', 'bigint'],
      ['UpdateAt', 'bigint'],
      ['DeleteAt', 'bigint'],
      ['CreatorId', 'vc:26'],
      ['TeamId', 'vc:26'],
      ['Trigger', 'vc:128'],
      ['Method', 'vc:1'],
      ['Username', 'vc:64'],
      ['IconURL', 'vc:1024'],
      ['AutoComplete', 'bool'],
      ['AutoCompleteDesc', 'vc:1024'],
      ['AutoCompleteHint', 'vc:1024'],
      ['DisplayName', 'vc:64'],
      ['Description', 'vc:128'],
      ['URL', 'vc:1024'],
      ['PluginId', 'vc:190'],
    ],
    ['Id'],
    { indexes: [['TeamId']] },
  ),
  table(
    'CommandWebhooks',
    [
      ['Id', 'id', 'notnull'],
      ['CreateAt', 'bigint'],
      ['CommandId', 'vc:26'],
      ['UserId', 'vc:26'],
      ['ChannelId', 'vc:26'],
      ['RootId', 'vc:26'],
      ['UseCount', 'int'],
    ],
    ['Id'],
    { indexes: [['CreateAt']] },
  ),
  table(
    'IncomingWebhooks',
    [
      ['Id', 'id', 'notnull'],
      ['CreateAt', 'bigint'],
      ['UpdateAt', 'bigint'],
      ['DeleteAt', 'bigint'],
      ['UserId', 'vc:26'],
      ['ChannelId', 'vc:26'],
      ['TeamId', 'vc:26'],
      ['DisplayName', 'vc:64'],
      ['Description', 'vc:500'],
      ['Username', 'vc:255'],
      ['IconURL', 'vc:1024'],
      ['ChannelLocked', 'bool'],
    ],
    ['Id'],
    { indexes: [['UserId'], ['TeamId']] },
  ),
  table(
    'OutgoingWebhooks',
    [
      ['Id', 'id', 'notnull'],
      ['Token', 'vc:26'],
      ['CreateAt', 'bigint'],
      ['UpdateAt', 'bigint'],
      ['DeleteAt', 'bigint'],
      ['CreatorId', 'vc:26'],
      ['ChannelId', 'vc:26'],
      ['TeamId', 'vc:26'],
      ['TriggerWords', 'vc:1024'],
      ['TriggerWhen', 'int'],
      ['CallbackURLs', 'vc:1024'],
      ['DisplayName', 'vc:64'],
      ['Description', 'vc:500'],
      ['ContentType', 'vc:128'],
      ['Username', 'vc:64'],
      ['IconURL', 'vc:1024'],
    ],
    ['Id'],
    { indexes: [['TeamId']] },
  ),
  table(
    'Roles',
    [
      ['Id', 'id', 'notnull'],
      ['Name', 'vc:64'],
      ['DisplayName', 'vc:128'],
      ['Description', 'vc:1024'],
      ['CreateAt', 'bigint'],
      ['UpdateAt', 'bigint'],
      ['DeleteAt', 'bigint'],
      ['Permissions', 'longtext'],
      ['SchemeManaged', 'bool'],
      ['BuiltIn', 'bool'],
    ],
    ['Id'],
    { unique: [['Name']] },
  ),
  table(
    'Schemes',
    [
      ['Id', 'id', 'notnull'],
      ['Name', 'vc:64'],
      ['DisplayName', 'vc:128'],
      ['Description', 'vc:1024'],
      ['CreateAt', 'bigint'],
      ['UpdateAt', 'bigint'],
      ['DeleteAt', 'bigint'],
      ['Scope', 'vc:32'],
      ['DefaultTeamAdminRole', 'vc:64'],
      ['DefaultTeamUserRole', 'vc:64'],
      ['DefaultChannelAdminRole', 'vc:64'],
      ['DefaultChannelUserRole', 'vc:64'],
      ['DefaultTeamGuestRole', 'vc:64'],
      ['DefaultChannelGuestRole', 'vc:64'],
      ['DefaultPlaybookAdminRole', 'vc:64'],
      ['DefaultPlaybookMemberRole', 'vc:64'],
      ['DefaultRunAdminRole', 'vc:64'],
      ['DefaultRunMemberRole', 'vc:64'],
    ],
    ['Id'],
    { unique: [['Name']] },
  ),
  table(
    'Status',
    [
      ['UserId', 'id', 'notnull'],
      ['Status', 'vc:32'],
      ['Manual', 'bool'],
      ['LastActivityAt', 'bigint'],
      ['DNDEndTime', 'bigint'],
      ['PrevStatus', 'vc:32'],
    ],
    ['UserId'],
    { indexes: [['Status']] },
  ),
  table(
    'Jobs',
    [
      ['Id', 'id', 'notnull'],
      ['Type', 'vc:32'],
      ['Priority', 'bigint'],
      ['CreateAt', 'bigint'],
      ['StartAt', 'bigint'],
      ['LastActivityAt', 'bigint'],
      ['Status', 'vc:32'],
      ['Progress', 'bigint'],
      ['Data', 'json'],
    ],
    ['Id'],
    { indexes: [['Type']] },
  ),
  table(
    'Drafts',
    [
      ['CreateAt', 'bigint'],
      ['UpdateAt', 'bigint'],
      ['DeleteAt', 'bigint'],
      ['UserId', 'id', 'notnull'],
      ['ChannelId', 'id', 'notnull'],
      ['RootId', 'vc:26', 'notnull'],
      ['Message', 'msg'],
      ['Props', 'text'],
      ['FileIds', 'vc:300'],
      ['Priority', 'text'],
    ],
    ['UserId', 'ChannelId', 'RootId'],
  ),
  table(
    'PluginKeyValueStore',
    [
      ['PluginId', 'vc:190', 'notnull'],
      ['PKey', 'vc:150', 'notnull'],
      ['PValue', 'blob'],
      ['ExpireAt', 'bigint'],
    ],
    ['PluginId', 'PKey'],
  ),
  table(
    'db_migrations',
    [
      ['Version', 'bigint', 'notnull'],
      ['Name', 'vc:64', 'notnull'],
    ],
    ['Version'],
  ),
  table(
    'Configurations',
    [
      ['Id', 'vc:26', 'notnull'],
      ['Value', 'mediumtext', 'notnull'],
      ['CreateAt', 'bigint', 'notnull'],
      ['Active', 'bool'],
      ['SHA', 'vc:64'],
    ],
    ['Id'],
    { unique: [['Active']], configStore: true },
  ),
  table(
    'ConfigurationFiles',
    [
      ['Name', 'vc:64', 'notnull'],
      ['Data', 'mediumtext', 'notnull'],
      ['CreateAt', 'bigint', 'notnull'],
      ['UpdateAt', 'bigint', 'notnull'],
    ],
    ['Name'],
    { configStore: true },
  ),
  table(
    'db_config_migrations',
    [
      ['Version', 'bigint', 'notnull'],
      ['Name', 'vc:64', 'notnull'],
    ],
    ['Version'],
    { configStore: true },
  ),
];

/** The table's name as it exists in a `driver` database (e.g. 'Posts' → 'posts' on PostgreSQL). */
export function tableName(driver: SqlDriver, pascal: string): string {
  return driver === 'postgres' ? pascal.toLowerCase() : pascal;
}

/** A column name as written in SQL for `driver` (PostgreSQL lower-case unquoted; MySQL back-quoted, `Trigger` is reserved). */
export function colSql(driver: SqlDriver, pascal: string): string {
  return driver === 'postgres' ? pascal.toLowerCase() : `\`${pascal}\``;
}

/** A table name as written in SQL for `driver`. */
export function tableSql(driver: SqlDriver, pascal: string): string {
  return driver === 'postgres' ? pascal.toLowerCase() : `\`${pascal}\``;
}

function typeSql(driver: SqlDriver, t: ColType): string {
  const pg = driver === 'postgres';
  if (t === 'id') return 'varchar(26)';
  if (t.startsWith('vc:')) return `varchar(${t.slice(3)})`;
  if (t.startsWith('enum:')) {
    const name = t.slice(5);
    return pg ? name : `enum(${(ENUMS[name] ?? []).map((v) => `'${v}'`).join(',')})`;
  }
  switch (t) {
    case 'text':
      return 'text';
    case 'mediumtext':
      return pg ? 'text' : 'mediumtext';
    case 'longtext':
      return pg ? 'text' : 'longtext';
    case 'msg':
      return pg ? 'varchar(65535)' : 'text';
    case 'bigint':
      return 'bigint';
    case 'int':
      return pg ? 'integer' : 'int';
    case 'bool':
      return pg ? 'boolean' : 'tinyint(1)';
    case 'json':
      return pg ? 'jsonb' : 'json';
    case 'blob':
      return pg ? 'bytea' : 'mediumblob';
    default:
      throw new Error(`unknown column type ${t}`);
  }
}

/** The tables a sandbox gets (config-store tables only with configInDatabase). */
export function sandboxTables(configInDatabase: boolean): TableDef[] {
  return TABLES.filter((t) => configInDatabase || !t.configStore);
}

/** CREATE TYPE / CREATE TABLE statements (no secondary indexes) for `driver`. */
export function createTablesSql(driver: SqlDriver, configInDatabase: boolean): string[] {
  const out: string[] = [];
  if (driver === 'postgres') {
    for (const [name, values] of Object.entries(ENUMS)) {
      out.push(`CREATE TYPE ${name} AS ENUM (${values.map((v) => `'${v}'`).join(', ')})`);
    }
  }
  for (const t of sandboxTables(configInDatabase)) {
    const cols = t.cols.map(
      ([n, ty, nn]) => `  ${colSql(driver, n)} ${typeSql(driver, ty)}${nn || t.pk.includes(n) ? ' NOT NULL' : ''}`,
    );
    cols.push(`  PRIMARY KEY (${t.pk.map((c) => colSql(driver, c)).join(', ')})`);
    for (const u of t.unique ?? []) cols.push(`  UNIQUE (${u.map((c) => colSql(driver, c)).join(', ')})`);
    const suffix = driver === 'mysql' ? ' ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci' : '';
    out.push(`CREATE TABLE ${tableSql(driver, t.name)} (\n${cols.join(',\n')}\n)${suffix}`);
  }
  return out;
}

/** CREATE INDEX statements, named like Mattermost's idx_<table>_<cols>. */
export function createIndexesSql(driver: SqlDriver, configInDatabase: boolean): string[] {
  const out: string[] = [];
  for (const t of sandboxTables(configInDatabase)) {
    const defs = (t.indexes ?? []).map((cols) => ({
      name: `idx_${t.name.toLowerCase()}_${cols.map((c) => c.toLowerCase()).join('_')}`.slice(0, 63),
      cols: cols.map((c) => colSql(driver, c)).join(', '),
    }));
    if (defs.length === 0) continue;
    if (driver === 'mysql') {
      // One ALTER builds all of a table's indexes in a single scan of the clustered index.
      out.push(
        `ALTER TABLE ${tableSql(driver, t.name)} ${defs.map((x) => `ADD INDEX ${x.name} (${x.cols})`).join(', ')}`,
      );
    } else {
      for (const x of defs) out.push(`CREATE INDEX ${x.name} ON ${tableSql(driver, t.name)} (${x.cols})`);
    }
  }
  return out;
}
