import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RELAXATIONS, specPath } from '../../src/mm_rest';
import { checkRequest, checkResponse, operationFor } from '../../src/mm_rest/openapi_check';

const req = (
  method: string,
  pathTemplate: string,
  body?: unknown,
  query: Record<string, string> = {},
  params: Record<string, string> = {},
) =>
  checkRequest({
    method,
    pathTemplate,
    params,
    query,
    headers: { 'content-type': 'application/json' },
    rawBody: body === undefined ? '' : JSON.stringify(body),
  });

test('the spec copy is the shared openapi-subset.yaml', () => {
  // shared/ is beside the repository on developer machines and in CI (MM_SHARED_OPENAPI_SPEC
  // points elsewhere). A missing file fails: a check that cannot see the spec proves nothing.
  const shared =
    process.env.MM_SHARED_OPENAPI_SPEC ?? join(__dirname, '../../../../shared/mattermost/openapi-subset.yaml');
  expect({ shared, exists: existsSync(shared) }).toEqual({ shared, exists: true });
  const copy = join(__dirname, '../../src/mm_rest/openapi-subset.yaml');
  expect(readFileSync(copy, 'utf8')).toBe(readFileSync(shared, 'utf8'));
  expect(readFileSync(specPath(), 'utf8')).toBe(readFileSync(shared, 'utf8'));
});

test('a spec named explicitly but missing is an error, never a silent fallback', () => {
  const saved = process.env.MM_REST_OPENAPI_SPEC;
  process.env.MM_REST_OPENAPI_SPEC = '/nonexistent/openapi-subset.yaml';
  try {
    expect(() => specPath()).toThrow(
      'MM_REST_OPENAPI_SPEC names /nonexistent/openapi-subset.yaml, which does not exist',
    );
  } finally {
    if (saved === undefined) delete process.env.MM_REST_OPENAPI_SPEC;
    else process.env.MM_REST_OPENAPI_SPEC = saved;
  }
});

test('relaxations are documented and limited to FACTS §i (and §f for format=old)', () => {
  expect(RELAXATIONS.map((r) => r.why.slice(0, 4))).toEqual([
    '§i.1',
    '§i.2',
    '§i.3',
    '§i.4',
    '§i.5',
    '§i.6',
    '§i.7',
    '§i.9',
  ]);
});

test('requests: required fields, types, unknown query parameters; props object allowed in patch', () => {
  expect(req('POST', '/api/v4/posts', { channel_id: 'c', message: 'm' }, { set_online: 'false' }).problems).toEqual([]);
  expect(req('POST', '/api/v4/posts', { message: 'm' }).problems.join()).toContain('channel_id');
  expect(req('POST', '/api/v4/posts', { channel_id: 'c', message: 1 }).problems.join()).toContain('/message');
  expect(req('PUT', '/api/v4/posts/{post_id}/patch', { props: { a: 1 } }, {}, { post_id: 'p' }).problems).toEqual([]);
  expect(req('PUT', '/api/v4/posts/{post_id}', { id: 'p', props: { a: 1 } }, {}, { post_id: 'p' }).problems).toEqual(
    [],
  );
  expect(
    req('POST', '/api/v4/commands', {
      team_id: 't',
      trigger: 'x',
      method: 'P',
      url: 'http://x',
      auto_complete: 'yes',
    }).problems.join(),
  ).toContain('auto_complete');
  expect(
    req('GET', '/api/v4/system/ping', undefined, { get_server_status: 'true', use_rest_semantics: 'true' }).problems,
  ).toEqual([]);
  expect(req('GET', '/api/v4/config/client', undefined, { format: 'old' }).problems).toEqual([]);
  expect(req('GET', '/api/v4/teams', undefined, { per_page: 'many' }).problems.join()).toContain('per_page');
  expect(req('POST', '/api/v4/users/login').problems).toEqual(['request body is required']);
});

test('responses: undocumented success status, wrong types, and non-AppError errors are caught', () => {
  const getPost = operationFor('GET', '/api/v4/posts/{post_id}')!;
  expect(checkResponse(getPost, 200, 'application/json', { id: 'x', create_at: 1, props: {} })).toEqual([]);
  expect(checkResponse(getPost, 200, 'application/json', { id: 5 }).join()).toContain('/id');
  expect(checkResponse(getPost, 201, 'application/json', {}).join()).toContain('not documented');
  expect(checkResponse(getPost, 404, 'application/json', { id: 'x', message: 'm' }).join()).toContain('detailed_error');
  expect(
    checkResponse(getPost, 404, 'application/json', {
      id: 'x',
      message: 'm',
      detailed_error: '',
      request_id: 'r',
      status_code: 404,
    }),
  ).toEqual([]);
  const exec = operationFor('POST', '/api/v4/commands/execute')!;
  expect(checkResponse(exec, 200, 'application/json', { response_type: 'ephemeral', text: 'hi' })).toEqual([]);
  expect(checkResponse(exec, 200, 'application/json', { response_type: 1 }).join()).toContain('response_type');
  const ping = operationFor('GET', '/api/v4/system/ping')!;
  expect(
    checkResponse(ping, 500, 'application/json', {
      status: 'UNHEALTHY',
      ActiveSearchBackend: 'database',
      root_status: false,
    }),
  ).toEqual([]);
  const login = operationFor('POST', '/api/v4/users/login')!;
  expect(checkResponse(login, 200, 'application/json', { id: 'u' })).toEqual([]);
});
