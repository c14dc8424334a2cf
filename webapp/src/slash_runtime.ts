// Connects the /backup hook to the store and the sidecar: opening the restore modal, and
// answering status/list/now in the browser when the server has no /backup command. The
// answers are made outside React, so they are worded with an IntlShape built for the
// user's locale (from the store) and this plugin's messages, the ones registerTranslations
// gives Mattermost.

import {siteSubpath} from 'src/site_url';
import type {Store} from 'redux';

import {BridgeClient} from 'src/client/bridge_client';
import {MattermostClient} from 'src/client/mattermost_client';
import {formatBytes, formatDuration} from 'src/format';
import {intlFor, localeFromState} from 'src/i18n';
import type {FormatMessage} from 'src/i18n';
import {ENUM_MESSAGES, selectKey} from 'src/i18n/enum_messages';
import {sidecarUrlFromConfig} from 'src/plugin_settings';
import type {BackupCommand, SlashCommandDeps} from 'src/slash_command';
import {failureMessage, openRestoreModal, receivedSidecarUrl, receivedSlashAnswer, toFailure} from 'src/state/actions';
import {pluginState} from 'src/state/selectors';

/** The Sidecar URL: known once the Console page ran, else read from the admin config. */
export async function resolveSidecarUrl(store: Store, mm: MattermostClient): Promise<string> {
    const known = pluginState(store.getState()).sidecarUrl;
    if (known !== null) {
        return known;
    }
    const config = await mm.getConfig().catch(() => undefined);
    const url = sidecarUrlFromConfig(config);
    store.dispatch(receivedSidecarUrl(url));
    return url;
}

const MESSAGES = {
    lastBackup: {
        id: 'mattermost-backup.slash.last_backup',
        defaultMessage: 'Last backup: {id} at {when} ({mode}, {size}, downtime {downtime}, {verification})',
    },
    noBackup: {id: 'mattermost-backup.slash.no_backup', defaultMessage: 'No backup yet.'},
    nextBackup: {id: 'mattermost-backup.slash.next_backup', defaultMessage: 'Next backup: {when}'},
    notScheduled: {id: 'mattermost-backup.slash.not_scheduled', defaultMessage: 'Next backup: not scheduled'},
    running: {id: 'mattermost-backup.slash.running', defaultMessage: 'Running: {kind} ({step})'},
    runningStarting: {id: 'mattermost-backup.slash.running_starting', defaultMessage: 'Running: {kind} (starting)'},
    noJob: {id: 'mattermost-backup.slash.no_job', defaultMessage: 'No job running.'},
    repository: {
        id: 'mattermost-backup.slash.repository',
        defaultMessage: 'Repository: {count, plural, one {# snapshot} other {# snapshots}}, {free} free',
    },
    noSnapshots: {id: 'mattermost-backup.slash.no_snapshots', defaultMessage: 'No snapshots yet.'},
    pitrWindow: {
        id: 'mattermost-backup.slash.pitr_window',
        defaultMessage: 'Recovery window: {start} … {end}',
    },
    pitrNoWindow: {
        id: 'mattermost-backup.slash.pitr_no_window',
        defaultMessage: 'Recovery window: none yet (no physical backup)',
    },
    pitrArchive: {
        id: 'mattermost-backup.slash.pitr_archive',
        defaultMessage: 'WAL archive: {state}, {failures, plural, one {# failure} other {# failures}}',
    },
    backupStarted: {
        id: 'mattermost-backup.slash.backup_started',
        defaultMessage:
            'Backup started (job {id}). Follow it in System Console > Plugins > Backup & Disaster Recovery.',
    },
    nowUsage: {
        id: 'mattermost-backup.slash.now_usage',
        defaultMessage: '`now` takes --online or --offline, and --logical, not "{args}". No backup was started.',
    },
    sidecarFailed: {
        id: 'mattermost-backup.slash.sidecar_failed',
        defaultMessage: 'The backup sidecar did not answer: {message}',
    },
};

async function answerText(bridge: BridgeClient, command: BackupCommand, t: FormatMessage): Promise<string | null> {
    switch (command.subcommand) {
        case 'status': {
            const s = await bridge.getStatus();
            const last = s.last_backup;
            const job = s.running_job;
            return [
                last
                    ? t(MESSAGES.lastBackup, {
                          id: last.snapshot_id,
                          when: last.finished_at,
                          mode: t(ENUM_MESSAGES.mode, {mode: last.mode}),
                          size: formatBytes(last.bytes),
                          downtime: formatDuration(last.downtime_ms),
                          verification: t(ENUM_MESSAGES.verification, {state: last.verification}),
                      })
                    : t(MESSAGES.noBackup),
                s.next_backup ? t(MESSAGES.nextBackup, {when: s.next_backup}) : t(MESSAGES.notScheduled),
                job
                    ? t(job.current_step ? MESSAGES.running : MESSAGES.runningStarting, {
                          kind: t(ENUM_MESSAGES.jobKind, {kind: selectKey(job.kind)}),
                          step: job.current_step,
                      })
                    : t(MESSAGES.noJob),
                t(MESSAGES.repository, {
                    count: s.repository.snapshots,
                    free: s.repository.free_bytes === null ? '?' : formatBytes(s.repository.free_bytes),
                }),
                // Physical mode, as the server-side /backup status says it (docs/pitr.md).
                ...(s.pitr
                    ? [
                          s.pitr.window
                              ? t(MESSAGES.pitrWindow, {start: s.pitr.window.start, end: s.pitr.window.end})
                              : t(MESSAGES.pitrNoWindow),
                          t(MESSAGES.pitrArchive, {state: s.pitr.archive.state, failures: s.pitr.archive.failed_count}),
                          ...(s.pitr.archive.problem ? [`⚠️ ${s.pitr.archive.problem}`] : []),
                      ]
                    : []),
            ].join('\n');
        }
        case 'list': {
            const l = await bridge.getSnapshots();
            const line = (x: (typeof l.snapshots)[number]) =>
                [
                    x.id,
                    t(ENUM_MESSAGES.mode, {mode: x.mode}),
                    t(ENUM_MESSAGES.trigger, {trigger: x.trigger}),
                    formatBytes(x.bytes),
                    t(ENUM_MESSAGES.verification, {state: x.verification.state}),
                ].join('  ');
            return l.snapshots.length ? l.snapshots.slice(0, 10).map(line).join('\n') : t(MESSAGES.noSnapshots);
        }
        case 'now': {
            // As strict as the server-side /backup (slash/parse.ts): a flag mistyped, repeated or
            // contradicting another starts nothing, rather than a backup other than the one asked for.
            const flags = command.args.map((a) => a.toLowerCase());
            const modes = flags.filter((f) => f === '--online' || f === '--offline');
            const logicals = flags.filter((f) => f === '--logical');
            if (modes.length > 1 || logicals.length > 1 || modes.length + logicals.length !== flags.length) {
                return t(MESSAGES.nowUsage, {args: command.args.join(' ')});
            }
            const mode = modes[0] === '--online' ? 'online' : modes[0] === '--offline' ? 'offline' : undefined;
            // Physical mode: a logical dump now (`mm-backup backup --logical`); the sidecar ignores it otherwise.
            const logical = logicals.length === 1;
            const job = await bridge.startJob(logical ? {kind: 'backup', mode, logical} : {kind: 'backup', mode});
            return t(MESSAGES.backupStarted, {id: job.id});
        }
        default:
            return null;
    }
}

/**
 * `formatMessage` words the answers; by default one for the user's current locale (read
 * from the store on every command, as the user may switch language) with this plugin's
 * messages.
 */
export function slashDeps(
    store: Store,
    navigate: (path: string) => void,
    client?: MattermostClient,
    formatMessage?: FormatMessage,
): SlashCommandDeps {
    // Built per call: the SiteURL (and so the subpath) is in the store once the webapp has loaded its config.
    const mmClient = () => client ?? new MattermostClient(siteSubpath(store.getState()));
    const registered = new Map<string, boolean | undefined>();
    return {
        navigate,
        openRestore: (snapshotId) => store.dispatch(openRestoreModal({snapshotId, source: 'slash'})),
        serverCommandExists: async (teamId) => {
            if (!registered.has(teamId)) {
                // Listing needs slash-command permissions in the team; without them, do not guess.
                const found = await mmClient()
                    .getCustomTeamCommands(teamId)
                    .then(
                        (cmds) => cmds.some((c) => c.trigger === 'backup'),
                        () => undefined,
                    );
                registered.set(teamId, found);
            }
            return registered.get(teamId);
        },
        answerLocally: async (command) => {
            const t = formatMessage ?? intlFor(localeFromState(store.getState())).formatMessage;
            const bridge = new BridgeClient(await resolveSidecarUrl(store, mmClient()));
            let text: string | null;
            try {
                text = await answerText(bridge, command, t);
            } catch (err) {
                const f = toFailure(err);
                text = `${t(MESSAGES.sidecarFailed, {message: failureMessage(t, f)})}${f.hint ? ` ${f.hint}` : ''}`;
            }
            if (text === null) {
                return false;
            }
            store.dispatch(receivedSlashAnswer({title: `/backup ${command.subcommand}`, text}));
            return true;
        },
    };
}
