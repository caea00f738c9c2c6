/**
 * binlog-sync command line. Exit codes: 0 ok; 1 the pipeline stopped on an error; 2 usage or pipeline
 * file error; 3 preflight failed (the checklist says what to fix). `verify`: 0 equal, 1 something
 * differs, 2 an error (usage, pipeline file, connection, a table it cannot compare).
 */
import { BinlogSyncError, ConfigError, describeError } from '../core/errors.js';
import { PositionParseError } from '../core/position.js';

const USAGE = `binlog-sync — keep a target database in step with a MySQL/MariaDB source's binlog

Usage:
  binlog-sync run     --config FILE [--reset-to FILE:POS --yes]   run the sync daemon (SIGTERM/SIGINT: drain, checkpoint, exit 0);
                                                                  with transport.kind: kafka, publisher and one sink worker
  binlog-sync source  --config FILE                               Kafka mode: only publish the binlog to the topic
  binlog-sync sink    --config FILE                               Kafka mode: one sink worker (start several: they share the partitions)
  binlog-sync check   --config FILE                               preflight checklist of both servers, with a fix per failure
  binlog-sync status  --config FILE [--json]                      checkpoint, source head, lag, whether the daemon runs
  binlog-sync replay  --config FILE --from FILE:POS [--to FILE:POS] [--dry-run] [--force]
                                                                  re-apply a binlog range idempotently (or print it as JSON lines);
                                                                  refuses while the daemon runs, and a --to before the checkpoint without --force
  binlog-sync verify  --config FILE [--tables db.t1,db.t2] [--json] [--repair] [--chunk-size N] [--wait-seconds N] [--parallel N] [--max-keys N]
                                                                  compare every synced table on source and target by server-side chunk
                                                                  checksums, narrowed to the differing keys; rechecked after the pipeline
                                                                  applied past the source position (exit 0 equal, 1 differs, 2 error);
                                                                  --repair: the running daemon copies the differing rows again, then verify again
  binlog-sync snapshot --config FILE --tables db.t1,db.t2 [--no-wait]
                                                                  copy tables again while streaming (the running daemon does it)
  binlog-sync quarantine list --config FILE [--json]            tables parked by sink.onApplyError: quarantine, why, and their waiting changes
  binlog-sync quarantine retry --config FILE db.table           with the daemon stopped: apply a parked table's changes in order, un-park it
  binlog-sync demo    [--seconds N]                               local demo: throwaway source + target, a workload, sync, verify
  binlog-sync help

The pipeline file format: config/example.yaml. Logs: JSON lines unless stdout is a terminal
(LOG_FORMAT=json|pretty, LOG_LEVEL=debug|info|warn).`;

type Command = (argv: string[]) => Promise<number>;

const commands: Record<string, () => Promise<Command>> = {
  run: async () => (await import('./run.js')).runCommand,
  source: async () => (await import('./run.js')).kafkaRoleCommand('source'),
  sink: async () => (await import('./run.js')).kafkaRoleCommand('sink'),
  check: async () => (await import('./check.js')).checkCommand,
  status: async () => (await import('./status.js')).statusCommand,
  replay: async () => (await import('./replay.js')).replayCommand,
  verify: async () => (await import('./verify.js')).verifyCommand,
  snapshot: async () => (await import('./snapshot.js')).snapshotCommand,
  demo: async () => (await import('./demo.js')).demoCommand,
  quarantine: async () => (await import('./quarantine.js')).quarantineCommand,
};

export function exitCodeFor(err: unknown): number {
  if (err instanceof BinlogSyncError && err.code === 'PREFLIGHT_FAILED') return 3;
  if (err instanceof ConfigError || err instanceof PositionParseError) return 2;
  if (err instanceof BinlogSyncError && (err.code === 'USAGE' || err.code === 'CONFIG_NOT_FOUND' || err.code === 'VERIFY')) return 2;
  return 1;
}

export function formatError(err: unknown): string {
  if (err instanceof BinlogSyncError && err.code === 'PREFLIGHT_FAILED') return `binlog-sync: not starting: ${err.message}`;
  if (err instanceof BinlogSyncError) {
    const cause = err.cause ? `\n  cause: ${describeError(err.cause)}` : '';
    return `binlog-sync: ${err.message} [${err.code}]${cause}`;
  }
  if (err instanceof PositionParseError) return `binlog-sync: ${err.message}`;
  return `binlog-sync: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    console.log(USAGE);
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) {
    console.error(`binlog-sync: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  return (await load())(rest);
}

function exit(code: number): void {
  process.exitCode = code;
  // Everything is closed by now; a straggling socket must not keep a finished command alive.
  setTimeout(() => process.exit(code), 3000).unref();
}

main(process.argv.slice(2)).then(exit, (err: unknown) => {
  console.error(formatError(err));
  exit(exitCodeFor(err));
});
