// Enabling or disabling physical mode from the page, in the restore confirmations' pattern: the
// sidecar says what it would check and change (GET /v1/pitr/plan: the CLI's own checks, nothing
// changed), the admin reads it and confirms, and only then is the job started. A restart of
// PostgreSQL is made only when the admin ticks the explicit "restart PostgreSQL now" box; without
// it the job applies what a reload can and the page says what waits for a restart.

import React, {useEffect, useState} from 'react';
import {FormattedMessage, useIntl} from 'react-intl';
import {useDispatch} from 'react-redux';

import type {PitrPlan} from '@mm-backup/api';
import {failureMessage, run, startJob} from 'src/state/actions';
import type {ApiFailure} from 'src/state/types';

import {useClients} from '../clients_context';
import Modal from '../common/modal';

type Props = {
    action: 'enable' | 'disable';
    onClose: () => void;
};

type Plan = {kind: 'loading'} | {kind: 'ready'; plan: PitrPlan} | {kind: 'failed'; failure: ApiFailure};

const CHECK_CLASS: Record<string, string | undefined> = {failed: 'error-text'};

export default function PitrSetupModal({action, onClose}: Props) {
    const {formatMessage} = useIntl();
    const {bridge} = useClients();
    const dispatch = useDispatch();
    const [plan, setPlan] = useState<Plan>({kind: 'loading'});
    const [restart, setRestart] = useState(false);
    const [starting, setStarting] = useState(false);
    const [error, setError] = useState<string | null>(null);

    useEffect(() => {
        let live = true;
        void run(dispatch, bridge, () => bridge.getPitrPlan()).then((r) => {
            if (live) {
                setPlan(r.data ? {kind: 'ready', plan: r.data} : {kind: 'failed', failure: r.error});
            }
        });
        return () => {
            live = false;
        };
    }, [bridge, dispatch]);

    const ready = plan.kind === 'ready' ? plan.plan : null;
    const enable = action === 'enable';
    const restartNeeded = ready ? (enable ? ready.restart_needed : !!ready.disable?.restart_needed) : false;
    // Enable refuses while a check fails; disable needs something to undo.
    const possible = !!ready && (enable ? ready.ready : ready.disable !== null);
    const describe = (e: ApiFailure) => `${failureMessage(formatMessage, e)}${e.hint ? ` (${e.hint})` : ''}`;

    const confirm = async () => {
        if (!possible) {
            return;
        }
        setStarting(true);
        setError(null);
        // Consent is only ever the boolean true, and only when the box is ticked.
        const restartNow = restartNeeded && restart;
        const r = await startJob(dispatch, bridge, {
            kind: enable ? 'pitr-enable' : 'pitr-disable',
            restart_postgres: restartNow,
        });
        setStarting(false);
        if (r.error) {
            setError(describe(r.error));
            return;
        }
        onClose();
    };

    const pending = ready?.changes.filter((c) => c.restart).map((c) => c.name) ?? [];
    return (
        <Modal
            title={
                enable
                    ? formatMessage({
                          id: 'mattermost-backup.pitr_setup.enable_title',
                          defaultMessage: 'Enable point-in-time recovery',
                      })
                    : formatMessage({
                          id: 'mattermost-backup.pitr_setup.disable_title',
                          defaultMessage: 'Disable point-in-time recovery',
                      })
            }
            onClose={onClose}
            testId="pitr-setup-modal"
            footer={
                <>
                    <button type="button" className="btn btn-tertiary" onClick={onClose}>
                        <FormattedMessage id="mattermost-backup.restore.cancel" defaultMessage="Cancel" />
                    </button>
                    <button
                        type="button"
                        className={enable ? 'btn btn-primary' : 'btn btn-danger'}
                        disabled={!possible || starting}
                        onClick={() => {
                            void confirm();
                        }}
                    >
                        {enable ? (
                            <FormattedMessage id="mattermost-backup.pitr_setup.enable" defaultMessage="Enable" />
                        ) : (
                            <FormattedMessage id="mattermost-backup.pitr_setup.disable" defaultMessage="Disable" />
                        )}
                    </button>
                </>
            }
        >
            {plan.kind === 'loading' && (
                <p role="status">
                    <FormattedMessage
                        id="mattermost-backup.pitr_setup.loading"
                        defaultMessage="Checking PostgreSQL and pgBackRest (nothing is changed)…"
                    />
                </p>
            )}
            {plan.kind === 'failed' && (
                <div className="alert alert-danger" role="alert" data-testid="pitr-plan-failed">
                    {describe(plan.failure)}
                </div>
            )}
            {ready && enable && (
                <>
                    <table className="table mattermost-backup-status__table" data-testid="pitr-plan-checks">
                        <tbody>
                            {ready.checks.map((c) => (
                                <tr key={c.id} data-testid={`pitr-check-${c.id}`} data-status={c.status}>
                                    <th scope="row">{c.title}</th>
                                    <td className={CHECK_CLASS[c.status]}>
                                        <FormattedMessage
                                            id="mattermost-backup.pitr_setup.check_status"
                                            defaultMessage="{status, select, ok {OK} warning {Warning} failed {FAILED} skipped {Not checked} other {{status}}}"
                                            values={{status: c.status}}
                                        />
                                        {': '}
                                        {c.detail}
                                        {c.hint && ` (${c.hint})`}
                                    </td>
                                </tr>
                            ))}
                        </tbody>
                    </table>
                    <p>
                        <FormattedMessage
                            id="mattermost-backup.pitr_setup.where"
                            defaultMessage="pgBackRest {version}, stanza {stanza}; repository {repo}; config {config}"
                            values={{
                                version: ready.pgbackrest_version ?? '-',
                                stanza: <code>{ready.stanza}</code>,
                                repo: <code>{ready.repository || '-'}</code>,
                                config: <code>{ready.config_file}</code>,
                            }}
                        />
                    </p>
                    {ready.changes.length > 0 ? (
                        <>
                            <p>
                                <FormattedMessage
                                    id="mattermost-backup.pitr_setup.changes"
                                    defaultMessage="These PostgreSQL settings change (ALTER SYSTEM):"
                                />
                            </p>
                            <ul data-testid="pitr-plan-changes">
                                {ready.changes.map((c) => (
                                    <li key={c.name} data-restart={c.restart}>
                                        <code>{c.name}</code>
                                        {`: ${c.from || "''"} → ${c.to} `}
                                        {c.restart ? (
                                            <FormattedMessage
                                                id="mattermost-backup.pitr_setup.needs_restart"
                                                defaultMessage="(needs a PostgreSQL restart)"
                                            />
                                        ) : (
                                            <FormattedMessage
                                                id="mattermost-backup.pitr_setup.reload"
                                                defaultMessage="(a reload applies it)"
                                            />
                                        )}
                                    </li>
                                ))}
                            </ul>
                        </>
                    ) : (
                        <p>
                            <FormattedMessage
                                id="mattermost-backup.pitr_setup.no_changes"
                                defaultMessage="No PostgreSQL setting needs to change."
                            />
                        </p>
                    )}
                </>
            )}
            {ready && !enable && (
                <>
                    {ready.disable ? (
                        <>
                            <p>
                                <FormattedMessage
                                    id="mattermost-backup.pitr_setup.reverts"
                                    defaultMessage="These PostgreSQL settings are put back as they were before enabling:"
                                />
                            </p>
                            <ul data-testid="pitr-plan-reverts">
                                {ready.disable.reverts.map((r) => (
                                    <li key={r.name}>
                                        <code>{r.name}</code>
                                        {': '}
                                        {r.to === null ? (
                                            <FormattedMessage
                                                id="mattermost-backup.pitr_setup.reset"
                                                defaultMessage="reset (PostgreSQL's default or postgresql.conf)"
                                            />
                                        ) : (
                                            r.to
                                        )}
                                    </li>
                                ))}
                            </ul>
                            <div className="alert alert-info">
                                <FormattedMessage
                                    id="mattermost-backup.pitr_setup.kept"
                                    defaultMessage="pgBackRest's repository {repo} (backups and WAL archived so far) and its config stay; remove them by hand when no longer needed."
                                    values={{repo: <code>{ready.repository}</code>}}
                                />
                            </div>
                        </>
                    ) : (
                        <div className="alert alert-warning" role="alert">
                            <FormattedMessage
                                id="mattermost-backup.pitr_setup.nothing"
                                defaultMessage="Physical mode was not enabled by mm-backup here: nothing to undo."
                            />
                        </div>
                    )}
                </>
            )}
            {ready && possible && restartNeeded && (
                <div data-testid="pitr-restart">
                    <label style={{fontWeight: 400}}>
                        <input
                            type="checkbox"
                            checked={restart}
                            disabled={starting}
                            onChange={(e) => setRestart(e.target.checked)}
                        />{' '}
                        <FormattedMessage
                            id="mattermost-backup.pitr_setup.restart"
                            defaultMessage="Restart PostgreSQL now (once; Mattermost loses its database for a few seconds; never left down)"
                        />
                    </label>
                    {!restart && (
                        <div className="alert alert-warning" data-testid="pitr-restart-pending">
                            {enable ? (
                                <FormattedMessage
                                    id="mattermost-backup.pitr_setup.pending_enable"
                                    defaultMessage="Without a restart only what a reload applies is set; {names} wait for a PostgreSQL restart, and WAL is not archived until then."
                                    values={{names: pending.join(', ')}}
                                />
                            ) : (
                                <FormattedMessage
                                    id="mattermost-backup.pitr_setup.pending_disable"
                                    defaultMessage="Without a restart archive_mode stays on until PostgreSQL restarts (WAL is discarded meanwhile)."
                                />
                            )}
                        </div>
                    )}
                </div>
            )}
            {error && (
                <div className="alert alert-danger" role="alert" style={{marginTop: 8}}>
                    {error}
                </div>
            )}
        </Modal>
    );
}
