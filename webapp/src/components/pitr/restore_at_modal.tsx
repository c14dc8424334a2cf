// The guarded point-in-time restore, in the snapshot restore's pattern: the sidecar describes
// it (POST /v1/restore/prepare with `at`: the CLI's own checks, refusals shown here with
// nothing changed), the admin reads what is overwritten and types "restore", and only then is
// the job started with the single-use confirmation token.

import React, {useEffect, useState} from 'react';
import {FormattedDate, FormattedMessage, FormattedTime, useIntl} from 'react-intl';
import {useDispatch} from 'react-redux';

import type {RestorePreparation} from '@mm-backup/api';
import {browserTimeZone} from 'src/local_time';
import {failureMessage, run, startJob} from 'src/state/actions';
import type {ApiFailure} from 'src/state/types';

import {useClients} from '../clients_context';
import Modal from '../common/modal';
import {RestoreConfirmField, RestoreFooter, RestoreLoading} from '../restore/restore_parts';

type Props = {
    /** `latest`, or a time with its offset. */
    at: string;
    onClose: () => void;
};

type Prep = {kind: 'loading'} | {kind: 'ready'; prep: RestorePreparation} | {kind: 'failed'; failure: ApiFailure};

/** The word typed to confirm, as `mm-backup restore --at` asks for it on a terminal. */
const CONFIRM_WORD = 'restore';

export default function RestoreAtModal({at, onClose}: Props) {
    const {formatMessage} = useIntl();
    const {bridge} = useClients();
    const dispatch = useDispatch();
    const [prep, setPrep] = useState<Prep>({kind: 'loading'});
    const [typed, setTyped] = useState('');
    const [starting, setStarting] = useState(false);
    const [error, setError] = useState<string | null>(null);

    useEffect(() => {
        let live = true;
        void run(dispatch, bridge, () => bridge.prepareRestoreAt(at)).then((r) => {
            if (live) {
                setPrep(r.data ? {kind: 'ready', prep: r.data} : {kind: 'failed', failure: r.error});
            }
        });
        return () => {
            live = false;
        };
    }, [at, bridge, dispatch]);

    const ready = prep.kind === 'ready' ? prep.prep : null;
    const matches = !!ready && typed.trim() === CONFIRM_WORD;
    const describe = (e: ApiFailure) => `${failureMessage(formatMessage, e)}${e.hint ? ` (${e.hint})` : ''}`;

    const confirm = async () => {
        if (!ready || !matches) {
            return;
        }
        setStarting(true);
        setError(null);
        const r = await startJob(dispatch, bridge, {kind: 'restore', confirmation_token: ready.confirmation_token});
        setStarting(false);
        if (r.error) {
            setError(describe(r.error));
            return;
        }
        onClose();
    };

    const target = ready?.at ?? at;
    // The picker's zone (the host's provider may pin another), named next to the time.
    const zone = browserTimeZone();
    const when =
        target === 'latest' ? (
            <FormattedMessage id="mattermost-backup.restore_at.latest" defaultMessage="the latest archived moment" />
        ) : (
            <>
                <FormattedDate value={new Date(target)} timeZone={zone} year="numeric" month="short" day="2-digit" />{' '}
                <FormattedTime
                    value={new Date(target)}
                    timeZone={zone}
                    hour="2-digit"
                    minute="2-digit"
                    second="2-digit"
                />{' '}
                <FormattedMessage id="mattermost-backup.restore_at.zone" defaultMessage="({zone})" values={{zone}} />
            </>
        );
    return (
        <Modal
            title={formatMessage({
                id: 'mattermost-backup.restore_at.title',
                defaultMessage: 'Restore to a point in time',
            })}
            onClose={onClose}
            testId="restore-at-modal"
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
                <div className="alert alert-danger" role="alert" data-testid="restore-at-refused">
                    {describe(prep.failure)}
                </div>
            )}
            {ready && (
                <>
                    <p data-testid="restore-at-target" data-at={target}>
                        <FormattedMessage
                            id="mattermost-backup.restore_at.intro"
                            defaultMessage="Mattermost and PostgreSQL will be stopped, and the database taken back to {when}; these are replaced:"
                            values={{when: <strong>{when}</strong>}}
                        />
                    </p>
                    <ul data-testid="restore-overwrites">
                        {ready.overwrites.map((o) => (
                            <li key={o}>{o}</li>
                        ))}
                    </ul>
                    {(ready.warnings ?? []).map((w) => (
                        <div key={w} className="alert alert-warning">
                            {w}
                        </div>
                    ))}
                    <div className="alert alert-info">
                        <FormattedMessage
                            id="mattermost-backup.restore_at.safety"
                            defaultMessage="A safety snapshot of the files is taken first, and the current database directory is kept beside the restored one."
                        />
                    </div>
                    <RestoreConfirmField
                        inputId="mm-backup-restore-at-confirm"
                        prompt={
                            <FormattedMessage
                                id="mattermost-backup.restore_at.type_word"
                                defaultMessage="Type {word} to confirm:"
                                values={{word: <code>{CONFIRM_WORD}</code>}}
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
