// The guarded restore: it asks the sidecar what a restore of the snapshot would overwrite
// (POST /v1/restore/prepare), shows that with the version check and the safety-snapshot
// note, and enables "Restore" only when the admin has typed the snapshot id exactly.
// Confirming starts the restore job with the single-use confirmation token.

import React, {useEffect, useState} from 'react';
import {FormattedMessage, useIntl} from 'react-intl';
import {useDispatch} from 'react-redux';

import type {JobRecord, RestorePreparation} from '@mm-backup/api';
import {failureMessage, run, startJob} from 'src/state/actions';
import type {ApiFailure} from 'src/state/types';

import {useClients} from '../clients_context';
import Modal from '../common/modal';
import {RestoreConfirmField, RestoreFooter, RestoreLoading} from './restore_parts';

type Props = {
    snapshotId: string;
    onClose: () => void;
    onStarted?: (job: JobRecord) => void;
};

type Prep = {kind: 'loading'} | {kind: 'ready'; prep: RestorePreparation} | {kind: 'failed'; failure: ApiFailure};

function usePreparation(snapshotId: string): Prep {
    const {bridge} = useClients();
    const dispatch = useDispatch();
    const [prep, setPrep] = useState<Prep>({kind: 'loading'});
    useEffect(() => {
        let live = true;
        void run(dispatch, bridge, () => bridge.prepareRestore(snapshotId)).then((r) => {
            if (live) {
                setPrep(r.data ? {kind: 'ready', prep: r.data} : {kind: 'failed', failure: r.error});
            }
        });
        return () => {
            live = false;
        };
    }, [snapshotId, bridge, dispatch]);
    return prep;
}

export default function RestoreModal({snapshotId, onClose, onStarted}: Props) {
    const {formatMessage} = useIntl();
    const {bridge} = useClients();
    const dispatch = useDispatch();
    const prep = usePreparation(snapshotId);
    const [typed, setTyped] = useState('');
    const [starting, setStarting] = useState(false);
    const [error, setError] = useState<string | null>(null);

    const ready = prep.kind === 'ready' ? prep.prep : null;
    const matches = !!ready && typed === ready.snapshot_id;

    const confirm = async () => {
        if (!ready || !matches) {
            return;
        }
        setStarting(true);
        setError(null);
        const r = await startJob(dispatch, bridge, {kind: 'restore', confirmation_token: ready.confirmation_token});
        setStarting(false);
        if (r.error) {
            setError(`${failureMessage(formatMessage, r.error)}${r.error.hint ? ` (${r.error.hint})` : ''}`);
            return;
        }
        onStarted?.(r.data);
        onClose();
    };

    const title = formatMessage(
        {id: 'mattermost-backup.restore.title', defaultMessage: 'Restore snapshot {id}'},
        {id: snapshotId},
    );
    return (
        <Modal
            title={title}
            onClose={onClose}
            testId="restore-modal"
            footer={
                <RestoreFooter
                    onClose={onClose}
                    canConfirm={matches && !starting}
                    onConfirm={() => {
                        void confirm();
                    }}
                />
            }
        >
            {prep.kind === 'loading' && <RestoreLoading />}
            {prep.kind === 'failed' && (
                <div
                    className="alert alert-danger"
                    role="alert"
                >{`${failureMessage(formatMessage, prep.failure)}${prep.failure.hint ? ` (${prep.failure.hint})` : ''}`}</div>
            )}
            {ready && (
                <>
                    <p>
                        <FormattedMessage
                            id="mattermost-backup.restore.intro"
                            defaultMessage="Mattermost will be stopped and these will be replaced with their state in the snapshot:"
                        />
                    </p>
                    <ul data-testid="restore-overwrites">
                        {ready.overwrites.map((o) => (
                            <li key={o}>{o}</li>
                        ))}
                    </ul>
                    <p data-testid="restore-version-check">
                        <strong>
                            <FormattedMessage id="mattermost-backup.restore.version" defaultMessage="Version check:" />
                        </strong>
                        {` ${ready.version_check}`}
                    </p>
                    {ready.safety_snapshot && (
                        <div className="alert alert-info">
                            <FormattedMessage
                                id="mattermost-backup.restore.safety"
                                defaultMessage="A safety snapshot of the current state is taken first, so this restore can itself be undone."
                            />
                        </div>
                    )}
                    <RestoreConfirmField
                        inputId="mm-backup-restore-confirm"
                        prompt={
                            <FormattedMessage
                                id="mattermost-backup.restore.type_id"
                                defaultMessage="Type the snapshot id {id} to confirm:"
                                values={{id: <code>{ready.snapshot_id}</code>}}
                            />
                        }
                        typed={typed}
                        onTyped={setTyped}
                        error={error}
                    />
                </>
            )}
        </Modal>
    );
}
