// Physical mode's switch in the status area: "Enable point-in-time recovery" while it is off,
// "Disable" while it is on, and what waits for a PostgreSQL restart when an enable or disable
// ran without one (GET /v1/status `pitr.phase`). Each opens PitrSetupModal; the job it starts is
// followed by the page's job watcher like any other.

import React from 'react';
import {FormattedMessage} from 'react-intl';

import type {PitrStatus} from '@mm-backup/api';

type Props = {
    /** GET /v1/status `pitr`; absent while physical mode is off. */
    pitr?: PitrStatus;
    /** A job runs: nothing can start. */
    busy: boolean;
    onOpen: (action: 'enable' | 'disable') => void;
};

export default function PitrSetup({pitr, busy, onOpen}: Props) {
    const phase = pitr?.phase ?? 'off';
    const button = (action: 'enable' | 'disable', label: React.ReactNode) => (
        <button
            type="button"
            className={action === 'enable' ? 'btn btn-primary' : 'btn btn-tertiary'}
            disabled={busy}
            onClick={() => onOpen(action)}
            style={{marginRight: 8}}
        >
            {label}
        </button>
    );
    return (
        <div className="mattermost-backup-pitr-setup" data-testid="pitr-setup" data-phase={phase}>
            {phase === 'off' && (
                <p>
                    <FormattedMessage
                        id="mattermost-backup.pitr_setup.off"
                        defaultMessage="Point-in-time recovery (physical mode: PostgreSQL's WAL archived with pgBackRest) is off."
                    />
                </p>
            )}
            {phase === 'enabling' && (
                <div className="alert alert-warning" role="alert" data-testid="pitr-setup-pending">
                    <FormattedMessage
                        id="mattermost-backup.pitr_setup.enabling"
                        defaultMessage="Point-in-time recovery is set up but waits for a PostgreSQL restart (wal_level or archive_mode): WAL is not archived yet. Finish enabling to restart PostgreSQL once."
                    />
                </div>
            )}
            {phase === 'disabling' && (
                <div className="alert alert-warning" role="alert" data-testid="pitr-setup-pending">
                    <FormattedMessage
                        id="mattermost-backup.pitr_setup.disabling"
                        defaultMessage="Point-in-time recovery is disabled but archive_mode stays on until PostgreSQL restarts (WAL is discarded meanwhile)."
                    />
                </div>
            )}
            <div>
                {phase === 'off' &&
                    button(
                        'enable',
                        <FormattedMessage
                            id="mattermost-backup.pitr_setup.enable_button"
                            defaultMessage="Enable point-in-time recovery"
                        />,
                    )}
                {phase === 'enabling' &&
                    button(
                        'enable',
                        <FormattedMessage
                            id="mattermost-backup.pitr_setup.finish_button"
                            defaultMessage="Finish enabling"
                        />,
                    )}
                {phase !== 'off' &&
                    button(
                        'disable',
                        <FormattedMessage
                            id="mattermost-backup.pitr_setup.disable_button"
                            defaultMessage="Disable point-in-time recovery"
                        />,
                    )}
            </div>
        </div>
    );
}
