// A real HTTP server standing in for the mm-backup sidecar's /healthz, on a free
// loopback port. It answers cross-origin requests the way the sidecar must when the
// Sidecar URL is a full URL: it allows the page's origin with credentials.

import http from 'node:http';
import type {AddressInfo} from 'node:net';

/** What the fake answers to every request. */
export type FakeReply = {
    status: number;
    contentType: string;
    body: string;
};

/** Accept the request and never answer, like a sidecar stuck on a lock. */
export const HANG = 'hang';

/** The sidecar's healthy answer. */
export const HEALTHY: FakeReply = {
    status: 200,
    contentType: 'application/json',
    body: JSON.stringify({status: 'ok', version: '0.1.0'}),
};

export type FakeSidecar = {
    /** Base URL, e.g. http://127.0.0.1:41234 (no trailing slash). */
    url: string;

    /** "METHOD /path" of every request received, in order. */
    requests: string[];

    /** Changes the answer for the following requests. */
    setReply(reply: FakeReply | typeof HANG): void;
    close(): Promise<void>;
};

export async function startFakeSidecar(initial: FakeReply | typeof HANG = HEALTHY): Promise<FakeSidecar> {
    let reply = initial;
    const requests: string[] = [];
    const server = http.createServer((req, res) => {
        requests.push(`${req.method} ${req.url}`);
        const origin = req.headers.origin;
        const cors: Record<string, string> = origin
            ? {'Access-Control-Allow-Origin': origin, 'Access-Control-Allow-Credentials': 'true', Vary: 'Origin'}
            : {};
        if (req.method === 'OPTIONS') {
            res.writeHead(204, {...cors, 'Access-Control-Allow-Headers': 'Accept'});
            res.end();
            return;
        }
        if (reply === HANG) {
            return;
        }
        res.writeHead(reply.status, {...cors, 'Content-Type': reply.contentType});
        res.end(reply.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const {port} = server.address() as AddressInfo;
    return {
        url: `http://127.0.0.1:${port}`,
        requests,
        setReply: (next) => {
            reply = next;
        },
        close: () =>
            new Promise<void>((resolve) => {
                server.closeAllConnections();
                server.close(() => resolve());
            }),
    };
}

/** A loopback URL on which nothing listens: a port we bound and released. */
export async function unusedUrl(): Promise<string> {
    const sidecar = await startFakeSidecar();
    await sidecar.close();
    return sidecar.url;
}
