// The dashboard's body, inside a ClientsProvider: loads status, snapshots and settings,
// follows the running job, and wires the sections' actions to the sidecar. Each section is
// one of the Console's panels (console_layout.tsx), in this order: status (with the
// recovery window), current job, snapshots, the settings' panels, connection. A new
// section is a component of its own rendered in a ConsolePanel here.

import React, {useCallback, useEffect, useRef, useState} from 'react';
import {FormattedMessage, useIntl} from 'react-intl';
import {useDispatch, useSelector} from 'react-redux';

import type {SnapshotListEntry} from '@mm-backup/api';
import {isActive} from 'src/job_progress_math';
import {backoffMs} from 'src/timing';
import {
    failureMessage,
    loadOverview,
    openRestoreModal,
    receivedSettings,
    receivedSidecarUrl,
    run,
    startJob,
} from 'src/state/actions';
import type {ApiFailure} from 'src/state/types';
import {pluginState} from 'src/state/selectors';

import {useClients} from '../clients_context';
import {isConnectProblem, isNotConnectedProblem} from '../common/inline_code';
import TextModal from '../common/text_modal';
import SnapshotBrowser from '../browse/snapshot_browser';
import ConnectPanel from '../connect/connect_panel';
import ConnectWarning from '../connect/connect_warning';
import PitrSetup from '../pitr/pitr_setup';
import PitrSetupModal from '../pitr/pitr_setup_modal';
import RecoveryWindow from '../pitr/recovery_window';
import RestoreAtModal from '../pitr/restore_at_modal';
import SnapshotPlots from '../plots/snapshot_plots';
import RestoreModal from '../restore/restore_modal';
import SettingsPanel from '../settings/settings_panel';
import {useJobWatcher} from '../use_job_watcher';

import ApiSkewBanner from './api_skew_banner';
import BackupNow from './backup_now';
import {ConsolePanel} from './console_layout';
import ConnectionBanner from './connection_banner';
import JobProgress from './job_progress';
import SnapshotTable from './snapshot_table';
import type {SnapshotAction} from './snapshot_table';
import StatusSummary from './status_summary';

export default function Dashboard({sidecarUrl}: {sidecarUrl: string}) {
    const {formatMessage} = useIntl();
    const {bridge} = useClients();
    const dispatch = useDispatch();
    const st = useSelector(pluginState);
    const [attempt, setAttempt] = useState(0);
    // A ref, not state: the count only sets the next delay, and changing it must not reload.
    const outageRetries = useRef(0);
    const [actionError, setActionError] = useState<string | null>(null);
    const [text, setText] = useState<{title: string; text: string} | null>(null);
    const [restoreAt, setRestoreAt] = useState<string | null>(null);
    const [pitrSetup, setPitrSetup] = useState<'enable' | 'disable' | null>(null);
    useJobWatcher();

    useEffect(() => {
        dispatch(receivedSidecarUrl(sidecarUrl));
        void loadOverview(dispatch, bridge, {retryInMs: backoffMs(outageRetries.current)}).then(async (r) => {
            if (r.data) {
                const s = await run(dispatch, bridge, () => bridge.getSettings());
                if (s.data) {
                    dispatch(receivedSettings(s.data));
                }
            }
        });
    }, [bridge, sidecarUrl, attempt, dispatch]);

    // Opened while Mattermost is stopped (no job known yet to follow): load again after the
    // delay the banner announces, backing off, until the sidecar can check the session again.
    const restarting = st.connection.kind === 'restarting' && !isActive(st.job);
    const retryInMs = st.connection.kind === 'restarting' ? st.connection.retryInMs : 0;
    useEffect(() => {
        if (!restarting) {
            if (st.connection.kind === 'ok') {
                outageRetries.current = 0;
            }
            return undefined;
        }
        const t = setTimeout(() => {
            outageRetries.current += 1;
            setAttempt((a) => a + 1);
        }, retryInMs);
        return () => clearTimeout(t);
    }, [restarting, retryInMs, st.connection.kind]);

    const busy = isActive(st.job);
    const job = st.job;
    const describe = useCallback(
        (e: ApiFailure) => `${failureMessage(formatMessage, e)}${e.hint ? ` ${e.hint}` : ''}`,
        [formatMessage],
    );

    const start = useCallback(
        async (body: Parameters<typeof bridge.startJob>[0]) => {
            setActionError(null);
            const r = await startJob(dispatch, bridge, body);
            if (r.error) {
                setActionError(describe(r.error));
            }
        },
        [bridge, dispatch, describe],
    );

    const onAction = async (action: SnapshotAction, s: SnapshotListEntry) => {
        if (action === 'verify' || action === 'deep_verify') {
            await start({kind: 'verify', snapshot_id: s.id, deep: action === 'deep_verify'});
        } else if (action === 'restore') {
            dispatch(openRestoreModal({snapshotId: s.id, source: 'console'}));
        } else if (action === 'manifest') {
            const r = await run(dispatch, bridge, () => bridge.getManifest(s.id));
            setText({
                title: formatMessage(
                    {id: 'mattermost-backup.manifest.title', defaultMessage: 'Manifest of {id}'},
                    {id: s.id},
                ),
                text: r.data ? JSON.stringify(r.data, null, 2) : describe(r.error),
            });
        } else {
            const r = await run(dispatch, bridge, () => bridge.listJobs(20, s.id));
            const job = r.data?.jobs.find((j) => j.result?.snapshot_id === s.id && j.kind === 'backup');
            const lines = job ? job.log_tail.map((l) => `${l.at} ${l.level.padEnd(5)} ${l.message}`).join('\n') : '';
            setText({
                title: formatMessage(
                    {id: 'mattermost-backup.log.title', defaultMessage: 'Log of the backup that made {id}'},
                    {id: s.id},
                ),
                text:
                    lines ||
                    formatMessage({
                        id: 'mattermost-backup.log.none',
                        defaultMessage: 'No log kept for this snapshot (the job history keeps recent jobs only).',
                    }),
            });
        }
    };

    const connectProblems = (st.status?.sidecar.problems ?? []).filter(
        (p) => isConnectProblem(p) && !isNotConnectedProblem(p),
    );
    const showBody = st.status && (st.connection.kind === 'ok' || st.connection.kind === 'restarting');
    return (
        <div className="mattermost-backup-dashboard" data-connection={st.connection.kind}>
            <ApiSkewBanner sidecarApi={st.sidecarApi} sidecarVersion={st.status?.sidecar.version} />
            <ConnectionBanner
                connection={st.connection}
                sidecarUrl={sidecarUrl}
                onRetry={() => setAttempt((n) => n + 1)}
            />
            {showBody && st.status && (
                <>
                    <ConsolePanel
                        title={<FormattedMessage id="mattermost-backup.section.status" defaultMessage="Status" />}
                        testId="section-status"
                    >
                        {(!st.status.sidecar.connected || connectProblems.length > 0) && (
                            <ConnectWarning connected={st.status.sidecar.connected} problems={connectProblems} />
                        )}
                        <StatusSummary status={st.status} />
                        {st.status.pitr && (
                            <RecoveryWindow pitr={st.status.pitr} busy={busy} onRestore={setRestoreAt} />
                        )}
                        <PitrSetup pitr={st.status.pitr} busy={busy} onOpen={setPitrSetup} />
                    </ConsolePanel>
                    {job && (
                        <ConsolePanel
                            title={<FormattedMessage id="mattermost-backup.section.job" defaultMessage="Current job" />}
                            testId="section-job"
                        >
                            <JobProgress
                                job={job}
                                onCancel={() => {
                                    void run(dispatch, bridge, () => bridge.cancelJob(job.id));
                                }}
                            />
                        </ConsolePanel>
                    )}
                    <ConsolePanel
                        title={<FormattedMessage id="mattermost-backup.section.snapshots" defaultMessage="Snapshots" />}
                        testId="section-snapshots"
                    >
                        <BackupNow
                            defaultMode={st.settings?.backup.mode}
                            physical={st.status.pitr !== undefined}
                            busy={busy}
                            error={actionError}
                            onStart={(mode, logical) => {
                                void start(logical ? {kind: 'backup', mode, logical} : {kind: 'backup', mode});
                            }}
                        />
                        {st.snapshots && (
                            <SnapshotTable
                                list={st.snapshots}
                                busy={busy}
                                onAction={(a, s) => {
                                    void onAction(a, s);
                                }}
                            />
                        )}
                    </ConsolePanel>
                    {st.snapshots && st.snapshots.snapshots.length > 0 && (
                        <ConsolePanel
                            title={<FormattedMessage id="mattermost-backup.section.plots" defaultMessage="Trends" />}
                            testId="section-plots"
                        >
                            <SnapshotPlots snapshots={st.snapshots.snapshots} pitr={st.status.pitr} />
                        </ConsolePanel>
                    )}
                    {st.snapshots && st.snapshots.snapshots.length > 0 && (
                        <ConsolePanel
                            title={
                                <FormattedMessage id="mattermost-backup.section.browse" defaultMessage="Browse files" />
                            }
                            testId="section-browse"
                        >
                            <SnapshotBrowser snapshots={st.snapshots.snapshots} />
                        </ConsolePanel>
                    )}
                    {st.settings && <SettingsPanel settings={st.settings} />}
                    <ConsolePanel
                        title={
                            <FormattedMessage
                                id="mattermost-backup.section.connect"
                                defaultMessage="Connection to Mattermost"
                            />
                        }
                        testId="section-connect"
                    >
                        <ConnectPanel />
                    </ConsolePanel>
                </>
            )}
            {st.restoreModal?.source === 'console' && (
                <RestoreModal
                    snapshotId={st.restoreModal.snapshotId}
                    onClose={() => dispatch(openRestoreModal(null))}
                />
            )}
            {restoreAt && <RestoreAtModal at={restoreAt} onClose={() => setRestoreAt(null)} />}
            {pitrSetup && <PitrSetupModal action={pitrSetup} onClose={() => setPitrSetup(null)} />}
            {text && <TextModal title={text.title} text={text.text} onClose={() => setText(null)} />}
        </div>
    );
}
