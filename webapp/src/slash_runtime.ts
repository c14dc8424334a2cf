// Connects the /backup hook to the store and the sidecar: opening the restore modal, and
// answering status/list/now in the browser when the server has no /backup command.

import {siteSubpath} from 'src/site_url';
import type {Store} from 'redux';

import {BridgeClient} from 'src/client/bridge_client';
import {MattermostClient} from 'src/client/mattermost_client';
import {formatBytes, formatDuration} from 'src/format';
import {sidecarUrlFromConfig} from 'src/plugin_settings';
import type {BackupCommand, SlashCommandDeps} from 'src/slash_command';
import {openRestoreModal, receivedSidecarUrl, receivedSlashAnswer, toFailure} from 'src/state/actions';
import {pluginState} from 'src/state/selectors';
import type {AdminConfig} from 'src/types/mattermost-webapp';

/** The Sidecar URL: known once the Console page ran, else read from the admin config. */
export async function resolveSidecarUrl(store: Store, mm: MattermostClient): Promise<string> {
    const known = pluginState(store.getState()).sidecarUrl;
    if (known !== null) {
        return known;
    }
    const config = await mm.getConfig().catch(() => undefined);
    const url = sidecarUrlFromConfig(config as AdminConfig | undefined);
    store.dispatch(receivedSidecarUrl(url));
    return url;
}

async function answerText(bridge: BridgeClient, command: BackupCommand): Promise<string | null> {
    switch (command.subcommand) {
    case 'status': {
        const s = await bridge.getStatus();
        const last = s.last_backup;
        return [
            last ? `Last backup: ${last.snapshot_id} at ${last.finished_at} (${last.mode}, ${formatBytes(last.bytes)}, downtime ${formatDuration(last.downtime_ms)}, ${last.verification})` : 'No backup yet.',
            `Next backup: ${s.next_backup ?? 'not scheduled'}`,
            s.running_job ? `Running: ${s.running_job.kind} (${s.running_job.current_step ?? 'starting'})` : 'No job running.',
            `Repository: ${s.repository.snapshots} snapshots, ${s.repository.free_bytes === null ? '?' : formatBytes(s.repository.free_bytes)} free`,
        ].join('\n');
    }
    case 'list': {
        const l = await bridge.getSnapshots();
        return l.snapshots.length ? l.snapshots.slice(0, 10).map((x) => `${x.id}  ${x.mode}  ${x.trigger}  ${formatBytes(x.bytes)}  ${x.verification.state}`).join('\n') : 'No snapshots yet.';
    }
    case 'now': {
        const mode = command.args.includes('--online') ? 'online' : command.args.includes('--offline') ? 'offline' : undefined;
        const job = await bridge.startJob({kind: 'backup', mode});
        return `Backup started (job ${job.id}). Follow it in System Console > Plugins > Backup & Disaster Recovery.`;
    }
    default:
        return null;
    }
}

export function slashDeps(store: Store, navigate: (path: string) => void, client?: MattermostClient): SlashCommandDeps {
    // Built per call: the SiteURL (and so the subpath) is in the store once the webapp has loaded its config.
    const mmClient = () => client ?? new MattermostClient(siteSubpath(store.getState()));
    const registered = new Map<string, boolean | undefined>();
    return {
        navigate,
        openRestore: (snapshotId) => store.dispatch(openRestoreModal({snapshotId, source: 'slash'})),
        serverCommandExists: async (teamId) => {
            if (!registered.has(teamId)) {
                // Listing needs slash-command permissions in the team; without them, do not guess.
                const found = await mmClient().listCommands(teamId).then((cmds) => cmds.some((c) => c.trigger === 'backup'), () => undefined);
                registered.set(teamId, found);
            }
            return registered.get(teamId);
        },
        answerLocally: async (command) => {
            const bridge = new BridgeClient(await resolveSidecarUrl(store, mmClient()));
            let text: string | null;
            try {
                text = await answerText(bridge, command);
            } catch (err) {
                const f = toFailure(err);
                text = `The backup sidecar did not answer: ${f.message}${f.hint ? ` ${f.hint}` : ''}`;
            }
            if (text === null) {
                return false;
            }
            store.dispatch(receivedSlashAnswer({title: `/backup ${command.subcommand}`, text}));
            return true;
        },
    };
}
