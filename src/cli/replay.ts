/**
 * `binlog-sync replay --config FILE --from FILE:POS [--to FILE:POS] [--dry-run] [--force]`: re-applies a
 * bounded binlog range to the target (idempotent: the target converges to the same state) without moving
 * the stored checkpoint. Without --to, the range ends at the source's head when the command starts.
 * --dry-run prints the decoded changes as JSON lines and applies nothing.
 *
 * Applying takes the pipeline lock (a replay racing the daemon could write older row images after the
 * daemon's newer ones), and a --to before the stored checkpoint is refused unless --force: rows changed
 * between --to and the checkpoint would be left at their older values, and nothing would bring them
 * forward again (the daemon resumes after the checkpoint).
 */
import { loadPipelineConfig } from '../config/load.js';
import { createLogger } from '../core/log.js';
import { comparePositions, formatPosition, parsePosition, type BinlogPosition } from '../core/position.js';
import { rowToJson, valueToJson } from '../core/json.js';
import { tableKey } from '../core/event.js';
import { describeError } from '../core/errors.js';
import type { Pipeline } from '../core/pipeline.js';
import type { CheckpointStore } from '../core/ports.js';
import { describeSource, sameSource, type SourceIdentity } from '../core/source-identity.js';
import { configPath, parseCommandArgs, UsageError } from './args.js';
import { createPipeline, openConnectors } from '../assembly/index.js';

export async function replayCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('replay', argv, {
    config: { type: 'string', short: 'c' },
    from: { type: 'string' },
    to: { type: 'string' },
    'dry-run': { type: 'boolean', default: false },
    force: { type: 'boolean', default: false },
  });
  const file = configPath('replay', values, positionals);
  if (!values.from) throw new UsageError('replay: --from FILE:POS is required (e.g. --from mysql-bin.000003:4)');
  const from = parsePosition(values.from);
  const config = await loadPipelineConfig(file);
  // Logs go to stderr so that --dry-run's stdout is only JSON lines.
  const logger = createLogger({ name: config.name, destination: 2 });
  const c = await openConnectors(config, logger, { sink: !values['dry-run'] });
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let pipeline: Pipeline | null = null;
  try {
    // --from and --to are places of this server's binlog: every session checks it is still the one answering.
    const source = await c.source.identity();
    const to = values.to ? parsePosition(values.to) : await c.source.head();
    if (comparePositions(from, to) >= 0) throw new UsageError(`replay: --from ${formatPosition(from)} is not before --to ${formatPosition(to)}`);
    if (!values['dry-run']) {
      if (values.to && !values.force) await refuseEndBeforeCheckpoint(config.name, to, c.checkpoints, source);
      await c.lock.acquire((err) => {
        logger.error({ err: describeError(err) }, 'replay: lost the pipeline lock: stopping');
        pipeline?.abort(err);
      });
    }
    if (values['dry-run']) {
      let changes = 0;
      let transactions = 0;
      for await (const batch of c.source.read({ from: { kind: 'position', position: from }, until: to, signal: ac.signal, source }))
      for (const ev of batch) {
        if (ev.kind === 'change') {
          changes++;
          process.stdout.write(
            JSON.stringify({
              op: ev.op,
              table: tableKey(ev.table),
              key: Object.fromEntries(ev.keys.primaryKey.map((c) => [c, valueToJson((ev.after ?? ev.before)?.[c] ?? null)])),
              before: rowToJson(ev.before),
              after: rowToJson(ev.after),
              position: formatPosition(ev.position),
              timestamp: new Date(ev.timestampMs).toISOString(),
            }) + '\n',
          );
        } else if (ev.kind === 'commit') transactions++;
      }
      logger.info({ changes, transactions, from: formatPosition(from), to: formatPosition(to) }, 'dry run: nothing applied');
      return 0;
    }
    pipeline = createPipeline(config, c, logger, { from: { kind: 'position', position: from }, initialCheckpoint: null, checkpoints: null, until: to, sourceIdentity: source });
    const { stats, reason } = await pipeline.run(ac.signal);
    const summary = { changes: stats.changes, transactions: stats.transactions, applied: stats.mutationsApplied, from: formatPosition(from), to: formatPosition(to), reason };
    console.log(JSON.stringify(summary));
    return reason === 'stopped' ? 1 : 0;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await c.close();
  }
}

/** A replay that ends before the stored checkpoint would leave rows older than the daemon left them. */
async function refuseEndBeforeCheckpoint(pipeline: string, to: BinlogPosition, checkpoints: Pick<CheckpointStore, 'load'>, source: SourceIdentity): Promise<void> {
  const stored = await checkpoints.load(pipeline);
  if (!stored) return;
  if (stored.source && !sameSource(stored.source, source)) {
    throw new UsageError(
      `replay: the stored checkpoint ${formatPosition(stored.position)} of "${pipeline}" is a place in the binlog of ${describeSource(stored.source)}, but the source is ${describeSource(source)}: ` +
        `--to ${formatPosition(to)} cannot be compared with it, so binlog-sync cannot tell whether rows changed after --to would stay at older values. ` +
        '`binlog-sync run` decides whether the checkpoint continues on this server; --force replays the range anyway.',
    );
  }
  if (comparePositions(to, stored.position) >= 0) return;
  const cp = formatPosition(stored.position);
  throw new UsageError(
    `replay: --to ${formatPosition(to)} is before the stored checkpoint ${cp} of "${pipeline}": rows changed between ` +
      `--to and the checkpoint would stay at their older values (the daemon resumes after ${cp} and never applies them again). ` +
      `Omit --to to replay to the source head, or give --to at or after ${cp}; --force replays the range anyway.`,
  );
}
