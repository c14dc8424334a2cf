// fetchSidecarHealth against a real local HTTP server (fetch comes from tests/setup.ts).

import {HANG, startFakeSidecar} from '../tests/support/fake_sidecar';
import type {FakeSidecar} from '../tests/support/fake_sidecar';

import {fetchSidecarHealth, SidecarUnreachableError} from './sidecar_health';

describe('fetchSidecarHealth', () => {
    let sidecar: FakeSidecar;

    afterEach(() => sidecar.close());

    it('returns the /healthz answer, below a path prefix as a reverse proxy serves it', async () => {
        sidecar = await startFakeSidecar();
        await expect(fetchSidecarHealth(`${sidecar.url}/mm-backup`)).resolves.toEqual({status: 'ok', version: '0.1.0'});
        expect(sidecar.requests).toEqual(['GET /mm-backup/healthz']);
    });

    it('gives up with kind "timeout" when the sidecar accepts but never answers', async () => {
        sidecar = await startFakeSidecar(HANG);
        const error = await fetchSidecarHealth(sidecar.url, {timeoutMs: 200}).catch((err: unknown) => err);
        expect(error).toBeInstanceOf(SidecarUnreachableError);
        expect((error as SidecarUnreachableError).kind).toBe('timeout');
    });

    it('rejects JSON that is not the health answer with kind "not_sidecar"', async () => {
        sidecar = await startFakeSidecar({
            status: 200,
            contentType: 'application/json',
            body: '{"id":"api.context.404.app_error"}',
        });
        await expect(fetchSidecarHealth(sidecar.url)).rejects.toMatchObject({kind: 'not_sidecar'});
    });
});
