/** GET and POST /v1/connect: the bot, the status channel and /backup in each team. */
import {z} from 'zod';

const token = (what: string) => z.string().regex(/^[a-z0-9]{26}$/, `is not a Mattermost ${what}`);
const teamName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'is not a team name');

/** A /backup command the page registered with the admin's own session, handed to the sidecar with the bot token. */
export const commandToken = z.strictObject({
    team_id: token('id'),
    team_name: teamName,
    command_id: token('id'),
    token: token('command token'),
});
export type CommandToken = z.infer<typeof commandToken>;

export const connectRequest = z
    .strictObject({
        bot_token: token('access token').optional(),
        admin_token: token('access token').optional(),
        teams: z.array(teamName).max(200).optional(),
        command_tokens: z.array(commandToken).max(200).optional(),
    })
    .refine((b) => !!b.bot_token !== !!b.admin_token, 'give exactly one of bot_token or admin_token')
    .refine(
        (b) => !b.command_tokens || !!b.bot_token,
        'command_tokens come with bot_token (with admin_token the sidecar registers /backup itself)',
    );
export type ConnectRequest = z.input<typeof connectRequest>;

export const connectReport = z.object({
    bot_user_id: z.string().optional(),
    bot_username: z.string().optional(),
    status_channel: z.string().optional(),
    commands: z.array(
        z.object({team: z.string(), status: z.enum(['created', 'updated', 'failed']), error: z.string().optional()}),
    ),
    problems: z.array(z.string()),
});
export type ConnectReport = z.infer<typeof connectReport>;

export const connectState = z.object({
    connected: z.boolean(),
    bot_user_id: z.string().nullable(),
    connected_at: z.string().nullable(),
    status_channel: z.string().nullable(),
    /** Where Mattermost must send /backup. */
    slash_url: z.string().optional(),
    teams: z.array(z.string()),
    problems: z.array(z.string()),
});
export type ConnectState = z.infer<typeof connectState>;
