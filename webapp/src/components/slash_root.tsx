// Registered with registerRootComponent: shows what /backup opened outside the System
// Console — the restore modal for `/backup restore <id>`, and answers the page computed
// itself when the server has no /backup command.

import {siteSubpath} from 'src/site_url';
import React, {useMemo} from 'react';
import {useIntl} from 'react-intl';
import {useDispatch, useSelector} from 'react-redux';

import {BridgeClient} from 'src/client/bridge_client';
import {MattermostClient} from 'src/client/mattermost_client';
import {openRestoreModal, receivedSlashAnswer} from 'src/state/actions';
import {pluginState} from 'src/state/selectors';

import {ClientsProvider} from './clients_context';
import TextModal from './common/text_modal';
import RestoreModal from './restore/restore_modal';

export default function SlashRoot() {
    const {formatMessage} = useIntl();
    const dispatch = useDispatch();
    const {restoreModal, slashAnswer, sidecarUrl} = useSelector(pluginState);
    const subpath = useSelector(siteSubpath);
    const clients = useMemo(
        () => ({bridge: new BridgeClient(sidecarUrl ?? '/mm-backup'), mattermost: new MattermostClient(subpath)}),
        [sidecarUrl, subpath],
    );
    if (restoreModal?.source !== 'slash' && !slashAnswer) {
        return null;
    }
    return (
        <ClientsProvider clients={clients}>
            {restoreModal?.source === 'slash' && (
                <RestoreModal
                    snapshotId={restoreModal.snapshotId}
                    onClose={() => dispatch(openRestoreModal(null))}
                    onStarted={(job) =>
                        dispatch(
                            receivedSlashAnswer({
                                title: formatMessage({
                                    id: 'mattermost-backup.slash.restore_started.title',
                                    defaultMessage: 'Restore started',
                                }),
                                text: formatMessage(
                                    {
                                        id: 'mattermost-backup.slash.restore_started.text',
                                        defaultMessage:
                                            'Restore job {id} is running. Mattermost restarts during it; follow it in System Console > Plugins > Backup & Disaster Recovery.',
                                    },
                                    {id: job.id},
                                ),
                            }),
                        )
                    }
                />
            )}
            {slashAnswer && (
                <TextModal
                    title={slashAnswer.title}
                    text={slashAnswer.text}
                    onClose={() => dispatch(receivedSlashAnswer(null))}
                />
            )}
        </ClientsProvider>
    );
}
