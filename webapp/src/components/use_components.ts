// The component kinds the sidecar backs up (GET /v1/components), loaded once per mount: the
// page names components from the sidecar, which owns the list, instead of a copy of it here.

import {useEffect, useState} from 'react';
import {useDispatch} from 'react-redux';

import type {ComponentKind} from '@mm-backup/api';
import {run} from 'src/state/actions';
import type {ApiFailure} from 'src/state/types';

import {useClients} from './clients_context';

export type ComponentList =
    {kind: 'loading'} | {kind: 'ready'; components: ComponentKind[]} | {kind: 'failed'; failure: ApiFailure};

const noList: ApiFailure = {status: 200, id: 'not_json', message: 'the answer to /v1/components has no component list'};

export function useComponents(): ComponentList {
    const {bridge} = useClients();
    const dispatch = useDispatch();
    const [list, setList] = useState<ComponentList>({kind: 'loading'});
    useEffect(() => {
        let live = true;
        void run(dispatch, bridge, () => bridge.getComponents()).then((r) => {
            if (!live) {
                return;
            }
            // A sidecar too old for the route, or an answer without the list, leaves only the ids.
            const components = r.data && Array.isArray(r.data.components) ? r.data.components : undefined;
            setList(components ? {kind: 'ready', components} : {kind: 'failed', failure: r.error ?? noList});
        });
        return () => {
            live = false;
        };
    }, [bridge, dispatch]);
    return list;
}
