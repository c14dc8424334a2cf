// The webapp's fake sidecar refuses what the real one refuses (its own zod schemas): a page
// tested against a lenient fake could send ids or bodies the real sidecar answers 400 to.
import {SNAPSHOT_ID} from '../../server-bridge/src/manifest/manifest';

import {startFakeBridge} from './support/fake_bridge';
import type {FakeBridge} from './support/fake_bridge';

let bridge: FakeBridge;
beforeEach(async () => {
    bridge = await startFakeBridge();
});
afterEach(async () => {
    await bridge.close();
});

async function call(method: string, path: string, body?: unknown): Promise<{status: number; body: any}> {
    const res = await fetch(`${bridge.url}${path}`, {
        method,
        headers: {'Content-Type': 'application/json'},
        body: body === undefined ? undefined : JSON.stringify(body),
    });
    return {status: res.status, body: await res.json()};
}

test('snapshot and job ids that the sidecar refuses are refused with its message', async () => {
    expect(SNAPSHOT_ID.test('20261120T030000Z-aaaaaa')).toBe(true);
    expect((await call('GET', '/v1/snapshots/20261120T030000Z-aaaaaa/manifest')).status).toBe(200);
    expect(await call('GET', '/v1/snapshots/20261120-0300-aaaa/manifest')).toEqual({
        status: 400,
        body: expect.objectContaining({id: 'api.context.invalid_param.app_error', message: 'id: is not a snapshot id'}),
    });
    expect((await call('GET', '/v1/jobs/short')).body.message).toBe('id: is not a job id');
    expect((await call('GET', '/v1/jobs?snapshot_id=..%2Fetc')).status).toBe(400);
    expect(bridge.rejected).toHaveLength(3);
});

test('bodies are checked against the sidecar schemas: unknown fields, wrong types, bad tokens', async () => {
    expect((await call('POST', '/v1/jobs', {kind: 'backup', mode: 'online'})).status).toBe(202);
    expect((await call('POST', '/v1/jobs', {kind: 'backup', mode: 'fast'})).status).toBe(400);
    expect((await call('POST', '/v1/jobs', {kind: 'restore', confirmation_token: 'x'})).body.message).toBe(
        'body.confirmation_token: is not a confirmation token',
    );
    expect((await call('POST', '/v1/restore/prepare', {snapshot_id: 'nope'})).status).toBe(400);
    expect((await call('PUT', '/v1/settings', {retention: {keep_last: 0}})).status).toBe(400);
    expect((await call('PUT', '/v1/settings', {surprise: true})).status).toBe(400);
    expect(
        (
            await call('POST', '/v1/connect', {
                bot_token: 'a'.repeat(26),
                command_tokens: [
                    {team_id: 'team1', team_name: 'ops', command_id: 'c'.repeat(26), token: 't'.repeat(26)},
                ],
            })
        ).body.message,
    ).toBe('body.command_tokens.0.team_id: is not a Mattermost id');
    const res = await fetch(`${bridge.url}/v1/jobs`, {
        method: 'POST',
        headers: {'Content-Type': 'application/json'},
        body: '{"kind":',
    });
    expect(res.status).toBe(400);
});
