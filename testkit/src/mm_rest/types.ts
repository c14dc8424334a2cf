/**
 * Wire shapes of the Mattermost objects the REST stand-in keeps, as the real server serializes
 * them (model/*.go JSON tags). Stored objects are the wire objects; sanitizing happens on output.
 */

export interface MmUserRecord {
  id: string;
  create_at: number;
  update_at: number;
  delete_at: number;
  username: string;
  auth_service: string;
  email: string;
  nickname: string;
  first_name: string;
  last_name: string;
  position: string;
  roles: string;
  locale: string;
  is_bot: boolean;
  bot_description?: string;
  last_password_update: number;
  timezone: { automaticTimezone: string; manualTimezone: string; useAutomaticTimezone: string };
  notify_props: Record<string, string>;
  props: Record<string, string>;
  disable_welcome_email: boolean;
}

export interface MmTeamRecord {
  id: string;
  create_at: number;
  update_at: number;
  delete_at: number;
  display_name: string;
  name: string;
  description: string;
  email: string;
  type: 'O' | 'I';
  company_name: string;
  allowed_domains: string;
  invite_id: string;
  allow_open_invite: boolean;
  last_team_icon_update: number;
  group_constrained: boolean;
  cloud_limits_archived: boolean;
}

export interface MmChannelRecord {
  id: string;
  create_at: number;
  update_at: number;
  delete_at: number;
  team_id: string;
  type: 'O' | 'P';
  display_name: string;
  name: string;
  header: string;
  purpose: string;
  last_post_at: number;
  total_msg_count: number;
  extra_update_at: number;
  creator_id: string;
  total_msg_count_root: number;
  last_root_post_at: number;
}

export interface MmPostRecord {
  id: string;
  create_at: number;
  update_at: number;
  edit_at: number;
  delete_at: number;
  is_pinned: boolean;
  user_id: string;
  channel_id: string;
  root_id: string;
  original_id: string;
  message: string;
  type: string;
  props: Record<string, unknown>;
  hashtags: string;
  file_ids?: string[];
  pending_post_id: string;
  reply_count: number;
  last_reply_at: number;
  participants: null;
  has_reactions?: boolean;
  metadata: Record<string, unknown>;
}

/** A post as a user sees it in the channel: the current version plus its earlier versions (oldest first). */
export interface SeenPost extends MmPostRecord {
  history: Array<{ message: string; props: Record<string, unknown>; update_at: number }>;
}

export interface MmCommandRecord {
  id: string;
  token: string;
  create_at: number;
  update_at: number;
  delete_at: number;
  creator_id: string;
  team_id: string;
  trigger: string;
  method: 'P' | 'G';
  username: string;
  icon_url: string;
  auto_complete: boolean;
  auto_complete_desc: string;
  auto_complete_hint: string;
  display_name: string;
  description: string;
  url: string;
  plugin_id: string;
}

export interface MmBotRecord {
  user_id: string;
  username: string;
  display_name: string;
  description: string;
  owner_id: string;
  create_at: number;
  update_at: number;
  delete_at: number;
}

export interface MmAccessTokenRecord {
  id: string;
  token: string;
  user_id: string;
  description: string;
  is_active: boolean;
}

export interface MmSession {
  id: string;
  token: string;
  csrf: string;
  user_id: string;
  create_at: number;
  expires_at: number;
  /** 'session' from login, 'access_token' from a personal or bot token. */
  kind: 'session' | 'access_token';
}

/** A delayed-response hook (commandwebhooks row): 30 minutes, 5 uses. */
export interface MmCommandHook {
  id: string;
  command_id: string;
  user_id: string;
  channel_id: string;
  root_id: string;
  create_at: number;
  use_count: number;
}

/** The JSON a slash-command integration answers with (snake_case, as the server reads it). */
export interface CommandResponse {
  response_type?: string;
  text?: string;
  username?: string;
  channel_id?: string;
  icon_url?: string;
  type?: string;
  props?: Record<string, unknown>;
  goto_location?: string;
  trigger_id?: string;
  skip_slack_parsing?: boolean;
  attachments?: unknown[];
  extra_responses?: CommandResponse[];
}

/** The slice of Mattermost's config the stand-in reads and GET /api/v4/config returns. */
export interface MmConfigSubset {
  ServiceSettings: {
    SiteURL: string;
    ListenAddress: string;
    EnableCommands: boolean;
    EnableBotAccountCreation: boolean;
    EnableUserAccessTokens: boolean;
    AllowedUntrustedInternalConnections: string;
    PostEditTimeLimit: number;
    ExperimentalStrictCSRFEnforcement: boolean;
    EnablePostUsernameOverride: boolean;
    EnablePostIconOverride: boolean;
    OutgoingIntegrationRequestsTimeout: number;
    EnableDeveloper: boolean;
    EnableOnlyAdminIntegrations: boolean;
    ReadTimeout: number;
    WriteTimeout: number;
  };
  TeamSettings: { SiteName: string; MaxUsersPerTeam: number };
  SqlSettings: {
    DriverName: string;
    DataSource: string;
    DataSourceReplicas: string[];
    AtRestEncryptKey: string;
    MaxIdleConns: number;
    MaxOpenConns: number;
  };
  FileSettings: {
    DriverName: string;
    Directory: string;
    PublicLinkSalt: string;
    AmazonS3SecretAccessKey: string;
    MaxFileSize: number;
  };
  EmailSettings: { SMTPPassword: string; SMTPServer: string; SMTPPort: string };
  PluginSettings: { Enable: boolean; EnableUploads: boolean; Directory: string; ClientDirectory: string };
  LogSettings: { EnableConsole: boolean; ConsoleLevel: string; EnableFile: boolean; FileLocation: string };
}

/** Section-wise partial config, as accepted by createMattermostRest. */
export type MmConfigInput = { [S in keyof MmConfigSubset]?: Partial<MmConfigSubset[S]> };
