// A real HTTP server playing the sidecar's /v1 API and the few Mattermost /api/v4 routes
// the page calls, on a free loopback port. Tests set its answers through `state`, make
// routes fail through `fail`, and read what the page sent from `requests`. It answers CORS
// with credentials like the sidecar does for listen.allowedOrigins, so the page's requests
// cross origins in jsdom exactly as a full Sidecar URL would in a browser.

import http from 'node:http';
import type {AddressInfo} from 'node:net';

import {API_VERSION, API_VERSION_HEADER, ROUTES} from '@mm-backup/api';
import type {
    ComponentKind,
    ConnectState,
    JobRecord,
    PitrPlan,
    RouteSchema,
    Settings,
    SnapshotListEntry,
    Status,
} from '@mm-backup/api';

// The schemas the real sidecar registers its routes with (@mm-backup/api): the fake refuses
// exactly what the sidecar refuses (ids, queries, bodies), so a page that sends what the real
// one rejects fails here too; and its own answers must pass the same response schemas.

export type Recorded = {method: string; path: string; body: unknown; headers: http.IncomingHttpHeaders};
export type Canned = {status: number; body: unknown; contentType?: string} | 'drop';

export type BridgeState = {
    status: Status;
    snapshots: SnapshotListEntry[];
    jobs: Map<string, JobRecord>;
    settings: Settings;

    /** GET /v1/components (its answer checked against the API's response schema like every other). */
    components: ComponentKind[];
    connect: ConnectState;
    teams: Array<{id: string; name: string; display_name: string}>;
    channels: Record<string, Array<{id: string; name: string; display_name: string; type: string; team_id: string}>>;

    /** Mattermost side of Connect: whether bot creation is allowed, the bot once created, tokens issued. */
    mm: {
        botCreation: boolean;
        bot: {id: string; username: string} | null;
        tokens: string[];
        configPatches: unknown[];
        members: string[];
        commands: Array<{id: string; team_id: string; trigger: string; url: string; method: string; token: string}>;
        commandsEnabled: boolean;
        untrusted: string;
    };

    /** The API version the fake speaks: its header and status's api_version; null plays a sidecar from before versioning (neither). */
    apiVersion: number | null;

    /** GET /v1/snapshots/{id}/tree: the page to answer with (a TreePage), or undefined for a 404. */
    tree: (snapshotId: string, q: URLSearchParams) => unknown;

    /** Called for POST /v1/jobs; returns the job to answer with (202). */
    onStartJob: (body: Record<string, unknown>) => JobRecord;

    /** GET /v1/pitr/plan: what enabling or disabling physical mode would check and change. */
    pitrPlan: PitrPlan;
};

export type FakeBridge = {
    url: string;
    state: BridgeState;

    /** `METHOD /path` → answer, used instead of the normal route while present. */
    fail: Map<string, Canned>;
    requests: Recorded[];

    /** Requests refused with 400 as the real sidecar would (`METHOD /path: problem`). */
    rejected: string[];

    /** Answers of the fake's own routes that its API schema refuses (a broken test fixture). */
    invalidAnswers: string[];
    close(): Promise<void>;
};

export const NOW = '2026-11-20T03:00:00.000Z';

/** Mattermost ids are 26 lower-case letters and digits; the sidecar refuses anything else. */
export const TEAM_ID = 'team1'.padEnd(26, '0');
export const CHANNEL_ID = 'ch1'.padEnd(26, '0');
const CHANNEL2_ID = 'ch2'.padEnd(26, '0');

export function snapshot(id: string, over: Partial<SnapshotListEntry> = {}): SnapshotListEntry {
    return {
        id,
        started_at: NOW,
        finished_at: NOW,
        mode: 'offline',
        trigger: 'schedule',
        bytes: 5 * 1024 ** 3,
        new_bytes: 12 * 1024 ** 2,
        files: 1200,
        files_read: 30,
        duration_ms: 95_000,
        downtime_ms: 61_000,
        mattermost_version: '11.2.0',
        schema_version: 146,
        components: [{id: 'database', status: 'ok', files: 1, bytes: 1024}],
        verification: {state: 'not_verified'},
        offsite: null,
        trust: 'signed',
        ...over,
    };
}

export function job(id: string, over: Partial<JobRecord> = {}): JobRecord {
    return {
        id,
        kind: 'backup',
        trigger: 'console',
        options: {},
        status: 'running',
        created_at: NOW,
        started_at: new Date(Date.now() - 30_000).toISOString(),
        steps: [
            {id: 'preflight', title: 'Check prerequisites', status: 'succeeded', duration_ms: 800},
            {id: 'stop', title: 'Stop Mattermost', status: 'succeeded', duration_ms: 2000},
            {id: 'database', title: 'Dump the database', status: 'running'},
            {id: 'start', title: 'Start Mattermost', status: 'pending'},
        ],
        current_step: 'database',
        progress: {step: 'database', done: 50, total: 100, unit: 'bytes', detail: '50 of 100 MB'},
        log_tail: [{at: NOW, level: 'info', message: 'dumping'}],
        ...over,
    };
}

/** A plan for a cluster where physical mode is off and every check passes (archive_mode needs a restart). */
export function pitrPlan(over: Partial<PitrPlan> = {}): PitrPlan {
    const check = (id: string, title: string, detail: string) => ({id, title, status: 'ok' as const, detail});
    return {
        phase: 'off',
        ready: true,
        checks: [
            check(
                'postgres',
                'PostgreSQL: the local cluster behind Mattermost',
                'PostgreSQL 15, data directory /var/lib/postgresql/15/main',
            ),
            check('pgbackrest', 'pgBackRest installed, in a version that supports this PostgreSQL', 'pgBackRest 2.45'),
            check('archiving', 'No other tool archives WAL', 'archive_mode = off'),
        ],
        changes: [
            {name: 'archive_mode', from: 'off', to: 'on', restart: true},
            {name: 'archive_command', from: '', to: 'pgbackrest archive-push %p', restart: false},
            {name: 'archive_timeout', from: '0', to: '60', restart: false},
        ],
        restart_needed: true,
        other_pending_restart: [],
        postgres_version: '15',
        pgbackrest_version: '2.45',
        stanza: 'mattermost',
        repository: '/var/backups/mm/pgbackrest',
        config_file: '/etc/mm-backup/pgbackrest/pgbackrest.conf',
        disable: null,
        ...over,
    };
}

export function defaultState(): BridgeState {
    return {
        status: {
            mattermost: {
                url: 'http://127.0.0.1:8065',
                reachable: true,
                state: 'ok',
                version: '11.2.0',
                schema_version: 146,
            },
            sidecar: {version: '0.1.0', connected: true, problems: []},
            repository: {
                path: '/var/backups/mm',
                location: '/var/backups/mm',
                snapshots: 0,
                bytes: 0,
                free_bytes: 80 * 1024 ** 3,
                total_bytes: 100 * 1024 ** 3,
            },
            last_backup: null,
            last_backup_job: null,
            next_backup: '2026-11-21T03:00:00.000Z',
            running_job: null,
        },
        snapshots: [],
        jobs: new Map(),
        settings: {
            schedule: {backup: '0 3 * * *', verify: '0 5 * * 0', timezone: 'UTC', prune_after_backup: true},
            retention: {keep_last: 7, keep_daily: 7, keep_weekly: 4, keep_monthly: 6},
            backup: {mode: 'offline', exclude: []},
            notify: {successes: 'each', daily_summary_at: '09:00'},
            status_channel: 'ops/backups',
        },
        components: [
            {
                id: 'database',
                title: 'Database (postgres)',
                description: "Mattermost's database.",
                store: 'database',
                location: 'SqlSettings.DataSource',
            },
            {
                id: 'config',
                title: 'Config directory',
                description: 'config.json and the certificates beside it.',
                store: 'files',
                location: 'the directory of config.json',
            },
            {
                id: 'data',
                title: 'File store (attachments)',
                description: 'Uploaded files.',
                store: 'files',
                location: 'FileSettings.Directory',
            },
            {
                id: 'logs',
                title: 'Logs',
                description: "Mattermost's log files.",
                store: 'files',
                location: 'LogSettings.FileLocation',
            },
        ],
        connect: {
            connected: true,
            bot_user_id: 'bot1',
            connected_at: NOW,
            status_channel: 'ops/backups',
            slash_url: 'http://sidecar.test/v1/slash',
            teams: ['ops'],
            problems: [],
        },
        teams: [{id: TEAM_ID, name: 'ops', display_name: 'Ops'}],
        channels: {
            [TEAM_ID]: [
                {id: CHANNEL_ID, name: 'backups', display_name: 'Backups', type: 'O', team_id: TEAM_ID},
                {id: CHANNEL2_ID, name: 'town-square', display_name: 'Town Square', type: 'O', team_id: TEAM_ID},
            ],
        },
        mm: {
            botCreation: true,
            bot: null,
            tokens: [],
            configPatches: [],
            members: [],
            commands: [],
            commandsEnabled: true,
            untrusted: '',
        },
        apiVersion: API_VERSION,
        tree: () => undefined,
        pitrPlan: pitrPlan(),
        onStartJob: (body) =>
            job('j'.repeat(26), {
                kind: body.kind as JobRecord['kind'],
                status: 'queued',
                steps: [],
                current_step: undefined,
                progress: undefined,
            }),
    };
}

function route(s: BridgeState, method: string, path: string, body: Record<string, unknown>): Canned {
    if (method === 'GET' && path.startsWith('/api/v4/commands?')) {
        const team = new URLSearchParams(path.split('?')[1]).get('team_id');
        return {status: 200, body: s.mm.commands.filter((c) => c.team_id === team)};
    }
    const ok = (b: unknown) => ({status: 200, body: b});
    const key = `${method} ${path.split('?')[0]}`;
    let m: RegExpExecArray | null;
    const versioned = s.apiVersion === null ? {} : {api_version: s.apiVersion};
    if (key === 'GET /healthz') {
        return ok({status: 'ok', version: '0.1.0', ...versioned});
    }
    if (key === 'GET /v1/status') {
        return ok({...s.status, ...versioned, repository: {...s.status.repository, snapshots: s.snapshots.length}});
    }
    if (key === 'GET /v1/snapshots') {
        return ok({snapshots: s.snapshots, broken: [], offsite_warning: null});
    }
    if ((m = /^GET \/v1\/snapshots\/([^/]+)\/tree$/.exec(key))) {
        const page = s.tree(decodeURIComponent(m[1] ?? ''), new URLSearchParams(path.split('?')[1] ?? ''));
        return page === undefined
            ? {status: 404, body: {id: 'mm_backup.not_found', message: 'no such directory', status_code: 404}}
            : ok(page);
    }
    if ((m = /^GET \/v1\/snapshots\/([^/]+)\/manifest$/.exec(key))) {
        return ok({formatVersion: 1, id: decodeURIComponent(m[1] ?? '')});
    }
    if (key === 'GET /v1/jobs') {
        return ok({jobs: [...s.jobs.values()]});
    }
    if ((m = /^GET \/v1\/jobs\/(\w+)$/.exec(key))) {
        const j = s.jobs.get(m[1] ?? '');
        return j ? ok(j) : {status: 404, body: {id: 'mm_backup.not_found', message: 'no such job', status_code: 404}};
    }
    if (key === 'POST /v1/jobs') {
        const j = s.onStartJob(body);
        s.jobs.set(j.id, j);
        return {status: 202, body: j};
    }
    if (key === 'POST /v1/restore/prepare') {
        return ok({
            confirmation_token: 'a'.repeat(32),
            expires_at: NOW,
            snapshot_id: body.snapshot_id,
            overwrites: ['database mattermost (all tables)', 'files in /opt/mattermost/data'],
            version_check: 'ok: snapshot schema 146, server schema 146',
            safety_snapshot: true,
        });
    }
    if (key === 'GET /v1/pitr/plan') {
        return ok(s.pitrPlan);
    }
    if (key === 'GET /v1/components') {
        // Checked against the API's response schema on the way out, like every answer of the fake.
        return ok({components: s.components});
    }
    if (key === 'GET /v1/settings') {
        return ok(s.settings);
    }
    if (key === 'PUT /v1/settings') {
        s.settings = {...s.settings, ...(body as Partial<Settings>)};
        return ok(s.settings);
    }
    if (key === 'GET /v1/connect') {
        return ok(s.connect);
    }
    if (key === 'POST /v1/connect') {
        s.connect = {...s.connect, connected: true};
        return ok({bot_user_id: 'bot1', bot_username: 'mm-backup', commands: [], problems: []});
    }
    if (key === 'GET /api/v4/users/me/teams') {
        return ok(s.teams);
    }
    if ((m = /^GET \/api\/v4\/users\/me\/teams\/(\w+)\/channels$/.exec(key))) {
        return ok(s.channels[m[1] ?? ''] ?? []);
    }
    return (
        mattermostRoute(s, key, body) ?? {
            status: 404,
            body: {id: 'api.context.404.app_error', message: `no route ${key}`, status_code: 404},
        }
    );
}

/** The Mattermost routes Connect uses, with Mattermost's error ids. */
function mattermostRoute(s: BridgeState, key: string, body: Record<string, unknown>): Canned | undefined {
    const mm = s.mm;
    let m: RegExpExecArray | null;
    if ((m = /^GET \/api\/v4\/users\/username\/([\w-]+)$/.exec(key))) {
        return mm.bot && mm.bot.username === m[1]
            ? {status: 200, body: {...mm.bot, is_bot: true}}
            : {status: 404, body: {id: 'app.user.missing_account.const', message: 'not found', status_code: 404}};
    }
    if (key === 'POST /api/v4/bots') {
        if (!mm.botCreation) {
            return {
                status: 403,
                body: {id: 'api.bot.create_disabled', message: 'Bot creation has been disabled.', status_code: 403},
            };
        }
        mm.bot = {id: 'botuser'.padEnd(26, '0'), username: String(body.username)};
        return {status: 201, body: {user_id: mm.bot.id, username: mm.bot.username}};
    }
    if ((m = /^POST \/api\/v4\/users\/(\w+)\/tokens$/.exec(key))) {
        const token = `t${mm.tokens.length}`.padEnd(26, 'x');
        mm.tokens.push(token);
        return {status: 200, body: {id: 'tokenid', token, user_id: m[1]}};
    }
    if (key === 'GET /api/v4/teams') {
        return {status: 200, body: s.teams};
    }
    if (key === 'POST /api/v4/commands') {
        if (!mm.commandsEnabled) {
            return {
                status: 501,
                body: {
                    id: 'api.command.disabled.app_error',
                    message: 'Commands have been disabled by the system admin.',
                    status_code: 501,
                },
            };
        }
        const cmd = {
            id: `cmd${mm.commands.length}`.padEnd(26, '0'),
            team_id: String(body.team_id),
            trigger: String(body.trigger),
            url: String(body.url),
            method: String(body.method),
            token: `ctok${mm.commands.length}`.padEnd(26, '0'),
        };
        mm.commands.push(cmd);
        return {status: 201, body: cmd};
    }
    if ((m = /^PUT \/api\/v4\/commands\/(\w+)$/.exec(key))) {
        const cmd = mm.commands.find((c) => c.id === m![1]);
        return cmd
            ? {status: 200, body: Object.assign(cmd, {url: String(body.url)})}
            : {
                  status: 404,
                  body: {id: 'store.sql_command.save.get.app_error', message: 'no command', status_code: 404},
              };
    }
    if (key === 'GET /api/v4/config') {
        return {
            status: 200,
            body: {
                ServiceSettings: {
                    EnableBotAccountCreation: mm.botCreation,
                    EnableCommands: mm.commandsEnabled,
                    AllowedUntrustedInternalConnections: mm.untrusted,
                },
            },
        };
    }
    if (key === 'PUT /api/v4/config/patch') {
        mm.configPatches.push(body);
        const svc = (body.ServiceSettings ?? {}) as Record<string, unknown>;
        if (svc.EnableBotAccountCreation) mm.botCreation = true;
        if (svc.EnableCommands) mm.commandsEnabled = true;
        if (typeof svc.AllowedUntrustedInternalConnections === 'string') {
            mm.untrusted = svc.AllowedUntrustedInternalConnections;
        }
        return {status: 200, body: {}};
    }
    if ((m = /^GET \/api\/v4\/teams\/name\/([\w-]+)$/.exec(key))) {
        const team = s.teams.find((t) => t.name === m![1]);
        return team
            ? {status: 200, body: team}
            : {status: 404, body: {id: 'app.team.get_by_name.missing.app_error', message: 'no team', status_code: 404}};
    }
    if ((m = /^GET \/api\/v4\/teams\/name\/([\w-]+)\/channels\/name\/([\w-]+)$/.exec(key))) {
        const team = s.teams.find((t) => t.name === m![1]);
        const channel = team && s.channels[team.id]?.find((c) => c.name === m![2]);
        return channel
            ? {status: 200, body: channel}
            : {
                  status: 404,
                  body: {id: 'app.channel.get_by_name.missing.app_error', message: 'no channel', status_code: 404},
              };
    }
    if ((m = /^POST \/api\/v4\/(teams|channels)\/(\w+)\/members$/.exec(key))) {
        mm.members.push(`${m[1]}:${m[2]}:${String(body.user_id)}`);
        return {status: 201, body: {}};
    }
    return undefined;
}

type Refused = {
    status: 400;
    body: {
        id: string;
        message: string;
        detailed_error: string;
        request_id: string;
        status_code: 400;
        errors: Array<{path: string; message: string}>;
    };
    contentType?: string;
};
type Issue = {path: PropertyKey[]; message: string; code?: string; keys?: string[]};

/** The sidecar's 400 for `value` against `schema` (same id, message and errors as http/typed_route.ts), if any. */
function invalid(schema: NonNullable<RouteSchema['body']>, value: unknown, where: string): Refused | undefined {
    const r = schema.safeParse(value);
    if (r.success) {
        return undefined;
    }
    const errors = (r.error.issues as Issue[]).flatMap((i) =>
        i.code === 'unrecognized_keys' && i.keys
            ? i.keys.map((k) => ({
                  path: [...i.path, k].map(String).join('.'),
                  message: 'Unrecognized key: not a field of this request',
              }))
            : [{path: i.path.map(String).join('.'), message: i.message}],
    );
    const message = errors.map((e) => `${[where, e.path].filter(Boolean).join('.')}: ${e.message}`).join('; ');
    return {
        status: 400,
        body: {
            id: 'api.context.invalid_param.app_error',
            message,
            detailed_error: '',
            request_id: '',
            status_code: 400,
            errors,
        },
    };
}

/** The route of ROUTES that `method path` is, with its path parameters. */
export function matchRoute(
    method: string,
    path: string,
): {def: RouteSchema; params: Record<string, string>} | undefined {
    for (const def of Object.values(ROUTES) as RouteSchema[]) {
        const names: string[] = [];
        const re = new RegExp(
            `^${def.path.replace(/:(\w+)/g, (_m, n: string) => {
                names.push(n);
                return '([^/]+)';
            })}$`,
        );
        const m = def.method === method ? re.exec(path) : null;
        if (m) {
            return {def, params: Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1] ?? '')]))};
        }
    }
    return undefined;
}

/** What the real sidecar refuses before doing anything: malformed ids, queries, bodies and JSON. */
export function refusal(method: string, url: string, raw: string): Refused | undefined {
    const [path = '', query = ''] = url.split('?');
    let body: unknown;
    try {
        body = raw ? JSON.parse(raw) : undefined;
    } catch {
        return {
            status: 400,
            body: {
                id: 'mm_backup.request.invalid',
                message: 'Body is not valid JSON',
                detailed_error: '',
                request_id: '',
                status_code: 400,
                errors: [],
            },
        };
    }
    const hit = matchRoute(method, path);
    if (!hit) {
        return undefined;
    }
    const {def, params} = hit;
    return (
        (def.params && invalid(def.params, params, '')) ||
        (def.query && invalid(def.query, Object.fromEntries(new URLSearchParams(query)), '')) ||
        (def.body && invalid(def.body, body, 'body')) ||
        undefined
    );
}

/** Problems of an answer of the fake's own routes against the route's response schema. */
function answerProblem(method: string, path: string, answer: Canned): string | undefined {
    const def = matchRoute(method, path.split('?')[0] ?? '')?.def;
    if (answer === 'drop' || !def?.response || answer.status >= 300) {
        return undefined;
    }
    const r = def.response.safeParse(answer.body);
    return r.success
        ? undefined
        : `${method} ${path}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`;
}

export async function startFakeBridge(init: Partial<BridgeState> = {}): Promise<FakeBridge> {
    const fake: FakeBridge = {
        url: '',
        state: {...defaultState(), ...init},
        fail: new Map(),
        requests: [],
        rejected: [],
        invalidAnswers: [],
        close: async () => undefined,
    };
    const server = http.createServer((req, res) => {
        const origin = req.headers.origin;
        const cors: Record<string, string> = origin
            ? {'Access-Control-Allow-Origin': origin, 'Access-Control-Allow-Credentials': 'true', Vary: 'Origin'}
            : {};
        if (req.method === 'OPTIONS') {
            res.writeHead(204, {
                ...cors,
                'Access-Control-Allow-Headers': 'Accept, Content-Type, X-CSRF-Token, X-Requested-With',
                'Access-Control-Allow-Methods': 'GET, POST, PUT',
            });
            res.end();
            return;
        }
        let raw = '';
        req.on('data', (c: Buffer) => {
            raw += c.toString();
        });
        req.on('end', () => {
            let body: Record<string, unknown> = {};
            try {
                body = raw ? JSON.parse(raw) : {};
            } catch {
                /* not JSON */
            }
            const path = req.url ?? '/';
            fake.requests.push({method: req.method ?? '', path, body, headers: req.headers});
            const key = `${req.method} ${path.split('?')[0]}`;
            const refused = refusal(req.method ?? '', path, raw);
            if (refused) {
                fake.rejected.push(`${key}: ${refused.body.message}`);
            }
            const failed = fake.fail.get(key);
            let answer = failed ?? refused ?? route(fake.state, req.method ?? '', path, body);
            if (answer === 'drop') {
                req.socket.destroy();
                return;
            }

            // Canned failures may be anything (that is what they test); the fake's own answers must be the API's.
            const problem = failed ? undefined : answerProblem(req.method ?? '', path, answer);
            if (problem) {
                fake.invalidAnswers.push(problem);
                answer = {status: 500, body: {id: 'fake_bridge.invalid_answer', message: problem, status_code: 500}};
            }
            const contentType = answer.contentType ?? 'application/json';
            const version: Record<string, string> =
                fake.state.apiVersion === null ||
                !(
                    key.startsWith('GET /v1') ||
                    key.startsWith('POST /v1') ||
                    key.startsWith('PUT /v1') ||
                    key === 'GET /healthz'
                )
                    ? {}
                    : {[API_VERSION_HEADER]: String(fake.state.apiVersion)};
            res.writeHead(answer.status, {
                ...cors,
                ...version,
                'Access-Control-Expose-Headers': API_VERSION_HEADER,
                'Content-Type': contentType,
            });
            res.end(contentType === 'application/json' ? JSON.stringify(answer.body) : String(answer.body));
        });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    fake.close = () =>
        new Promise<void>((resolve) => {
            server.closeAllConnections();
            server.close(() => resolve());
        });
    return fake;
}
