/** What the HTTP layer needs from the running sidecar; implemented by service/sidecar.ts. */
import type { ConnectReport, ConnectRequest, ConnectState, Settings, SettingsPatch, Status } from '@mm-backup/api';
import type { Config } from '../config/schema';
import type { EngineContext } from '../jobs/context';
import type { MmAuth } from '../mattermost/client';
import type { OperationJobs } from '../operations';
import type { PitrEnablePlan } from '../operations/pitr_enable_plan';
import type { RestoreAtDescription } from '../operations/restore_at_describe';
import type { RestoreConfirmations } from '../operations/restore_confirmations';
import type { SessionAuth } from './auth';
import type { RouteLog } from './typed_route';

export interface SlashRequest {
  form: Record<string, string>;
  authorization?: string;
}

export interface SidecarApi {
  readonly version: string;
  /** Where the HTTP layer reports what only the sidecar's operator can fix (an answer its schema refuses). */
  readonly log: RouteLog;
  config(): Config;
  ec(): EngineContext;
  readonly jobs: OperationJobs;
  readonly auth: SessionAuth;
  readonly restores: RestoreConfirmations;
  status(): Promise<Status>;
  metrics(): Promise<string>;
  /** Describes a restore of `include` (all components when absent) for a confirmation: overwrites, version check. */
  describeRestore(
    snapshotId: string,
    include?: string[],
  ): Promise<{ snapshotId: string; overwrites: string[]; versionCheck: string }>;
  /** Describes a point-in-time restore (physical mode) for a confirmation, by `restore --at`'s own checks. */
  describeRestoreAt(at: string): Promise<RestoreAtDescription>;
  /** What `pitr enable` would check and change (and disable put back), read without changing anything. */
  planPitr(): Promise<PitrEnablePlan>;
  readSettings(): Settings;
  /** Validates, opens the new engine context, writes the file, applies; on any failure nothing changed. */
  writeSettings(patch: SettingsPatch): Promise<Settings>;
  /** Connects the bot and /backup; `session` is the calling admin's, used to prove command tokens. */
  connect(body: ConnectRequest, session: MmAuth): Promise<ConnectReport>;
  connectState(): Promise<ConnectState>;
  slash(req: SlashRequest): Promise<{ response_type: 'ephemeral' | 'in_channel'; text: string }>;
}
