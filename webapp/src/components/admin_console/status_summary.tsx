// The overview of GET /v1/status: last backup, next scheduled one, repository usage,
// setup problems the sidecar reports, and first of all a PostgreSQL a job of ours left down.

import React from 'react';
import {FormattedDate, FormattedMessage, FormattedTime, useIntl} from 'react-intl';

import type {Status} from '@mm-backup/api';
import {formatBytes, formatDuration} from 'src/format';
import {ENUM_MESSAGES} from 'src/i18n/enum_messages';

import {InlineCode, isConnectProblem, isNotConnectedProblem} from '../common/inline_code';
import {ID_STYLE} from '../common/snapshot_id';

import PostgresDownBanner from './postgres_down_banner';

function When({iso}: {iso: string}) {
    const d = new Date(iso);
    return (
        <>
            <FormattedDate value={d} year="numeric" month="short" day="2-digit" /> <FormattedTime value={d} />
        </>
    );
}

function Row({label, children, testId}: {label: React.ReactNode; children: React.ReactNode; testId?: string}) {
    return (
        <tr data-testid={testId}>
            <th scope="row">{label}</th>
            <td>{children}</td>
        </tr>
    );
}

export default function StatusSummary({status}: {status: Status}) {
    const {formatMessage} = useIntl();
    const last = status.last_backup;
    const failedJob = status.last_backup_job?.status === 'failed' ? status.last_backup_job : null;
    const repo = status.repository;
    // Problems that Connect fixes are the Connect warning's (with its button), shown by the dashboard.
    const problems = status.sidecar.problems.filter((p) => !isConnectProblem(p) && !isNotConnectedProblem(p));
    return (
        <div className="mattermost-backup-status">
            {/* First: with its database down Mattermost does not work, whatever else says. */}
            <PostgresDownBanner down={status.postgres_down} />
            {problems.length > 0 && (
                <div className="alert alert-warning" data-testid="setup-problems">
                    <ul>
                        {problems.map((p) => (
                            <li key={p}>
                                <InlineCode text={p} />
                            </li>
                        ))}
                    </ul>
                </div>
            )}
            {status.lock?.state === 'stale' && (
                <div className="alert alert-danger" role="alert" data-testid="stale-lock">
                    <FormattedMessage
                        id="mattermost-backup.status.stale_lock"
                        defaultMessage="A {kind} job was killed before it finished and left its lock: {message}"
                        values={{kind: status.lock.kind ?? '?', message: status.lock.message}}
                    />
                </div>
            )}
            {(status.interrupted_jobs ?? []).map((j) => (
                <div
                    key={j.id}
                    className={`alert ${/HALF-RESTORED|could NOT|FAILED/.test(j.message) ? 'alert-danger' : 'alert-warning'}`}
                    role="alert"
                    data-testid="interrupted-job"
                >
                    <FormattedMessage
                        id="mattermost-backup.status.interrupted"
                        defaultMessage="Interrupted {kind} job ({when}): {message}"
                        values={{kind: j.kind, when: <When iso={j.finished_at ?? j.created_at} />, message: j.message}}
                    />
                    {j.hint && <div>{j.hint}</div>}
                </div>
            ))}
            {failedJob && failedJob.error?.code !== 'INTERRUPTED' && (
                <div className="alert alert-danger" role="alert">
                    <FormattedMessage
                        id="mattermost-backup.status.last_failed"
                        defaultMessage="The last backup failed: {message}"
                        values={{message: failedJob.error?.message ?? ''}}
                    />
                    {failedJob.error?.hint && <div>{failedJob.error.hint}</div>}
                </div>
            )}
            <table className="table mattermost-backup-status__table">
                <tbody>
                    <Row
                        testId="last-backup"
                        label={<FormattedMessage id="mattermost-backup.status.last" defaultMessage="Last backup" />}
                    >
                        {last ? (
                            <FormattedMessage
                                id="mattermost-backup.status.last_value"
                                defaultMessage="{when}: {mode}, {size} ({newData} new), took {duration}, Mattermost down for {downtime}"
                                values={{
                                    when: <When iso={last.finished_at} />,
                                    mode: formatMessage(ENUM_MESSAGES.mode, {mode: last.mode}),
                                    size: formatBytes(last.bytes),
                                    newData: formatBytes(last.new_bytes),
                                    duration: formatDuration(last.duration_ms),
                                    downtime: formatDuration(last.downtime_ms),
                                }}
                            />
                        ) : (
                            <FormattedMessage id="mattermost-backup.status.none" defaultMessage="No backup yet" />
                        )}
                    </Row>
                    <Row
                        testId="next-backup"
                        label={<FormattedMessage id="mattermost-backup.status.next" defaultMessage="Next scheduled" />}
                    >
                        {status.next_backup ? (
                            <When iso={status.next_backup} />
                        ) : (
                            <FormattedMessage
                                id="mattermost-backup.status.unscheduled"
                                defaultMessage="Not scheduled"
                            />
                        )}
                    </Row>
                    <Row
                        testId="repository"
                        label={
                            <FormattedMessage id="mattermost-backup.status.repository" defaultMessage="Repository" />
                        }
                    >
                        <FormattedMessage
                            id="mattermost-backup.status.repository_value"
                            defaultMessage="{location}: {count, plural, one {# snapshot} other {# snapshots}}, {used} used, {free} free"
                            values={{
                                location: <code style={ID_STYLE}>{repo.location}</code>,
                                count: repo.snapshots,
                                used: formatBytes(repo.bytes),
                                free: repo.free_bytes === null ? '?' : formatBytes(repo.free_bytes),
                            }}
                        />
                    </Row>
                    <Row
                        testId="mattermost"
                        label={
                            <FormattedMessage id="mattermost-backup.status.mattermost" defaultMessage="Mattermost" />
                        }
                    >
                        <FormattedMessage
                            id="mattermost-backup.status.mattermost_value"
                            defaultMessage="{state}, version {version}, schema {schema}; sidecar {sidecar}"
                            values={{
                                state: formatMessage(
                                    {
                                        id: 'mattermost-backup.status.mattermost_state',
                                        defaultMessage:
                                            '{reachable, select, true {reachable} other {not reachable ({state, select, unhealthy {unhealthy} down {down} other {{state}}})}}',
                                    },
                                    {reachable: status.mattermost.reachable, state: status.mattermost.state},
                                ),
                                version: status.mattermost.version ?? '?',
                                schema: status.mattermost.schema_version ?? '?',
                                sidecar: status.sidecar.version,
                            }}
                        />
                    </Row>
                </tbody>
            </table>
        </div>
    );
}
