/**
 * Checks every request the stand-in receives and every response it sends against the official
 * API description (openapi-subset.yaml, a copy of /work/shared/mattermost/openapi-subset.yaml),
 * with Ajv: parameters (coerced from strings as OpenAPI says), JSON bodies and responses.
 *
 * The spec is patched in RELAXATIONS only where it is known to disagree with the real server
 * (FACTS §i); everything else the spec says is enforced as written.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { parse as parseYaml } from 'yaml';

type Json = Record<string, any>;

/**
 * The official spec in ../shared/mattermost beside the repository comes first; the identical copy
 * next to this file (a test keeps them equal) is only the fallback for a checkout without shared/.
 */
export function specPath(): string {
  // A spec named explicitly must be the one checked against: falling back would hide a typo.
  const named = process.env.MM_REST_OPENAPI_SPEC;
  if (named) {
    if (!existsSync(named)) throw new Error(`MM_REST_OPENAPI_SPEC names ${named}, which does not exist`);
    return named;
  }
  const candidates = [
    // testkit/src/mm_rest or testkit/dist/mm_rest: four levels up is beside the repository
    join(__dirname, '..', '..', '..', '..', 'shared', 'mattermost', 'openapi-subset.yaml'),
    join(__dirname, 'openapi-subset.yaml'),
    join(__dirname, '..', '..', 'src', 'mm_rest', 'openapi-subset.yaml'),
  ].filter(Boolean);
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`openapi-subset.yaml not found (looked in ${candidates.join(', ')})`);
  return found;
}

const SNAKE_COMMAND_RESPONSE = {
  type: 'object',
  properties: {
    response_type: { type: 'string' },
    text: { type: 'string' },
    username: { type: 'string' },
    channel_id: { type: 'string' },
    icon_url: { type: 'string' },
    type: { type: 'string' },
    props: { type: 'object', nullable: true },
    goto_location: { type: 'string' },
    trigger_id: { type: 'string' },
    skip_slack_parsing: { type: 'boolean' },
    attachments: { type: 'array', nullable: true },
    extra_responses: { type: 'array', nullable: true },
  },
};

function op(doc: Json, path: string, method: string): Json {
  const o = doc.paths?.[path]?.[method];
  if (!o) throw new Error(`spec has no ${method.toUpperCase()} ${path}`);
  return o as Json;
}

/** Each relaxation: which FACTS §i item, and the patch applied to the parsed spec. */
export const RELAXATIONS: Array<{ why: string; apply(doc: Json): void }> = [
  {
    why: '§i.1 CommandResponse is snake_case on the wire (POST /commands/execute 200)',
    apply(doc) {
      doc.components.schemas.CommandResponse = SNAKE_COMMAND_RESPONSE;
    },
  },
  {
    why: '§i.2 props is an object in PUT /posts/{post_id} and PUT /posts/{post_id}/patch',
    apply(doc) {
      for (const p of ['/api/v4/posts/{post_id}', '/api/v4/posts/{post_id}/patch']) {
        op(doc, p, 'put').requestBody.content['application/json'].schema.properties.props = {
          type: 'object',
          description: 'A general JSON property bag to attach to the post',
        };
      }
    },
  },
  {
    why: '§i.3 AppError always carries detailed_error (also: all five fields required, a stricter self-check)',
    apply(doc) {
      const s = doc.components.schemas.AppError;
      s.properties.detailed_error = { type: 'string' };
      s.required = ['id', 'message', 'detailed_error', 'request_id', 'status_code'];
    },
  },
  {
    why: '§i.4 ping: 500 body is the status map; ActiveSearchBackend and root_status exist',
    apply(doc) {
      const s = doc.components.schemas.SystemStatusResponse;
      s.properties.ActiveSearchBackend = { type: 'string' };
      s.properties.root_status = { type: 'boolean' };
      op(doc, '/api/v4/system/ping', 'get').responses['500'] = {
        description: 'Unhealthy',
        content: { 'application/json': { schema: { $ref: '#/components/schemas/SystemStatusResponse' } } },
      };
    },
  },
  {
    why: '§i.5 POST /plugins answers 201 with the manifest',
    apply(doc) {
      op(doc, '/api/v4/plugins', 'post').responses['201'] = {
        description: 'Installed',
        content: { 'application/json': { schema: { $ref: '#/components/schemas/PluginManifest' } } },
      };
    },
  },
  {
    why: '§i.6 POST /commands accepts every Command field',
    apply(doc) {
      const body = op(doc, '/api/v4/commands', 'post').requestBody.content['application/json'].schema;
      body.properties = { ...doc.components.schemas.Command.properties, ...body.properties };
    },
  },
  {
    why: '§i.7 login returns the session token in a Token header; and the handler answers 200, not the documented 201',
    apply(doc) {
      const responses = op(doc, '/api/v4/users/login', 'post').responses;
      responses['200'] = { ...responses['201'], headers: { Token: { schema: { type: 'string' } } } };
    },
  },
  {
    why: '§i.9 POST /posts takes query "silent" (DEV bundle); §f GET /config/client takes "format" (required before v11)',
    apply(doc) {
      op(doc, '/api/v4/posts', 'post').parameters.push({
        name: 'silent',
        in: 'query',
        required: false,
        schema: { type: 'boolean' },
      });
      const cc = op(doc, '/api/v4/config/client', 'get');
      cc.parameters = [
        ...(cc.parameters ?? []),
        { name: 'format', in: 'query', required: false, schema: { type: 'string' } },
      ];
    },
  },
];

/** §i.8: real routes the API description does not contain; requests and responses there are not spec-checked. */
export const UNSPECIFIED_ROUTES = ['GET /api/v4/system/schema/version', 'POST /hooks/commands/{id}'];

interface Spec {
  doc: Json;
  /** Parameter validator (coercing) and its per-operation cache. */
  params: Ajv;
  bodies: Ajv;
  cache: Map<string, ValidateFunction>;
}

let spec: Spec | undefined;

/** The patched spec and its Ajv instances (built once per process). */
export function loadSpec(): Spec {
  if (spec) return spec;
  const doc = parseYaml(readFileSync(specPath(), 'utf8')) as Json;
  for (const r of RELAXATIONS) r.apply(doc);
  const make = (coerce: boolean) => {
    // OpenAPI 3.0 schemas: `nullable` is understood by Ajv; int64/binary formats are OpenAPI-only annotations.
    const ajv = new Ajv({
      strict: false,
      allErrors: true,
      coerceTypes: coerce ? 'array' : false,
      formats: { int64: true, int32: true, binary: true },
    });
    addFormats(ajv);
    ajv.addSchema({ $id: 'spec', components: doc.components });
    return ajv;
  };
  spec = { doc, params: make(true), bodies: make(false), cache: new Map() };
  return spec;
}

/** Rewrites local refs ("#/components/...") to the registered spec document. */
function refd(schema: unknown): unknown {
  return JSON.parse(JSON.stringify(schema ?? {}).replace(/"#\/components\//g, '"spec#/components/'));
}

function compiled(key: string, ajv: Ajv, schema: unknown): ValidateFunction {
  const s = loadSpec();
  let v = s.cache.get(key);
  if (!v) {
    v = ajv.compile(refd(schema) as object);
    s.cache.set(key, v);
  }
  return v;
}

/** The spec operation for a route path template (the stand-in's templates are the spec's paths). */
export function operationFor(method: string, pathTemplate: string): Operation | undefined {
  const o = loadSpec().doc.paths?.[pathTemplate]?.[method.toLowerCase()] as Json | undefined;
  return o ? { ...o, path: pathTemplate, method: method.toLowerCase() } : undefined;
}

export type Operation = Json & {
  path: string;
  method: string;
  operationId?: string;
  responses?: Json;
  requestBody?: Json;
};

export interface CheckedRequest {
  method: string;
  /** The route's path template, e.g. /api/v4/posts/{post_id}. */
  pathTemplate: string;
  params: Record<string, string>;
  query: Record<string, string | string[]>;
  headers: Record<string, string | string[] | undefined>;
  rawBody: string;
}

function describe(errors: ErrorObject[] | null | undefined, where: string): string[] {
  return (errors ?? []).map((e) => {
    const extra = e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : '';
    return `${where}${e.instancePath} ${e.message ?? ''}${extra}`.trim();
  });
}

function paramSchema(o: Operation, where: 'path' | 'query'): Json {
  const ps = ((o.parameters ?? []) as Json[]).filter((p) => p.in === where);
  return {
    type: 'object',
    properties: Object.fromEntries(ps.map((p) => [p.name, p.schema ?? {}])),
    required: ps.filter((p) => p.required || where === 'path').map((p) => p.name),
    additionalProperties: false,
  };
}

/** Problems of a request against the spec ([] when fine), and the matched operation. */
export function checkRequest(r: CheckedRequest): { problems: string[]; operation?: Operation } {
  const o = operationFor(r.method, r.pathTemplate);
  if (!o) return { problems: [`${r.method} ${r.pathTemplate} is not in the API description`] };
  const s = loadSpec();
  const problems: string[] = [];
  const key = `${r.method} ${r.pathTemplate}`;
  for (const where of ['path', 'query'] as const) {
    const v = compiled(`${key} ${where}`, s.params, paramSchema(o, where));
    if (!v(structuredClone(where === 'path' ? r.params : r.query))) problems.push(...describe(v.errors, where));
  }
  const rb = o.requestBody;
  const types = Object.keys(rb?.content ?? {});
  if (r.rawBody === '') {
    if (rb?.required) problems.push('request body is required');
  } else if (types.length === 0) {
    problems.push('request has a body but the operation takes none');
  } else {
    const ct = String(r.headers['content-type'] ?? '')
      .split(';')[0]!
      .trim()
      .toLowerCase();
    if (!types.includes(ct)) problems.push(`Content-Type is "${ct}", the operation takes ${types.join(', ')}`);
    else if (ct === 'application/json') {
      let body: unknown;
      try {
        body = JSON.parse(r.rawBody);
      } catch {
        problems.push('request body is not valid JSON');
        return { problems, operation: o };
      }
      const v = compiled(`${key} body`, s.bodies, rb!.content[ct].schema);
      if (!v(body)) problems.push(...describe(v.errors, 'body'));
    }
  }
  return { problems, operation: o };
}

/** Problems of a response against the spec ([] when fine). */
export function checkResponse(o: Operation, status: number, contentType: string, body: unknown): string[] {
  const declared = Object.keys(o.responses ?? {});
  const problems: string[] = [];
  const isPing500 = o.operationId === 'GetPing' && status === 500;
  if (status < 400) {
    if (!declared.includes(String(status))) {
      problems.push(`status ${status} is not documented (documented: ${declared.join(', ')})`);
    }
  } else if (!isPing500) {
    // The spec's error lists are incomplete (the server answers 404/501 in many places); every error must still be an AppError.
    const v = compiled('AppError', loadSpec().bodies, { $ref: '#/components/schemas/AppError' });
    const b = body as Json;
    if (!v(body)) problems.push(...describe(v.errors, 'error body'));
    else if (Object.keys(b).length !== 5) problems.push(`AppError has extra keys: ${Object.keys(b).join(', ')}`);
    else if (b.status_code !== status) problems.push(`AppError status_code ${String(b.status_code)} != HTTP ${status}`);
    return problems;
  }
  const resp = o.responses?.[String(status)] as Json | undefined;
  const content = resp?.content as Json | undefined;
  if (!content) return problems;
  const ct = contentType.split(';')[0]!.trim();
  if (!(ct in content)) {
    problems.push(`Content-Type ${contentType} is not documented for ${status}`);
    return problems;
  }
  const v = compiled(`${o.method} ${o.path} ${status}`, loadSpec().bodies, content[ct].schema);
  if (!v(body)) problems.push(...describe(v.errors, 'response'));
  return problems;
}
