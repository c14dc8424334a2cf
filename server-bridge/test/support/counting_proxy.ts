/**
 * A TCP proxy on loopback in front of a real server: it counts the bytes the server sends back
 * (what a client really downloaded, whatever the client library says it asked for) and can cut
 * the connection once a given number of them has passed, the way a network drops mid-response.
 */
import net from 'node:net';

export interface CountingProxy {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  /** Bytes the server sent to clients since the last reset. */
  received(): number;
  /** Connections opened by clients since the last reset. */
  connections(): number;
  reset(): void;
  /** Cuts the connection that carries the server's next bytes once `bytes` more of them have passed (once). */
  cutAfter(bytes: number): void;
  close(): Promise<void>;
}

export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const { hostname, port } = new URL(target);
  let received = 0;
  let connections = 0;
  let cut: number | undefined;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    connections++;
    const upstream = net.connect(Number(port), hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      let data = chunk;
      if (cut !== undefined) {
        if (data.length >= cut) {
          data = data.subarray(0, cut);
          cut = undefined;
          received += data.length;
          client.write(data, () => {
            client.destroy();
            upstream.destroy();
          });
          return;
        }
        cut -= data.length;
      }
      received += data.length;
      client.write(data);
    });
    upstream.once('end', () => client.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    received: () => received,
    connections: () => connections,
    reset: () => {
      received = 0;
      connections = 0;
    },
    cutAfter: (bytes) => {
      cut = bytes;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
