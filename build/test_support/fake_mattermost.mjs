// A loopback HTTP server standing in for the two Mattermost plugin endpoints deploy.mjs
// calls. It checks what the real server checks (method, path, bearer token, multipart
// field names) and records every request so tests can assert on them.

import http from 'node:http';

/**
 * Starts the fake. `uploadReply(form)` decides the upload answer ({status, body});
 * the default installs the bundle and echoes `manifest`.
 * @returns {Promise<{url: string, requests: object[], close: () => Promise<void>}>}
 */
export async function startFakeMattermost({token, manifest, uploadReply} = {}) {
    const requests = [];
    const server = http.createServer(async (req, res) => {
        const chunks = [];
        for await (const chunk of req) {
            chunks.push(chunk);
        }
        const record = {
            method: req.method,
            path: req.url,
            authorization: req.headers.authorization,
            contentType: req.headers['content-type'],
        };
        requests.push(record);
        const reply = (status, body) => {
            res.writeHead(status, {'Content-Type': 'application/json'});
            res.end(JSON.stringify(body));
        };
        if (req.headers.authorization !== `Bearer ${token}`) {
            reply(401, {
                id: 'api.context.session_expired.app_error',
                message: 'Invalid or expired session, please login again.',
                status_code: 401,
            });
            return;
        }
        if (req.method === 'POST' && req.url === '/api/v4/plugins') {
            // Parse the multipart body with the same WHATWG FormData code browsers use.
            const form = await new Response(Buffer.concat(chunks), {
                headers: {'content-type': req.headers['content-type'] ?? ''},
            }).formData();
            const file = form.get('plugin');
            record.form = {
                plugin: file && {name: file.name, size: file.size},
                force: form.get('force'),
                fields: [...form.keys()],
            };
            if (!file) {
                reply(400, {
                    id: 'api.plugin.upload.file.app_error',
                    message: 'Unable to open file in multipart/form request.',
                    status_code: 400,
                });
                return;
            }
            const {status, body} = uploadReply ? uploadReply(record.form) : {status: 201, body: manifest};
            reply(status, body);
            return;
        }
        if (req.method === 'POST' && req.url === `/api/v4/plugins/${manifest.id}/enable`) {
            reply(200, {status: 'OK'});
            return;
        }
        reply(404, {id: 'api.context.404.app_error', message: 'Sorry, we could not find the page.', status_code: 404});
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
        url: `http://127.0.0.1:${server.address().port}`,
        requests,
        close: () =>
            new Promise((resolve) => {
                server.closeAllConnections();
                server.close(() => resolve());
            }),
    };
}

/** The error the server gives when PluginSettings.EnableUploads is false. */
export const UPLOAD_DISABLED = {
    status: 501,
    body: {
        id: 'app.plugin.upload_disabled.app_error',
        message: 'Plugins and/or plugin uploads have been disabled.',
        status_code: 501,
    },
};
