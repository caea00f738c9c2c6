#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm run build` (npm ci runs it through `prepare`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const entry = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
if (!existsSync(entry)) {
  console.error('binlog-sync is not built yet: run `npm run build` in ' + fileURLToPath(new URL('..', import.meta.url)));
  process.exit(2);
}
await import(entry);
