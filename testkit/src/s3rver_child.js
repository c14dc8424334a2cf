// A real S3-compatible server (s3rver) in its own process, so a test can kill it mid-upload
// (connections reset, as when a real endpoint goes away) and start it again on the same port.
// argv: <port> <directory> <bucket>; prints "ready" once listening.
'use strict';
const S3rver = require('s3rver');

const [port, directory, bucket] = process.argv.slice(2);
new S3rver({ port: Number(port), address: '127.0.0.1', directory, silent: true, configureBuckets: [{ name: bucket }] })
  .run()
  .then(() => process.stdout.write('ready\n'))
  .catch((err) => {
    process.stderr.write(`${err.stack}\n`);
    process.exit(1);
  });
