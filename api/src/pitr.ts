/** GET /v1/pitr/plan (since API 4): what enabling or disabling physical mode would check and change. */
import {z} from 'zod';

/** One check of `pitr enable`: `failed` refuses it, `warning` is said, `skipped` follows a failure. */
export const pitrPlanCheck = z.object({
    id: z.string(),
    title: z.string(),
    status: z.enum(['ok', 'warning', 'failed', 'skipped']),
    detail: z.string(),
    hint: z.string().optional(),
});
export type PitrPlanCheck = z.infer<typeof pitrPlanCheck>;

/** A PostgreSQL setting enable changes; `restart`: only a restart of PostgreSQL applies it. */
export const pitrSettingChange = z.object({name: z.string(), from: z.string(), to: z.string(), restart: z.boolean()});

export const pitrPlan = z.object({
    /** off, or the state file's phase: enabling (waiting for a restart), enabled, disabling (waiting for a restart). */
    phase: z.enum(['off', 'enabling', 'enabled', 'disabling']),
    /** No check failed: enable can run (with the restart only if `restart_refused` is false). */
    ready: z.boolean(),
    checks: z.array(pitrPlanCheck),
    changes: z.array(pitrSettingChange),
    /** Some change takes effect only when PostgreSQL restarts. */
    restart_needed: z.boolean(),
    /** Other settings already waiting for a restart: enable refuses to restart PostgreSQL meanwhile. */
    other_pending_restart: z.array(z.string()),
    postgres_version: z.string().nullable(),
    pgbackrest_version: z.string().nullable(),
    stanza: z.string(),
    /** pgBackRest's repository: a directory, or s3://bucket/prefix. */
    repository: z.string(),
    config_file: z.string(),
    /** What disable puts back; null when physical mode was not enabled here. */
    disable: z
        .object({
            reverts: z.array(z.object({name: z.string(), to: z.string().nullable()})),
            restart_needed: z.boolean(),
        })
        .nullable(),
});
export type PitrPlan = z.infer<typeof pitrPlan>;
