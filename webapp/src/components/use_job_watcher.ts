// Follows the job in the store until it finishes: polls GET /v1/jobs/{id}, and when a
// request fails (an offline backup or a restore stops Mattermost, and a proxy or the
// session check may fail meanwhile) shows "Mattermost is restarting…" and retries with
// backoff. When the job ends it reloads status and snapshots.
//
// Polling rather than the SSE stream: it survives proxies that buffer event streams and
// needs no reconnect logic, and one request a second is cheap for the sidecar.

import {useEffect} from 'react';
import {useDispatch, useSelector} from 'react-redux';

import {loadOverview, receivedConnection, receivedJob, run} from 'src/state/actions';
import {pluginState} from 'src/state/selectors';
import {backoffMs, timing} from 'src/timing';
import {isActive} from 'src/job_progress_math';

import {useClients} from './clients_context';

export function useJobWatcher(): void {
    const {bridge} = useClients();
    const dispatch = useDispatch();
    const job = useSelector((s: unknown) => pluginState(s).job);
    const jobId = isActive(job) ? job.id : null;

    useEffect(() => {
        if (!jobId) {
            return undefined;
        }
        let stopped = false;
        let timer: ReturnType<typeof setTimeout> | undefined;
        let failures = 0;
        const tick = async () => {
            const delay = backoffMs(failures);
            const r = await run(dispatch, bridge, () => bridge.getJob(jobId), {jobRunning: true, retryInMs: delay});
            if (stopped) {
                return;
            }
            if (r.error) {
                failures++;
                timer = later(delay);
                return;
            }
            failures = 0;
            dispatch(receivedJob(r.data));
            if (isActive(r.data)) {
                timer = later(timing.jobPollMs);
            } else {
                dispatch(receivedConnection({kind: 'ok'}));
                await loadOverview(dispatch, bridge);
            }
        };
        const later = (ms: number) =>
            setTimeout(() => {
                void tick();
            }, ms);
        timer = later(timing.jobPollMs);
        return () => {
            stopped = true;
            clearTimeout(timer);
        };
    }, [jobId, bridge, dispatch]);
}
