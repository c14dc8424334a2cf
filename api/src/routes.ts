/**
 * Every route of the sidecar with the schemas of its parameters, query, body and answer.
 * The sidecar registers its handlers against this table (and validates both directions);
 * the page's client validates every answer with `response` at its boundary.
 */
import {z} from 'zod';

import {downloadQuery, treePage, treeQuery} from './browse';
import {jobId, snapshotRef, statusOk} from './common';
import {componentList} from './components';
import {connectReport, connectRequest, connectState} from './connect';
import {jobList, jobRecord, listJobsQuery, startJobRequest} from './jobs';
import {pitrPlan} from './pitr';
import {prepareRestoreRequest, restorePreparation} from './restore';
import {settings, settingsPatch} from './settings';
import {manifest, snapshot, snapshotList} from './snapshots';
import {health, status} from './status';

export interface RouteSchema {
    method: 'GET' | 'POST' | 'PUT';
    path: string;
    params?: z.ZodType;
    query?: z.ZodType;
    body?: z.ZodType;
    /** The answer's schema; null for answers that are not one JSON document (SSE, metrics). */
    response: z.ZodType | null;
    /** Reachable without a Mattermost session. */
    public?: true;
}

const idParams = z.strictObject({id: snapshotRef});
const jobParams = z.strictObject({id: jobId});

export const ROUTES = {
    health: {method: 'GET', path: '/healthz', response: health, public: true},
    status: {method: 'GET', path: '/v1/status', response: status},
    components: {method: 'GET', path: '/v1/components', response: componentList},
    snapshots: {method: 'GET', path: '/v1/snapshots', response: snapshotList},
    snapshot: {method: 'GET', path: '/v1/snapshots/:id', params: idParams, response: snapshot},
    manifest: {method: 'GET', path: '/v1/snapshots/:id/manifest', params: idParams, response: manifest},
    snapshotTree: {
        method: 'GET',
        path: '/v1/snapshots/:id/tree',
        params: idParams,
        query: treeQuery,
        response: treePage,
    },
    /** A file's bytes, or a directory as a tar (application/x-tar); not one JSON document. */
    snapshotDownload: {
        method: 'GET',
        path: '/v1/snapshots/:id/download',
        params: idParams,
        query: downloadQuery,
        response: null,
    },
    listJobs: {method: 'GET', path: '/v1/jobs', query: listJobsQuery, response: jobList},
    getJob: {method: 'GET', path: '/v1/jobs/:id', params: jobParams, response: jobRecord},
    startJob: {method: 'POST', path: '/v1/jobs', body: startJobRequest, response: jobRecord},
    cancelJob: {method: 'POST', path: '/v1/jobs/:id/cancel', params: jobParams, response: statusOk},
    /** Server-Sent Events; each event's data is a jobRecord. */
    jobEvents: {method: 'GET', path: '/v1/jobs/:id/events', params: jobParams, response: null},
    prepareRestore: {
        method: 'POST',
        path: '/v1/restore/prepare',
        body: prepareRestoreRequest,
        response: restorePreparation,
    },
    /** What enabling (or disabling) physical mode would check and change; changes nothing. Since API 4. */
    pitrPlan: {method: 'GET', path: '/v1/pitr/plan', response: pitrPlan},
    getSettings: {method: 'GET', path: '/v1/settings', response: settings},
    putSettings: {method: 'PUT', path: '/v1/settings', body: settingsPatch, response: settings},
    getConnect: {method: 'GET', path: '/v1/connect', response: connectState},
    connect: {method: 'POST', path: '/v1/connect', body: connectRequest, response: connectReport},
} as const satisfies Record<string, RouteSchema>;

export type RouteName = keyof typeof ROUTES;
/** The answer type of a route. */
export type ResponseOf<R extends RouteName> = (typeof ROUTES)[R]['response'] extends z.ZodType
    ? z.output<(typeof ROUTES)[R]['response']>
    : never;

/** The routes whose answer is one JSON document (all but the SSE stream). */
export type JsonRouteName = {[K in RouteName]: (typeof ROUTES)[K]['response'] extends null ? never : K}[RouteName];
