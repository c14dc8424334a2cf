// The snapshot browser: a snapshot's file tree, one directory page at a time (GET
// /v1/snapshots/{id}/tree), with sizes, breadcrumbs and paging, and download links for files and
// directories (a directory as a tar). Components that hold secrets are listed by name only and
// offer no download (the sidecar refuses them too); databases are dumps, not trees, and are not offered.

import React, {useEffect, useMemo, useState} from 'react';
import {FormattedDate, FormattedMessage, FormattedTime, useIntl} from 'react-intl';
import {useDispatch} from 'react-redux';

import type {SnapshotListEntry, TreePage} from '@mm-backup/api';
import {formatBytes} from 'src/format';
import {failureMessage, run} from 'src/state/actions';

import {useClients} from '../clients_context';
import {useComponents} from '../use_components';

const PAGE = 100;

type Props = {
    snapshots: SnapshotListEntry[];
};

type Where = {snapshot: string; component: string; path: string; cursor?: string};

export default function SnapshotBrowser({snapshots}: Props) {
    const {formatMessage} = useIntl();
    const {bridge} = useClients();
    const dispatch = useDispatch();
    const kinds = useComponents();
    const [where, setWhere] = useState<Where | null>(null);

    // The cursors of the pages before this one, so "Previous" goes back without a server-side offset.
    const [back, setBack] = useState<Array<string | undefined>>([]);
    // The last answer, with the request it answers: what is shown only when it answers this one.
    const [result, setResult] = useState<{key: string; page?: TreePage; error?: string} | null>(null);

    const trees = useMemo(() => {
        // Until the kinds are known nothing is offered (a database dump is not a tree); without them, every included non-database.
        const files =
            kinds.kind === 'ready'
                ? new Set(kinds.components.filter((k) => k.store === 'files').map((k) => k.id))
                : null;
        return (s: SnapshotListEntry | undefined) =>
            kinds.kind === 'loading'
                ? []
                : (s?.components ?? [])
                      .filter(
                          (c) =>
                              c.status === 'included' &&
                              (files ? files.has(c.id) : c.id !== 'database' && c.id !== 'config_store'),
                      )
                      .map((c) => c.id);
    }, [kinds]);

    const snapshot = snapshots.find((s) => s.id === where?.snapshot) ?? snapshots[0];
    const components = trees(snapshot);
    const component = where && components.includes(where.component) ? where.component : components[0];
    const here = where && where.snapshot === snapshot?.id && where.component === component ? where : null;
    const path = here ? here.path : '';
    const cursor = here ? here.cursor : undefined;
    const key = JSON.stringify([snapshot?.id, component, path, cursor]);

    useEffect(() => {
        if (!snapshot || !component) {
            return undefined;
        }
        let live = true;
        void run(dispatch, bridge, () => bridge.getTree(snapshot.id, {component, path, cursor, limit: PAGE})).then(
            (r) => {
                if (live) {
                    setResult(r.data ? {key, page: r.data} : {key, error: failureMessage(formatMessage, r.error)});
                }
            },
        );
        return () => {
            live = false;
        };
    }, [bridge, dispatch, formatMessage, snapshot, component, path, cursor, key]);
    const current = result && result.key === key ? result : null;
    const loading = current === null;
    const error = current?.error ?? null;

    if (!snapshot) {
        return null;
    }
    const go = (w: Partial<Where>) => {
        setBack([]);
        setWhere({snapshot: snapshot.id, component: component ?? '', path: '', ...w, cursor: undefined});
    };
    const open = (p: string) => go({snapshot: snapshot.id, component, path: p});
    const crumbs = path === '' ? [] : path.split('/');
    // The previous page stays up while the next one loads (no flicker), but never another directory's.
    const page = result?.page;
    const shown =
        page && page.snapshot_id === snapshot.id && page.path === path && page.component === component ? page : null;
    const download = (p: string) => bridge.downloadUrl(snapshot.id, component ?? '', p);

    return (
        <div className="mattermost-backup-browser" data-testid="snapshot-browser">
            <div className="mattermost-backup-browser__pickers" style={{display: 'flex', gap: 12, marginBottom: 8}}>
                <label>
                    <FormattedMessage id="mattermost-backup.browse.snapshot" defaultMessage="Snapshot" />{' '}
                    <select
                        className="form-control"
                        data-testid="browse-snapshot"
                        value={snapshot.id}
                        onChange={(e) =>
                            go({
                                snapshot: e.target.value,
                                component: trees(snapshots.find((s) => s.id === e.target.value))[0],
                            })
                        }
                    >
                        {snapshots.map((s) => (
                            <option key={s.id} value={s.id}>
                                {s.id}
                            </option>
                        ))}
                    </select>
                </label>
                <label>
                    <FormattedMessage id="mattermost-backup.browse.component" defaultMessage="Component" />{' '}
                    <select
                        className="form-control"
                        data-testid="browse-component"
                        value={component ?? ''}
                        onChange={(e) => go({component: e.target.value})}
                    >
                        {components.map((c) => (
                            <option key={c} value={c}>
                                {kinds.kind === 'ready' ? (kinds.components.find((k) => k.id === c)?.title ?? c) : c}
                            </option>
                        ))}
                    </select>
                </label>
            </div>
            {!component && kinds.kind !== 'loading' && (
                <p>
                    <FormattedMessage
                        id="mattermost-backup.browse.no_trees"
                        defaultMessage="This snapshot holds no file trees to browse."
                    />
                </p>
            )}
            {component && (
                <nav aria-label={formatMessage({id: 'mattermost-backup.browse.breadcrumbs', defaultMessage: 'Folder'})}>
                    <ol
                        className="breadcrumb"
                        data-testid="browse-breadcrumbs"
                        style={{display: 'flex', gap: 4, listStyle: 'none', padding: 0}}
                    >
                        <li>
                            <button type="button" className="btn btn-link btn-sm" onClick={() => open('')}>
                                {component}
                            </button>
                        </li>
                        {crumbs.map((seg, i) => (
                            <li key={crumbs.slice(0, i + 1).join('/')}>
                                {'/ '}
                                <button
                                    type="button"
                                    className="btn btn-link btn-sm"
                                    onClick={() => open(crumbs.slice(0, i + 1).join('/'))}
                                >
                                    {seg}
                                </button>
                            </li>
                        ))}
                    </ol>
                </nav>
            )}
            {shown?.secrets && (
                <div className="alert alert-info" data-testid="browse-secrets">
                    <FormattedMessage
                        id="mattermost-backup.browse.secrets"
                        defaultMessage="This component holds secrets (passwords, keys): only names are shown, and it cannot be downloaded from here. Restore it on the server with mm-backup restore."
                    />
                </div>
            )}
            {shown && !shown.secrets && !shown.downloadable && (
                <div className="alert alert-warning" data-testid="browse-untrusted">
                    <FormattedMessage
                        id="mattermost-backup.browse.untrusted"
                        defaultMessage="This snapshot is not signed by a trusted key, so its files are not offered for download."
                    />
                </div>
            )}
            {error && (
                <div className="alert alert-danger" role="alert" data-testid="browse-error">
                    {error}
                </div>
            )}
            {shown && (
                <>
                    {shown.downloadable && (
                        <p>
                            <a
                                className="btn btn-tertiary btn-sm"
                                href={download(path)}
                                download={true}
                                data-testid="browse-download-dir"
                            >
                                <FormattedMessage
                                    id="mattermost-backup.browse.download_dir"
                                    defaultMessage="Download this folder (.tar)"
                                />
                            </a>
                        </p>
                    )}
                    <table
                        className="table mattermost-backup-browser__table"
                        data-testid="browse-table"
                        aria-busy={loading}
                    >
                        <thead>
                            <tr>
                                <th>
                                    <FormattedMessage id="mattermost-backup.browse.name" defaultMessage="Name" />
                                </th>
                                <th style={{textAlign: 'right'}}>
                                    <FormattedMessage id="mattermost-backup.browse.size" defaultMessage="Size" />
                                </th>
                                <th>
                                    <FormattedMessage
                                        id="mattermost-backup.browse.modified"
                                        defaultMessage="Modified"
                                    />
                                </th>
                                <th />
                            </tr>
                        </thead>
                        <tbody>
                            {shown.entries.length === 0 && (
                                <tr>
                                    <td colSpan={4}>
                                        <FormattedMessage
                                            id="mattermost-backup.browse.empty"
                                            defaultMessage="This folder is empty."
                                        />
                                    </td>
                                </tr>
                            )}
                            {shown.entries.map((e) => {
                                const p = path === '' ? e.name : `${path}/${e.name}`;
                                return (
                                    <tr key={e.name} data-testid="browse-row" data-type={e.type}>
                                        <td>
                                            {e.type === 'dir' ? (
                                                <button
                                                    type="button"
                                                    className="btn btn-link btn-sm"
                                                    onClick={() => open(p)}
                                                >
                                                    {`${e.name}/`}
                                                </button>
                                            ) : (
                                                <span>{e.type === 'symlink' ? `${e.name} →` : e.name}</span>
                                            )}
                                        </td>
                                        <td style={{textAlign: 'right'}} data-testid="browse-size">
                                            {e.type === 'dir' && e.bytes !== undefined && (
                                                <FormattedMessage
                                                    id="mattermost-backup.browse.dir_size"
                                                    defaultMessage="{bytes} in {files, plural, one {# file} other {# files}}"
                                                    values={{bytes: formatBytes(e.bytes), files: e.files ?? 0}}
                                                />
                                            )}
                                            {e.type === 'file' && e.size !== undefined && formatBytes(e.size)}
                                        </td>
                                        <td>
                                            {e.mtime && (
                                                <>
                                                    <FormattedDate
                                                        value={e.mtime}
                                                        year="numeric"
                                                        month="short"
                                                        day="2-digit"
                                                    />{' '}
                                                    <FormattedTime value={e.mtime} hour="2-digit" minute="2-digit" />
                                                </>
                                            )}
                                        </td>
                                        <td>
                                            {shown.downloadable && e.type !== 'symlink' && (
                                                <a href={download(p)} download={true} data-testid="browse-download">
                                                    {e.type === 'dir' ? (
                                                        <FormattedMessage
                                                            id="mattermost-backup.browse.download_tar"
                                                            defaultMessage="Download (.tar)"
                                                        />
                                                    ) : (
                                                        <FormattedMessage
                                                            id="mattermost-backup.browse.download"
                                                            defaultMessage="Download"
                                                        />
                                                    )}
                                                </a>
                                            )}
                                        </td>
                                    </tr>
                                );
                            })}
                        </tbody>
                    </table>
                    <div style={{display: 'flex', gap: 8}}>
                        <button
                            type="button"
                            className="btn btn-tertiary btn-sm"
                            disabled={back.length === 0}
                            onClick={() => {
                                const prev = back.slice(0, -1);
                                setBack(prev);
                                setWhere({
                                    snapshot: snapshot.id,
                                    component: component ?? '',
                                    path,
                                    cursor: back[back.length - 1],
                                });
                            }}
                        >
                            <FormattedMessage id="mattermost-backup.browse.previous" defaultMessage="Previous" />
                        </button>
                        <button
                            type="button"
                            className="btn btn-tertiary btn-sm"
                            disabled={!shown.next_cursor}
                            onClick={() => {
                                setBack([...back, cursor]);
                                setWhere({
                                    snapshot: snapshot.id,
                                    component: component ?? '',
                                    path,
                                    cursor: shown.next_cursor ?? undefined,
                                });
                            }}
                        >
                            <FormattedMessage id="mattermost-backup.browse.next" defaultMessage="Next" />
                        </button>
                    </div>
                </>
            )}
        </div>
    );
}
