#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=2 --expose-gc
'use strict';
// MALLOC_ARENA_MAX=2: glibc gives each thread that allocates (the chunk workers, libuv's pool)
// an arena of its own, which keeps freed memory; two arenas hold a restore's peak memory under
// its bound at the same CPU (bench/README.md). glibc reads it only at start, hence here.
// --max-semi-space-size=2 (MiB; Node 20's default is 16): a young generation that small is
// collected often enough that the chunk buffers the main thread receives and drops during
// ingest are freed promptly, which keeps a large ingest's peak memory under its bound at the
// same speed (bench/README.md, "2026-11-26: the memory bound is met"). V8 reads the flag
// only at start, so it can only be given here.
// --expose-gc: `dtar mount` collects once after loading the index, whose garbage a mount that
// then sits idle would otherwise hold (src/commands/mount.ts).
require('../dist/src/cli/main.js').main();
