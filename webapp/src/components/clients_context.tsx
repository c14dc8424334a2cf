// Gives components the sidecar and Mattermost clients without threading them through
// props; the dashboard and the root component each provide them.

import React, {createContext, useContext} from 'react';

import type {BridgeClient} from 'src/client/bridge_client';
import type {MattermostClient} from 'src/client/mattermost_client';

export type Clients = {bridge: BridgeClient; mattermost: MattermostClient};

const ClientsContext = createContext<Clients | null>(null);

export function ClientsProvider({clients, children}: {clients: Clients; children: React.ReactNode}) {
    return <ClientsContext.Provider value={clients}>{children}</ClientsContext.Provider>;
}

export function useClients(): Clients {
    const clients = useContext(ClientsContext);
    if (!clients) {
        throw new Error('useClients needs a ClientsProvider');
    }
    return clients;
}
