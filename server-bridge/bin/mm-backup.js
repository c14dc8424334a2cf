#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=2 --max-old-space-size=1024
'use strict';
// Thin launcher: the CLI is compiled to dist/ by `npm run build`.
// --max-semi-space-size=2 (MB): V8's young generation otherwise grows to 16 MB per semi-space
// under a backup's allocation rate, 30-40 MB of resident memory that holds only garbage; with 2 MB
// backing up and restoring 200k files peaked at 125-134 MB instead of 161-171 MB, for roughly 5-10%
// more CPU (docs/performance.md, "Memory: V8's young generation"). `env -S` (GNU coreutils 8.30,
// Debian 10) passes the flags.
// --max-old-space-size=1024 (MB): V8 lets the old generation grow to up to 4× its live size between
// full collections when its limit is 2 GB or more (Node's default here is about 4 GB), 1.3-2× below.
// A restore of a million files keeps about 16 MB live and let it reach 64 MB before each full
// collection; with 1024 (a factor of 1.6) it stays under 28 MB: the restore's peak 128 MB instead
// of 161 MB, in the same time (docs/performance.md, "Memory: how far the old generation grows").
// Memory does not grow with the number of files, so 1 GB is over 50× what a run keeps live.
// MALLOC_MMAP_THRESHOLD_ (glibc, read as the process starts): every allocation of 128 KiB or more
// gets its own mapping, given back to the system when freed. glibc's default threshold rises to the
// size of the largest such block freed (up to 32 MiB), after which the typed arrays and buffers a
// backup makes and drops (its packed-names index, pack and file buffers) come from the heap and
// stay resident after they are freed: at 1M files a commit held 80 MB of freed memory
// (docs/performance.md, "Memory: freed memory that stayed resident"). Children (pg_dump, ...) get
// the environment as it was.
delete process.env['MALLOC_MMAP_THRESHOLD_'];
require('../dist/cli/main.js')
  .main(process.argv)
  .then((code) => {
    process.exitCode = code;
  });
