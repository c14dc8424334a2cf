/** Request bodies and parameters, validated strictly: unknown fields and wrong types are 400s. */
import { z } from 'zod';
import { COMPONENT_IDS } from '../config/schema';
import { SNAPSHOT_ID } from '../manifest/manifest';

export const snapshotIdParam = z.union([z.literal('latest'), z.string().regex(SNAPSHOT_ID, 'is not a snapshot id')]);
export const jobIdParam = z.string().regex(/^[a-z0-9]{26}$/, 'is not a job id');

export const startJobBody = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('backup'), mode: z.enum(['offline', 'online']).optional(), exclude: z.array(z.enum(COMPONENT_IDS)).max(20).optional() }),
  z.strictObject({ kind: z.literal('verify'), snapshot_id: snapshotIdParam.default('latest'), deep: z.boolean().default(false) }),
  z.strictObject({ kind: z.literal('prune'), dry_run: z.boolean().default(false) }),
  z.strictObject({ kind: z.literal('replicate') }),
  z.strictObject({ kind: z.literal('restore'), confirmation_token: z.string().regex(/^[a-f0-9]{32}$/, 'is not a confirmation token') }),
]);

/** GET /v1/components: every component kind, in backup order (checked before it is sent). */
export const componentsResponse = z.strictObject({
  components: z.array(z.strictObject({
    id: z.enum(COMPONENT_IDS), title: z.string(), description: z.string(), store: z.enum(['database', 'files']), location: z.string(),
  })),
});

export const prepareRestoreBody = z.strictObject({
  snapshot_id: snapshotIdParam,
  components: z.array(z.enum(COMPONENT_IDS)).max(20).optional(),
});

const mmId = z.string().regex(/^[a-z0-9]{26}$/, 'is not a Mattermost id');
export const connectBody = z.strictObject({
  bot_token: z.string().regex(/^[a-z0-9]{26}$/, 'is not a Mattermost access token').optional(),
  admin_token: z.string().regex(/^[a-z0-9]{26}$/, 'is not a Mattermost access token').optional(),
  teams: z.array(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/)).max(200).optional(),
  /** /backup commands the System Console page registered with the admin's own session. */
  command_tokens: z.array(z.strictObject({
    team_id: mmId, team_name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/), command_id: mmId,
    token: z.string().regex(/^[a-z0-9]{26}$/, 'is not a command token'),
  })).max(200).optional(),
}).refine((b) => !!b.bot_token !== !!b.admin_token, 'give exactly one of bot_token or admin_token')
  .refine((b) => !b.command_tokens || !!b.bot_token, 'command_tokens come with bot_token (with admin_token the sidecar registers /backup itself)');

export const settingsBody = z.strictObject({
  schedule: z.strictObject({
    backup: z.string().max(100).nullable().optional(),
    verify: z.string().max(100).nullable().optional(),
    timezone: z.string().max(64).optional(),
    prune_after_backup: z.boolean().optional(),
  }).optional(),
  retention: z.strictObject({
    keep_last: z.number().int().min(1).max(1000).optional(),
    keep_daily: z.number().int().min(0).max(1000).optional(),
    keep_weekly: z.number().int().min(0).max(1000).optional(),
    keep_monthly: z.number().int().min(0).max(1000).optional(),
  }).optional(),
  backup: z.strictObject({
    mode: z.enum(['offline', 'online']).optional(),
    exclude: z.array(z.enum(COMPONENT_IDS)).max(20).optional(),
  }).optional(),
  notify: z.strictObject({
    successes: z.enum(['each', 'daily', 'none']).optional(),
    daily_summary_at: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM').optional(),
  }).optional(),
  status_channel: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}\/[a-z0-9][a-z0-9_-]{0,63}$/, 'must be team-name/channel-name').nullable().optional(),
});
