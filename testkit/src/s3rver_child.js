// A real S3-compatible server (s3rver) in its own process, so a test can kill it mid-upload
// (connections reset, as when a real endpoint goes away) and start it again on the same port.
// argv: <port> <directory> <bucket> [<options.json>]; prints "ready" once listening. The options
// file (0600) may name keyFile/certFile (https) and an accessKeyId/secretAccessKey pair to accept:
// a secret read from a file is in no process's argv or environment.
'use strict';
const fs = require('node:fs');
const S3rver = require('s3rver');
const { DUMMY_ACCOUNT } = require('s3rver/lib/models/account');

const [port, directory, bucket, optionsFile] = process.argv.slice(2);
const options = optionsFile ? JSON.parse(fs.readFileSync(optionsFile, 'utf8')) : {};
const tls = options.keyFile ? { key: fs.readFileSync(options.keyFile), cert: fs.readFileSync(options.certFile) } : {};
if (options.accessKeyId) DUMMY_ACCOUNT.createKeyPair(options.accessKeyId, options.secretAccessKey);
const server = new S3rver({
  port: Number(port),
  address: '127.0.0.1',
  directory,
  silent: true,
  configureBuckets: [{ name: bucket }],
  ...tls,
});
server
  .run()
  .then(() => {
    // Node's default closes an idle keep-alive connection after 5 s; a request the client sends on
    // it at that moment is reset (ECONNRESET). The product retries it, with a warning, but on a
    // busy CI machine the pauses between a job's requests reach 5 s often enough to make those
    // warnings a flaky test's stderr. Idle connections stay open as long as a test (a kill still
    // resets them, which the retry tests rely on).
    server.httpServer.keepAliveTimeout = 10 * 60 * 1000;
    server.httpServer.headersTimeout = 10 * 60 * 1000 + 1000;
    process.stdout.write('ready\n');
  })
  .catch((err) => {
    process.stderr.write(`${err.stack}\n`);
    process.exit(1);
  });
