/**
 * V8 flags the daemon runs with (bin/binlog-sync.js and the benchmark apply them). A larger young
 * generation: the pipeline allocates a few short-lived objects per row, and with V8's default 1–8 MB
 * semi-spaces it spends about a fifth of its time in scavenges; 16 MB cut that, measured with
 * `npm run bench` (bulk catch-up +15–20 %), for ~40 MB more peak RSS.
 */
export const DAEMON_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=16'];
