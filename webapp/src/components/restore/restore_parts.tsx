// The parts both restore confirmations share (a snapshot, a point in time): the footer whose
// Restore button stays disabled until the admin has typed what is asked, and the line shown while
// the sidecar works out what the restore would change.

import React from 'react';
import {FormattedMessage} from 'react-intl';

type FooterProps = {
    onClose: () => void;
    /** False until the typed confirmation matches, and while the job is being started. */
    canConfirm: boolean;
    onConfirm: () => void;
};

export function RestoreFooter({onClose, canConfirm, onConfirm}: FooterProps) {
    return (
        <>
            <button type="button" className="btn btn-tertiary" onClick={onClose}>
                <FormattedMessage id="mattermost-backup.restore.cancel" defaultMessage="Cancel" />
            </button>
            <button type="button" className="btn btn-danger" disabled={!canConfirm} onClick={onConfirm}>
                <FormattedMessage id="mattermost-backup.restore.confirm" defaultMessage="Restore" />
            </button>
        </>
    );
}

export function RestoreLoading() {
    return (
        <p role="status">
            <FormattedMessage
                id="mattermost-backup.restore.loading"
                defaultMessage="Checking what this restore would change…"
            />
        </p>
    );
}

type ConfirmFieldProps = {
    inputId: string;
    /** What to type, said in the label. */
    prompt: React.ReactNode;
    typed: string;
    onTyped: (value: string) => void;
    error?: string | null;
};

/** The field the admin types the confirmation into, with the start's error under it. */
export function RestoreConfirmField({inputId, prompt, typed, onTyped, error}: ConfirmFieldProps) {
    return (
        <>
            <label htmlFor={inputId} style={{fontWeight: 400}}>
                {prompt}
            </label>
            <input
                id={inputId}
                className="form-control"
                autoComplete="off"
                spellCheck={false}
                value={typed}
                onChange={(e) => onTyped(e.target.value)}
            />
            {error && (
                <div className="alert alert-danger" role="alert" style={{marginTop: 8}}>
                    {error}
                </div>
            )}
        </>
    );
}
