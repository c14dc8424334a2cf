/**
 * GET and PUT /v1/settings: the part of the sidecar's config the page may read and change.
 * The patch schema is the one validation of a settings change's shape (the page runs it
 * before sending, the sidecar on receipt); the sidecar then checks the whole resulting
 * config (cron expressions against the time zone) and answers 400 with `errors` by path.
 */
import {z} from 'zod';

import {backupMode, componentId} from './common';

const HH_MM = /^([01]\d|2[0-3]):[0-5]\d$/;
const CHANNEL = /^[a-z0-9][a-z0-9_-]{0,63}\/[a-z0-9][a-z0-9_-]{0,63}$/;

/** True for an IANA time zone this runtime knows (browser and Node share the ICU data). */
export function isTimeZone(tz: string): boolean {
    try {
        // Throws a RangeError for a zone the runtime does not know.
        return tz.length > 0 && new Intl.DateTimeFormat('en', {timeZone: tz}).resolvedOptions().timeZone !== '';
    } catch {
        return false;
    }
}

/** A schedule: a standard 5-field cron expression (the sidecar also checks that it can fire), or null for none. */
const cron = z
    .string()
    .max(100)
    .refine(
        (v) => v.trim().split(/\s+/).filter(Boolean).length === 5,
        'must be a cron expression with 5 fields (minute hour day month weekday), e.g. "0 3 * * *"',
    );
const count = (min: number) =>
    z.number().int('must be a whole number').min(min, `must be at least ${min}`).max(1000, 'must be at most 1000');

/** PUT /v1/settings takes any subset; null removes a schedule or the status channel. */
export const settingsPatch = z.strictObject({
    schedule: z
        .strictObject({
            backup: cron.nullable().optional(),
            verify: cron.nullable().optional(),
            /** Physical backups (`schedule.pitrBackup` in the config file, docs/pitr.md). Since API 3. */
            pitr_backup: cron.nullable().optional(),
            timezone: z
                .string()
                .max(64)
                .refine(isTimeZone, 'must be an IANA time zone such as UTC or Europe/Berlin')
                .optional(),
            prune_after_backup: z.boolean().optional(),
        })
        .optional(),
    retention: z
        .strictObject({
            keep_last: count(1).optional(),
            keep_daily: count(0).optional(),
            keep_weekly: count(0).optional(),
            keep_monthly: count(0).optional(),
        })
        .optional(),
    backup: z
        .strictObject({
            mode: backupMode.optional(),
            /** Copy the snapshot off-site after each backup (offsite.mode "replicate"). Since API 2. */
            replicate_after: z.boolean().optional(),
            exclude: z
                .array(componentId)
                .max(20)
                .refine(
                    (ids) => !ids.includes('database'),
                    'cannot hold database: a backup without the database cannot be restored',
                )
                .optional(),
        })
        .optional(),
    notify: z
        .strictObject({
            successes: z.enum(['each', 'daily', 'none']).optional(),
            daily_summary_at: z.string().regex(HH_MM, 'must be HH:MM').optional(),
        })
        .optional(),
    status_channel: z
        .string()
        .regex(CHANNEL, 'must be team-name/channel-name (URL names, lower-case)')
        .nullable()
        .optional(),
});
export type SettingsPatch = z.input<typeof settingsPatch>;

/** GET /v1/settings, and the answer to PUT: the settings now in force (never a secret). */
export const settings = z.object({
    schedule: z.object({
        backup: z.string().nullable(),
        verify: z.string().nullable(),
        /** Absent from a sidecar that does not know it yet. */
        pitr_backup: z.string().nullable().optional(),
        timezone: z.string(),
        prune_after_backup: z.boolean(),
    }),
    retention: z.object({
        keep_last: z.number(),
        keep_daily: z.number(),
        keep_weekly: z.number(),
        keep_monthly: z.number(),
    }),
    // replicate_after: absent from a sidecar before API 2.
    backup: z.object({mode: backupMode, replicate_after: z.boolean().optional(), exclude: z.array(componentId)}),
    notify: z.object({successes: z.enum(['each', 'daily', 'none']), daily_summary_at: z.string()}),
    status_channel: z.string().nullable(),
    /** Read-only: where the sidecar reaches Mattermost, and how browsers and Mattermost reach it. */
    mattermost_url: z.string().optional(),
    listen: z.object({public_url: z.string().nullable(), allowed_origins: z.array(z.string())}).optional(),
});
export type Settings = z.infer<typeof settings>;

/** The dotted paths of the writable settings (`retention.keep_last`, ...), read off settingsPatch. */
export const SETTINGS_FIELDS: readonly string[] = leafPaths(settingsPatch);

function leafPaths(schema: z.ZodType, prefix: string[] = []): string[] {
    let s: z.ZodType = schema;
    while (s instanceof z.ZodOptional || s instanceof z.ZodNullable) {
        s = s.unwrap() as z.ZodType;
    }
    if (s instanceof z.ZodObject) {
        return Object.entries(s.shape as Record<string, z.ZodType>).flatMap(([k, v]) => leafPaths(v, [...prefix, k]));
    }
    return [prefix.join('.')];
}

/** The value at a dotted path of a nested object (undefined when a step is missing). */
export function valueAt(obj: unknown, path: string): unknown {
    let cur: unknown = obj;
    for (const k of path.split('.')) {
        if (typeof cur !== 'object' || cur === null) {
            return undefined;
        }
        cur = (cur as Record<string, unknown>)[k];
    }
    return cur;
}
