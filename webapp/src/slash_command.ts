// The /backup slash command in the web app (registerSlashCommandWillBePostedHook).
// - `/backup restore <id>` opens the guarded restore modal and swallows the command;
// - `/backup settings` opens the plugin's System Console page;
// - everything else passes through unchanged, so the server-side command registered by
//   `mm-backup connect` answers (mobile apps, which run no plugin hooks, behave the same).
// When /backup is not registered on the server in this team, `status`, `list` and `now`
// are answered from the sidecar by the page itself instead of failing as "command not found".

import manifest from 'src/manifest';
import type {SlashCommandArgs, SlashCommandResult} from 'src/types/mattermost-webapp';

/** The trigger, without the leading slash. */
export const BACKUP_TRIGGER = 'backup';

/** The System Console page Mattermost creates for every installed plugin. */
export const SETTINGS_PATH = `/admin_console/plugins/plugin_${manifest.id}`;

/** A parsed `/backup ...` command. */
export type BackupCommand = {
    /** The first word after the trigger, lower-cased; '' for a bare `/backup`. */
    subcommand: string;

    /** The remaining words, case kept. */
    args: string[];
};

/**
 * Parses a message typed in the message box. Returns null unless it is the /backup
 * command (trigger compared case-insensitively, as the server does for triggers).
 */
export function parseBackupCommand(message: string): BackupCommand | null {
    const words = message.trim().split(/\s+/);
    if (words[0]?.toLowerCase() !== `/${BACKUP_TRIGGER}`) {
        return null;
    }
    const [subcommand = '', ...args] = words.slice(1);
    return {subcommand: subcommand.toLowerCase(), args};
}

/** What the hook needs from its surroundings; injected so tests run without a webapp. */
export type SlashCommandDeps = {
    navigate: (path: string) => void;
    openRestore?: (snapshotId: string) => void;

    /** Whether /backup is registered on the server in the team; undefined = unknown (pass through). */
    serverCommandExists?: (teamId: string) => Promise<boolean | undefined>;

    /** Answers a subcommand from the sidecar in the browser; null when it cannot. */
    answerLocally?: (command: BackupCommand) => Promise<boolean>;
};

/**
 * Builds the hook for registerSlashCommandWillBePostedHook. It returns `{}` to swallow
 * the commands it handles (otherwise the server would answer "command not found") and
 * `{message, args}` unchanged for everything else.
 */
export function makeSlashCommandHook(deps: SlashCommandDeps) {
    return async (message: string, args: SlashCommandArgs): Promise<SlashCommandResult> => {
        const command = parseBackupCommand(message);
        if (command?.subcommand === 'settings') {
            deps.navigate(SETTINGS_PATH);
            return {};
        }
        // `restore --at …` (a point in time) is the server's: only a snapshot id opens the modal.
        const id = command?.args[0];
        if (
            command?.subcommand === 'restore' &&
            command.args.length === 1 &&
            id &&
            !id.startsWith('-') &&
            deps.openRestore
        ) {
            deps.openRestore(id);
            return {};
        }
        if (command && deps.serverCommandExists && deps.answerLocally) {
            const exists = await deps.serverCommandExists(args.team_id).catch(() => undefined);
            if (exists === false && (await deps.answerLocally(command))) {
                return {};
            }
        }
        return {message, args};
    };
}
