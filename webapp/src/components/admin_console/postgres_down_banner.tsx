// PostgreSQL left down by a job of mm-backup (GET /v1/status `postgres_down`, docs/pitr.md
// "PostgreSQL left down"): Mattermost cannot work until it runs, so it is the page's loudest
// alert. Every field comes from the sidecar and is rendered as text (React escapes it), never as HTML.

import React from 'react';
import {FormattedDate, FormattedMessage, FormattedTime} from 'react-intl';

import type {PostgresDown} from '@mm-backup/api';

/** The alert for `down`; nothing when PostgreSQL is not left down. */
export default function PostgresDownBanner({down}: {down: PostgresDown | null | undefined}) {
    if (!down) {
        return null;
    }
    const since = down.since ? new Date(down.since) : null;
    return (
        <div className="alert alert-danger" role="alert" data-testid="postgres-down">
            <strong>
                {since ? (
                    <FormattedMessage
                        id="mattermost-backup.postgres_down.title_since"
                        defaultMessage="PostgreSQL was left DOWN by mm-backup since {date} {time}"
                        values={{
                            date: <FormattedDate value={since} year="numeric" month="short" day="2-digit" />,
                            time: <FormattedTime value={since} />,
                        }}
                    />
                ) : (
                    <FormattedMessage
                        id="mattermost-backup.postgres_down.title"
                        defaultMessage="PostgreSQL may be left DOWN by mm-backup (its record cannot be read)"
                    />
                )}
            </strong>
            <div data-testid="postgres-down-reason">
                <FormattedMessage
                    id="mattermost-backup.postgres_down.reason"
                    defaultMessage="Why: {reason}"
                    values={{reason: down.reason}}
                />
            </div>
            {down.start_command && (
                <div data-testid="postgres-down-start">
                    <FormattedMessage
                        id="mattermost-backup.postgres_down.start"
                        defaultMessage="Once its cause is fixed, start it on the sidecar host with: {command}"
                        values={{command: <code>{down.start_command}</code>}}
                    />
                </div>
            )}
            {!down.auto_start && (
                <div>
                    <FormattedMessage
                        id="mattermost-backup.postgres_down.no_auto_start"
                        defaultMessage="mm-backup does not start it automatically: it only looks whether it runs."
                    />
                </div>
            )}
            {down.last_retry && (
                <div data-testid="postgres-down-retry">
                    <FormattedMessage
                        id="mattermost-backup.postgres_down.last_retry"
                        defaultMessage="Last retry ({time}): {message}"
                        values={{
                            time: <FormattedTime value={new Date(down.last_retry.at)} />,
                            message: down.last_retry.message,
                        }}
                    />
                </div>
            )}
            <div>
                <FormattedMessage
                    id="mattermost-backup.postgres_down.docs"
                    defaultMessage="What to do: docs/pitr.md, section “PostgreSQL left down”. Backups, restores and physical-mode jobs are refused until it runs; off-site copies, prune and plain verification still run."
                />
            </div>
        </div>
    );
}
