#!/usr/bin/env -S node --max-semi-space-size=2
'use strict';
// Thin launcher: the CLI is compiled to dist/ by `npm run build`.
// --max-semi-space-size=2 (MB): V8's young generation otherwise grows to 16 MB per semi-space
// under a backup's allocation rate, 30-40 MB of resident memory that holds only garbage; with 2 MB
// backing up and restoring 200k files peaked at 125-134 MB instead of 161-171 MB, for roughly 5-10%
// more CPU (docs/performance.md, "Memory: V8's young generation"). `env -S` (GNU coreutils 8.30,
// Debian 10) passes the flag.
require('../dist/cli/main.js')
  .main(process.argv)
  .then((code) => {
    process.exitCode = code;
  });
