/**
 * V8 flags the daemon runs with (bin/binlog-sync.js and the benchmark apply them; keep the launcher's
 * first line in step, test/unit/cli/node-flags.test.ts checks it).
 * - A larger young generation: the pipeline allocates a few short-lived objects per row, and with V8's
 *   default 1–8 MB semi-spaces it spends about a fifth of its time in scavenges; 16 MB cut that,
 *   measured with `npm run bench` (bulk catch-up +15–20 %), for ~40 MB more peak RSS.
 * - `--expose-gc`: `gc()` at hand from the start for the forced collections (before a change with a big
 *   BLOB is handed on, and the heap governor's); src/core/full-gc.ts turns it on at run time without it.
 */
export const DAEMON_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=16', '--expose-gc'];
