#!/usr/bin/env -S node --max-semi-space-size=2
'use strict';
// Thin launcher: the CLI is compiled to dist/ by `npm run build`.
// --max-semi-space-size=2 (MB): V8's young generation otherwise grows to 16 MB per semi-space
// under a backup's allocation rate, 40-50 MB of resident memory that holds only garbage; with 2 MB
// a backup of 200k files peaked at 126-135 MB instead of 165-175 MB, for a few percent more CPU
// (docs/performance.md, "Memory"). `env -S` (GNU coreutils 8.30, Debian 10) passes the flag.
require('../dist/cli/main.js')
  .main(process.argv)
  .then((code) => {
    process.exitCode = code;
  });
