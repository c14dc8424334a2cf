// A small accessible modal in Mattermost's markup (modal-dialog / modal-content /
// modal-header / modal-body / modal-footer), so the webapp's styles apply. It does not use
// the host's react-bootstrap, whose Mattermost fork has no stability promise for plugins.

import React, {useEffect} from 'react';
import {useIntl} from 'react-intl';

type Props = {
    title: React.ReactNode;
    onClose: () => void;
    children: React.ReactNode;
    footer?: React.ReactNode;
    testId?: string;
};

export default function Modal({title, onClose, children, footer, testId}: Props) {
    const {formatMessage} = useIntl();
    useEffect(() => {
        const onKey = (e: KeyboardEvent) => {
            if (e.key === 'Escape') {
                onClose();
            }
        };
        document.addEventListener('keydown', onKey);
        return () => document.removeEventListener('keydown', onKey);
    }, [onClose]);
    return (
        <div
            className="modal-backdrop-wrapper"
            style={{position: 'fixed', inset: 0, background: 'rgba(0,0,0,0.5)', zIndex: 1050, overflowY: 'auto'}}
        >
            <div
                className="modal-dialog"
                role="dialog"
                aria-modal="true"
                aria-label={typeof title === 'string' ? title : undefined}
                data-testid={testId}
                style={{maxWidth: 720, margin: '48px auto'}}
            >
                <div
                    className="modal-content"
                    style={{
                        background: 'var(--center-channel-bg, #fff)',
                        color: 'var(--center-channel-color, #3f4350)',
                        borderRadius: 8,
                        boxShadow: '0 20px 32px rgba(0,0,0,0.12)',
                    }}
                >
                    <div
                        className="modal-header"
                        style={{
                            display: 'flex',
                            justifyContent: 'space-between',
                            alignItems: 'center',
                            padding: '20px 24px 8px',
                        }}
                    >
                        <h4 className="modal-title" style={{margin: 0}}>
                            {title}
                        </h4>
                        <button
                            type="button"
                            className="close"
                            aria-label={formatMessage({id: 'mattermost-backup.modal.close', defaultMessage: 'Close'})}
                            onClick={onClose}
                            style={{border: 0, background: 'none', fontSize: 24, cursor: 'pointer'}}
                        >
                            {'×'}
                        </button>
                    </div>
                    <div className="modal-body" style={{padding: '8px 24px'}}>
                        {children}
                    </div>
                    {footer && (
                        <div
                            className="modal-footer"
                            style={{display: 'flex', justifyContent: 'flex-end', gap: 8, padding: '16px 24px 20px'}}
                        >
                            {footer}
                        </div>
                    )}
                </div>
            </div>
        </div>
    );
}
