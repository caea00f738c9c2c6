#!/usr/bin/env -S node --max-semi-space-size=16 --expose-gc
// Thin launcher: the CLI is compiled to dist/ by `npm run build` (npm ci runs it through `prepare`).
// The V8 flags on the first line are DAEMON_NODE_FLAGS (src/cli/node-flags.ts): flags cannot be set from
// inside a running process, and a re-spawned child would outlive a kill -9 of this one.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const entry = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
if (!existsSync(entry)) {
  console.error('binlog-sync is not built yet: run `npm run build` in ' + fileURLToPath(new URL('..', import.meta.url)));
  process.exit(2);
}
await import(entry);
