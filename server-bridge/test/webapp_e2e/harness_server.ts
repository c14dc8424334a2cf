/**
 * A same-origin stand-in for the Mattermost web app serving the built plugin: one node:http
 * server that serves the harness page (with the admin's MMAUTHTOKEN/MMCSRF cookies), proxies
 * `/mm-backup/*` to the sidecar (as the nginx rule in build/packaging does) and `/api/v4/*` to
 * the Mattermost REST stand-in. The stand-in lacks `GET /users/me/teams[/{id}/channels]`, so
 * the harness answers those two from the stand-in's state.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { ServiceEnv } from '../support/service_env';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const MODULES = path.join(ROOT, 'node_modules');
const WEBAPP = path.join(ROOT, 'webapp');

export interface Harness {
  url: string;
  /** The Mattermost session cookies the page gets on its next load. */
  useSession(s: { token: string; csrf?: string }): void;
  close(): Promise<void>;
}

/** Builds the plugin bundle (as `npm run build -w webapp`) and the host's library bundle. */
export function buildAssets(outDir: string): { plugin: string; host: string } {
  const cli = path.join(MODULES, 'webpack-cli', 'bin', 'cli.js');
  execFileSync(process.execPath, [path.join(ROOT, 'build', 'manifest.mjs'), 'apply'], { cwd: WEBAPP, stdio: 'pipe' });
  execFileSync(process.execPath, [cli, '--mode', 'production'], { cwd: WEBAPP, stdio: 'pipe' });
  mkdirSync(outDir, { recursive: true });
  const config = path.join(outDir, 'host.webpack.cjs');
  writeFileSync(
    config,
    `module.exports = ${JSON.stringify({
      mode: 'production',
      entry: path.join(__dirname, 'host_globals.js'),
      context: outDir,
      output: { path: outDir, filename: 'host.js' },
      resolve: { modules: [MODULES] },
      externals: { react: 'React', 'react-dom': 'ReactDOM' },
      performance: { hints: false },
    })};\n`,
  );
  execFileSync(process.execPath, [cli, '--config', config], { cwd: outDir, stdio: 'pipe' });
  return { plugin: path.join(WEBAPP, 'dist', 'main.js'), host: path.join(outDir, 'host.js') };
}

function proxy(req: http.IncomingMessage, res: http.ServerResponse, target: string, pathname: string): void {
  const url = new URL(pathname, target);
  const upstream = http.request(url, { method: req.method, headers: { ...req.headers, host: url.host } }, (up) => {
    res.writeHead(up.statusCode ?? 502, up.headers);
    up.pipe(res);
  });
  upstream.on('error', () => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/html' });
    res.end('<html><body>502 Bad Gateway</body></html>');
  });
  req.pipe(upstream);
}

export async function startHarness(
  env: ServiceEnv,
  assets: { plugin: string; host: string },
  pluginId: string,
): Promise<Harness> {
  const statics: Record<string, string> = {
    '/static/react.js': path.join(MODULES, 'react', 'umd', 'react.production.min.js'),
    '/static/react-dom.js': path.join(MODULES, 'react-dom', 'umd', 'react-dom.production.min.js'),
    '/static/host.js': assets.host,
    '/static/plugin.js': assets.plugin,
    '/static/harness_page.js': path.join(__dirname, 'harness_page.js'),
    '/static/console.css': path.join(__dirname, 'console_styles.css'),
  };
  const admin = env.admin;
  // The session the page gets on its next load (a test may switch to a fresh one).
  let session: { token: string; csrf?: string } = admin;
  const entities = { users: { currentUserId: admin.id }, teams: { currentTeamId: env.team.id } };
  const page = `<!doctype html><html><head><meta charset="utf-8"><title>System Console - Backup</title>
<link rel="stylesheet" href="/static/console.css"></head><body class="app__body"><div id="root"></div>
<script>window.registeredPlugins = {}; window.registerPlugin = function (id, plugin) { window.registeredPlugins[id] = plugin; };
window.HARNESS = ${JSON.stringify({ pluginId, entities })};</script>
<script src="/static/react.js"></script><script src="/static/react-dom.js"></script><script src="/static/host.js"></script>
<script src="/static/plugin.js"></script><script src="/static/harness_page.js"></script></body></html>`;

  const server = http.createServer((req, res) => {
    const pathname = (req.url ?? '/').split('?')[0] ?? '/';
    const file = statics[pathname];
    if (pathname === '/' || pathname === '/admin_console/plugins/plugin_' + pluginId) {
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'set-cookie': [
          `MMAUTHTOKEN=${session.token}; Path=/; HttpOnly`,
          `MMUSERID=${admin.id}; Path=/`,
          `MMCSRF=${session.csrf ?? ''}; Path=/`,
        ],
      });
      res.end(page);
    } else if (file) {
      res.writeHead(200, { 'content-type': pathname.endsWith('.css') ? 'text/css' : 'text/javascript' });
      res.end(readFileSync(file));
    } else if (pathname.startsWith('/mm-backup/')) {
      proxy(req, res, env.sidecarUrl, (req.url ?? '').slice('/mm-backup'.length));
    } else if (pathname === '/api/v4/users/me/teams') {
      const teams = [...env.rest.state.teams.values()].filter((t) => env.rest.state.isTeamMember(t.id, admin.id));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(teams));
    } else if (/^\/api\/v4\/users\/me\/teams\/\w+\/channels$/.test(pathname)) {
      const teamId = pathname.split('/')[6];
      const channels = [...env.rest.state.channels.values()].filter(
        (c) => c.team_id === teamId && env.rest.state.isChannelMember(c.id, admin.id),
      );
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(channels));
    } else if (pathname.startsWith('/api/v4/')) {
      proxy(req, res, env.mmUrl, req.url ?? '/');
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    url,
    useSession: (s: { token: string; csrf?: string }) => {
      session = s;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
