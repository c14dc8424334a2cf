/** What the HTTP layer needs from the running sidecar; implemented by service/sidecar.ts. */
import type { Config } from '../config/schema';
import type { EngineContext } from '../jobs/context';
import type { MmAuth } from '../mattermost/client';
import type { OperationJobs } from '../operations';
import type { RestoreConfirmations } from '../operations/restore_confirmations';
import type { SessionAuth } from './auth';
import type { z } from 'zod';
import type { connectBody, settingsBody } from './schemas';

export interface SlashRequest {
  form: Record<string, string>;
  authorization?: string;
}

export interface SidecarApi {
  readonly version: string;
  config(): Config;
  ec(): EngineContext;
  readonly jobs: OperationJobs;
  readonly auth: SessionAuth;
  readonly restores: RestoreConfirmations;
  status(): Promise<Record<string, unknown>>;
  metrics(): Promise<string>;
  /** Describes a restore (overwrites, version check) for a confirmation. */
  describeRestore(snapshotId: string, components?: string[]): Promise<{ snapshotId: string; overwrites: string[]; versionCheck: string }>;
  readSettings(): Record<string, unknown>;
  writeSettings(patch: z.infer<typeof settingsBody>): Promise<Record<string, unknown>>;
  /** Connects the bot and /backup; `session` is the calling admin's, used to prove command tokens. */
  connect(body: z.infer<typeof connectBody>, session: MmAuth): Promise<Record<string, unknown>>;
  connectState(): Promise<Record<string, unknown>>;
  slash(req: SlashRequest): Promise<{ response_type: 'ephemeral' | 'in_channel'; text: string }>;
}
