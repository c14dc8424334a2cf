/**
 * The stand-in's HTTP server: loads the install's settings, waits for the database like the real
 * server does at boot, serves the routes of http_api.ts, and optionally runs the writer.
 */
import { appendFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errText, sleep } from '../proc_util';
import { withSqlConn } from '../sql_conn';
import { handleApi, log, matchRoute, versionId, type StandinState } from './http_api';
import { createMattermostRest } from '../mm_rest';
import { loadStandinSettings, type StandinSettings } from './mm_config';
import { startWriter, type Writer } from './writer';

/** Options for runStandin. */
export interface RunStandinOptions {
  installDir: string;
  /** Overrides ServiceSettings.ListenAddress's port. */
  port?: number;
  /** Overrides the version read from bin/mattermost. */
  version?: string;
  writer?: boolean;
  writerIntervalMs?: number;
  /** How long to wait for the database at boot before giving up (default 15 s). */
  dbWaitMs?: number;
  /** Each spec violation is appended here as a JSON line (the stand-in runs in its own process; tests read this). */
  violationsFile?: string;
}

/** A stand-in serving in this process. */
export interface RunningStandin {
  port: number;
  url: string;
  settings: StandinSettings;
  writer?: Writer;
  /** Stops the writer, then the HTTP server (open connections are closed). */
  close(): Promise<void>;
}

/** Starts the stand-in in this process; rejects if the config is unusable, the DB stays down or the port is taken. */
export async function runStandin(o: RunStandinOptions): Promise<RunningStandin> {
  const deadline = Date.now() + (o.dbWaitMs ?? 15_000);
  // Like Mattermost, refuse to come up without a database (the config itself may live in it).
  let settings: StandinSettings | undefined;
  for (;;) {
    try {
      settings = await loadStandinSettings(o.installDir, { port: o.port, version: o.version });
      await withSqlConn(settings.db, (c) => c.query('SELECT 1'));
      break;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`cannot start: ${errText(err)}`);
      await sleep(250);
    }
  }
  log(
    `config from ${settings.configSource}; database ${settings.driver} ${settings.db.host}:${settings.db.port}/${settings.db.database}; files in ${settings.fileDir}; version ${settings.version}`,
  );
  const state: StandinState = { settings, startedAt: Date.now() };
  // One REST implementation: this process answers ping and client config itself (they check
  // the real database and file store); every other Mattermost route comes from the REST stand-in.
  const violationsFile = o.violationsFile;
  const rest = createMattermostRest({
    version: settings.version,
    siteUrl: `http://${settings.listenHost}:${settings.listenPort}`,
    onViolation: violationsFile ? (v) => appendFileSync(violationsFile, `${JSON.stringify(v)}\n`) : undefined,
  });
  const server: Server = createServer((req, res) => {
    const own = matchRoute(req.method ?? 'GET', new URL(req.url ?? '/', 'http://x').pathname) !== undefined;
    if (!own) {
      void rest.handle(req, res).then(
        (served) => {
          if (!served) void answer(req, res);
        },
        () => {
          void answer(req, res);
        },
      );
      return;
    }
    void answer(req, res);
  });
  const answer = (req: IncomingMessage, res: ServerResponse) =>
    handleApi(state, req).then((r) => {
      const body = r.raw ?? (r.body === undefined ? '' : JSON.stringify(r.body));
      res.writeHead(r.status, {
        'Content-Type': r.contentType ?? 'application/json',
        'X-Request-ID': r.requestId,
        'X-Version-ID': versionId(state),
        'Cache-Control': 'no-cache, max-age=31556926, public',
        ...r.headers,
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.listenPort, settings.listenHost, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${settings.listenHost}:${port}`;
  log(`listening on ${url}`);
  const writer = o.writer ? startWriter(settings, o.writerIntervalMs ?? 20) : undefined;
  return {
    port,
    url,
    settings,
    writer,
    async close() {
      await writer?.stop();
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
    },
  };
}
