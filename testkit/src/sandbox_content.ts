/**
 * Word lists for sandbox rows. Deliberately full of things that break naive tooling: accents, CJK,
 * right-to-left text, emoji outside the BMP (need utf8mb4), quotes, backslashes, newlines, markdown.
 */

/** First halves of post messages; each comes with the hashtags it contains. */
export const MESSAGES_A: Array<[text: string, hashtags: string]> = [
  ['Good morning team 👋', ''],
  ['Déjà vu: the café ☕ machine is broken again', ''],
  ['日本語のメッセージです。よろしくお願いします', ''],
  ['Привет, команда! Релиз сегодня', ''],
  ['مرحبا بالجميع، الاجتماع في الساعة الثالثة', ''],
  ['🚀 Deploy finished in 3m 12s #release', '#release'],
  ['Can someone review PR #1234? It\'s "urgent"', ''],
  ['Zażółć gęślą jaźń — Polish pangram test', ''],
  ['Backslash test: C:\\Users\\mm\\Downloads and a tab\there', ''],
  ['Line one\nLine two\nLine three', ''],
  ['```js\nconst x = { a: 1 };\nconsole.log(x);\n```', ''],
  ['@channel standup in 5 minutes ⏰', ''],
  ['> quoted text\n\nreply below the quote', ''],
  ['| col A | col B |\n|---|---|\n| 1 | 2 |', ''],
  ['Ελληνικά: γειά σου κόσμε', ''],
  ['עברית: שלום עולם', ''],
  ['Incident #ops resolved ✅ root cause was DNS', '#ops'],
  ['I 💜 emoji 🎉🎊🥳 and flags 🇩🇪🇯🇵🇧🇷', ''],
  ['100% done; 50% tested; SELECT * FROM posts; -- not an injection', ''],
  ['Ünïcödé nörmälïzätïön: é vs e\u0301 (NFC vs NFD)', ''],
  ['**bold** _italic_ ~~strike~~ `code`', ''],
  ['https://example.com/path?query=1&other=2#frag', ''],
  ['中文消息：今天的会议改到下午', ''],
  ['한국어 메시지입니다', ''],
  ['Weekly #metrics: 99.95% uptime', '#metrics'],
  ['Thanks!', ''],
  ['ok', ''],
  ['Who broke the build? 😅', ''],
  ['Naïve résumé façade coöperate', ''],
  ['Tabs\tand  double  spaces', ''],
];

/** Second halves of post messages, combined with MESSAGES_A for more variety. */
export const MESSAGES_B: string[] = [
  '',
  'See you there.',
  'Let me know 🙏',
  '— sent from my phone',
  'Ciao!',
  'Merci beaucoup.',
  'ありがとう',
  '(edited)',
  ':+1:',
  'cc @sysadmin',
  'More in the thread ⬇️',
  'Danke schön',
  '¡Gracias!',
  'Спасибо',
  'شكرا',
  'Details: https://docs.example.com/runbook',
  '',
  '',
  '✔︎',
  'EOM',
];

/** ASCII first names for usernames, with display variants (accents, CJK) at the same index. */
export const FIRST_NAMES: Array<[ascii: string, display: string]> = [
  ['anna', 'Anna'],
  ['jose', 'José'],
  ['zoe', 'Zoë'],
  ['lukasz', 'Łukasz'],
  ['soren', 'Søren'],
  ['bjorn', 'Björn'],
  ['chloe', 'Chloé'],
  ['renee', 'Renée'],
  ['li', '李'],
  ['yuki', '由紀'],
  ['omar', 'عمر'],
  ['olga', 'Ольга'],
  ['francois', 'François'],
  ['agnes', 'Ágnes'],
  ['noah', 'Noah'],
  ['mia', 'Mia'],
  ['dmitri', 'Дмитрий'],
  ['ines', 'Inês'],
  ['kai', 'Kai'],
  ['sara', 'Sára'],
  ['thanh', 'Thành'],
  ['priya', 'प्रिया'],
  ['emma', 'Emma'],
];

/** ASCII last names for usernames, with display variants at the same index. */
export const LAST_NAMES: Array<[ascii: string, display: string]> = [
  ['muller', 'Müller'],
  ['garcia', 'García'],
  ['nowak', 'Nowák'],
  ['tanaka', '田中'],
  ['smith', 'Smith'],
  ['oconnor', "O'Connor"],
  ['nguyen', 'Nguyễn'],
  ['kowalski', 'Kowalski'],
  ['haddad', 'حداد'],
  ['ivanova', 'Иванова'],
  ['rossi', 'Rossi'],
  ['dubois', 'Dubois'],
  ['jensen', 'Jensen'],
  ['silva', 'Silva'],
  ['kim', '김'],
];

/** Job titles for Users.Position. */
export const POSITIONS = [
  'Engineer',
  'Product Manager',
  'Designer',
  'SRE',
  'Support',
  'CTO',
  '',
  'Data Scientist',
  'Ingénieure',
  'インターン',
];

/** Team display names and URL slugs (same index). */
export const TEAMS: Array<[display: string, slug: string]> = [
  ['Engineering', 'engineering'],
  ['Marketing & Sales', 'marketing'],
  ['Équipe Support', 'support'],
  ['開発チーム', 'dev-jp'],
  ['Ops 🚒', 'ops'],
  ['Research', 'research'],
];

/** Channel display names and slugs (same index). */
export const CHANNELS: Array<[display: string, slug: string]> = [
  ['Announcements 📣', 'announcements'],
  ['Random', 'random'],
  ['Général', 'general'],
  ['Dev Ops', 'devops'],
  ['Backend', 'backend'],
  ['Frontend', 'frontend'],
  ['お知らせ', 'oshirase'],
  ['Incidents 🔥', 'incidents'],
  ['Design', 'design'],
  ['Café ☕', 'cafe'],
  ['Releases', 'releases'],
  ['Off the record', 'off-the-record'],
];

/** Channel headers. */
export const HEADERS = [
  '',
  'Welcome! Read the [wiki](https://example.com/wiki) first 📚',
  'On-call: @anna.muller0',
  'Bienvenue à tous',
  '日本語OK',
];

/** Emoji names for reactions. */
export const EMOJI = ['+1', 'heart', 'smile', 'tada', 'rocket', 'eyes', 'white_check_mark', 'joy', 'pray', 'fire'];

/** Values for Users.Locale. */
export const LOCALES = ['en', 'en', 'de', 'fr', 'ja', 'es', 'pt-BR', 'ru'];

/** Status values. */
export const STATUSES = ['online', 'away', 'offline', 'dnd', 'offline', 'offline'];

/** Users.Timezone JSON values. */
export const TIMEZONES = [
  '{"automaticTimezone":"Europe/Berlin","manualTimezone":"","useAutomaticTimezone":"true"}',
  '{"automaticTimezone":"America/New_York","manualTimezone":"","useAutomaticTimezone":"true"}',
  '{"automaticTimezone":"","manualTimezone":"Asia/Tokyo","useAutomaticTimezone":"false"}',
];

/** Users.NotifyProps JSON. */
export const USER_NOTIFY_PROPS =
  '{"channel":"true","comments":"never","desktop":"mention","desktop_sound":"true","email":"true","first_name":"false","mention_keys":"","push":"mention","push_status":"away"}';

/** ChannelMembers.NotifyProps JSON. */
export const MEMBER_NOTIFY_PROPS =
  '{"desktop":"default","email":"default","ignore_channel_mentions":"default","mark_unread":"all","push":"default"}';

/** A bcrypt-shaped password hash (not the hash of anything useful). */
export const PASSWORD_HASH = '$2a$10$Y7n7m3kZ0cZQ5mWJk3f0eO5m9u2mL2y9sQ0yq8v6m1yJt2l9V9B3C';

/** Built-in role names with plausible permission lists. */
export const ROLES: Array<[name: string, displayName: string, permissions: string]> = [
  [
    'system_admin',
    'authentication.roles.global_admin.name',
    'sysconsole_read_about_edition_and_license manage_system manage_roles create_team manage_oauth manage_slash_commands manage_others_slash_commands create_bot manage_bots manage_others_bots read_bots manage_jobs create_post_ephemeral edit_others_posts delete_others_posts manage_team manage_public_channel_members manage_private_channel_members',
  ],
  [
    'system_user',
    'authentication.roles.global_user.name',
    'create_team create_direct_channel create_group_channel list_public_teams join_public_teams view_members create_emojis delete_emojis create_custom_group',
  ],
  ['system_guest', 'authentication.roles.global_guest.name', 'create_direct_channel create_group_channel'],
  [
    'system_user_access_token',
    'authentication.roles.system_user_access_token.name',
    'create_user_access_token read_user_access_token revoke_user_access_token',
  ],
  ['system_post_all', 'authentication.roles.system_post_all.name', 'create_post use_channel_mentions'],
  [
    'system_post_all_public',
    'authentication.roles.system_post_all_public.name',
    'create_post_public use_channel_mentions',
  ],
  [
    'system_read_only_admin',
    'authentication.roles.system_read_only_admin.name',
    'sysconsole_read_about_edition_and_license sysconsole_read_reporting_site_statistics sysconsole_read_environment_database',
  ],
  [
    'system_manager',
    'authentication.roles.system_manager.name',
    'sysconsole_read_environment_database sysconsole_write_environment_database manage_jobs',
  ],
  [
    'system_user_manager',
    'authentication.roles.system_user_manager.name',
    'sysconsole_read_user_management_users manage_team_roles',
  ],
  [
    'team_admin',
    'authentication.roles.team_admin.name',
    'edit_others_posts remove_user_from_team manage_team import_team manage_team_roles manage_channel_roles manage_others_outgoing_webhooks manage_slash_commands manage_others_slash_commands manage_incoming_webhooks manage_outgoing_webhooks delete_post delete_others_posts convert_public_channel_to_private',
  ],
  [
    'team_user',
    'authentication.roles.team_user.name',
    'list_team_channels join_public_channels read_public_channel view_team create_public_channel create_private_channel invite_user add_user_to_team',
  ],
  ['team_guest', 'authentication.roles.team_guest.name', 'view_team'],
  ['team_post_all', 'authentication.roles.team_post_all.name', 'create_post use_channel_mentions'],
  ['team_post_all_public', 'authentication.roles.team_post_all_public.name', 'create_post_public use_channel_mentions'],
  [
    'channel_admin',
    'authentication.roles.channel_admin.name',
    'manage_channel_roles use_group_mentions manage_public_channel_banner manage_private_channel_banner',
  ],
  [
    'channel_user',
    'authentication.roles.channel_user.name',
    'read_channel add_reaction remove_reaction manage_public_channel_members upload_file get_public_link create_post use_channel_mentions use_slash_commands manage_public_channel_properties delete_public_channel manage_private_channel_properties delete_private_channel manage_private_channel_members delete_post edit_post',
  ],
  [
    'channel_guest',
    'authentication.roles.channel_guest.name',
    'read_channel add_reaction remove_reaction upload_file edit_post create_post use_channel_mentions',
  ],
  [
    'playbook_admin',
    'playbook_admin',
    'playbook_public_manage_members playbook_public_manage_roles playbook_public_manage_properties playbook_private_manage_members',
  ],
  [
    'playbook_member',
    'playbook_member',
    'playbook_public_view playbook_public_manage_members playbook_public_manage_properties run_create',
  ],
  ['run_admin', 'run_admin', 'run_manage_members run_manage_properties'],
  ['run_member', 'run_member', 'run_view'],
];

/** Names for the first db_migrations rows (PostgreSQL numbering); later ones get generic names. */
export const MIGRATION_NAMES = [
  'create_teams',
  'create_team_members',
  'create_cluster_discovery',
  'create_command_webhooks',
  'create_compliances',
  'create_emojis',
  'create_user_groups',
  'create_group_members',
  'create_group_teams',
  'create_group_channels',
  'create_link_metadata',
  'create_commands',
  'create_incoming_webhooks',
  'create_outgoing_webhooks',
  'create_systems',
  'create_reactions',
  'create_roles',
  'create_schemes',
  'create_licenses',
  'create_posts',
  'create_product_notice_view_state',
  'create_sessions',
  'create_terms_of_service',
  'create_audits',
  'create_oauth_access_data',
  'create_preferences',
  'create_status',
  'create_tokens',
  'create_bots',
  'create_user_access_tokens',
  'create_remote_clusters',
  'create_sharedchannels',
  'create_sidebar_channels',
  'create_oauthauthdata',
  'create_sharedchannelattachments',
  'create_sharedchannelusers',
  'create_sharedchannelremotes',
  'create_jobs',
  'create_channel_member_history',
  'create_sidebar_categories',
  'create_upload_sessions',
  'create_threads',
  'thread_memberships',
  'create_user_terms_of_service',
  'create_plugin_key_value_store',
  'create_users',
  'create_file_info',
  'create_oauth_apps',
  'create_channels',
  'create_channelmembers',
  'create_msg_root_count',
  'create_public_channels',
  'create_retention_policies',
  'create_crt_channelmembership_count',
  'create_crt_thread_count_and_unreads',
  'upgrade_channels_v6.0',
  'upgrade_command_webhooks_v6.0',
  'upgrade_channelmembers_v6.0',
  'upgrade_users_v6.0',
  'upgrade_jobs_v6.0',
  'upgrade_link_metadata_v6.0',
  'upgrade_sessions_v6.0',
  'upgrade_threads_v6.0',
  'upgrade_status_v6.0',
  'upgrade_groupchannels_v6.0',
  'upgrade_posts_v6.0',
  'upgrade_channelmembers_v6.1',
  'upgrade_teammembers_v6.1',
  'upgrade_jobs_v6.1',
  'upgrade_cte_v6.1',
  'upgrade_sessions_v6.1',
  'upgrade_schemes_v6.3',
  'upgrade_plugin_key_value_store_v6.3',
  'upgrade_users_v6.3',
  'alter_upload_sessions_index',
  'upgrade_lastrootpostat',
  'create_users_type',
  'mfa_used_ts',
  'create_draft_table',
  'remove_component_from_drafts',
  'drafts_priority',
];
