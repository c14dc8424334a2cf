import {makeSlashCommandHook, parseBackupCommand, SETTINGS_PATH} from './slash_command';

const ARGS = {channel_id: 'channel1', team_id: 'team1', root_id: ''};

describe('parseBackupCommand', () => {
    it('parses the subcommand and its arguments', () => {
        expect(parseBackupCommand('/backup restore 20250101-abc --force')).toEqual({
            subcommand: 'restore',
            args: ['20250101-abc', '--force'],
        });
    });

    it('accepts a bare trigger, extra whitespace and any case', () => {
        expect(parseBackupCommand('/backup')).toEqual({subcommand: '', args: []});
        expect(parseBackupCommand('  /Backup   Settings  ')).toEqual({subcommand: 'settings', args: []});
    });

    it('returns null for other commands and plain messages', () => {
        expect(parseBackupCommand('/backups settings')).toBeNull();
        expect(parseBackupCommand('/echo /backup')).toBeNull();
        expect(parseBackupCommand('backup settings')).toBeNull();
        expect(parseBackupCommand('')).toBeNull();
    });
});

describe('makeSlashCommandHook', () => {
    function setup() {
        const visited: string[] = [];
        const hook = makeSlashCommandHook({navigate: (path) => visited.push(path)});
        return {hook, visited};
    }

    it('opens the plugin settings page for /backup settings and swallows the command', async () => {
        const {hook, visited} = setup();
        await expect(hook('/backup settings', ARGS)).resolves.toEqual({});
        expect(visited).toEqual(['/admin_console/plugins/plugin_mattermost-backup']);
        expect(SETTINGS_PATH).toBe('/admin_console/plugins/plugin_mattermost-backup');
    });

    it('passes every other message through unchanged', async () => {
        const {hook, visited} = setup();
        for (const message of ['/echo hi', 'hello', '/backup', '/backup status', '/backups settings']) {
            await expect(hook(message, ARGS)).resolves.toEqual({message, args: ARGS});
        }
        expect(visited).toEqual([]);
    });
});

describe('makeSlashCommandHook with the runtime hooks', () => {
    it('opens the restore modal for /backup restore <id> and swallows it', async () => {
        const opened: string[] = [];
        const hook = makeSlashCommandHook({navigate: () => undefined, openRestore: (id) => opened.push(id)});
        await expect(hook('/backup restore 20261120T030000Z-aaaaaa', ARGS)).resolves.toEqual({});
        expect(opened).toEqual(['20261120T030000Z-aaaaaa']);
        await expect(hook('/backup restore', ARGS)).resolves.toEqual({message: '/backup restore', args: ARGS});
    });

    it('answers in the browser only when the server has no /backup command', async () => {
        const answered: string[] = [];
        let exists: boolean | undefined = true;
        const hook = makeSlashCommandHook({
            navigate: () => undefined,
            serverCommandExists: async () => exists,
            answerLocally: async (c) => {
                answered.push(c.subcommand);
                return c.subcommand !== 'prune';
            },
        });
        await expect(hook('/backup status', ARGS)).resolves.toEqual({message: '/backup status', args: ARGS});
        exists = undefined;
        await expect(hook('/backup status', ARGS)).resolves.toEqual({message: '/backup status', args: ARGS});
        exists = false;
        await expect(hook('/backup status', ARGS)).resolves.toEqual({});
        await expect(hook('/backup prune', ARGS)).resolves.toEqual({message: '/backup prune', args: ARGS});
        await expect(hook('/echo hi', ARGS)).resolves.toEqual({message: '/echo hi', args: ARGS});
        expect(answered).toEqual(['status', 'prune']);
    });
});
