/**
 * `binlog-sync replay --config FILE --from FILE:POS [--to FILE:POS] [--dry-run]`: re-applies a bounded
 * binlog range to the target (idempotent: the target converges to the same state) without moving the
 * stored checkpoint. Without --to, the range ends at the source's head when the command starts.
 * --dry-run prints the decoded changes as JSON lines and applies nothing.
 */
import { loadPipelineConfig } from '../config/load.js';
import { createLogger } from '../core/log.js';
import { comparePositions, formatPosition, parsePosition } from '../core/position.js';
import { rowToJson, valueToJson } from '../core/json.js';
import { tableKey } from '../core/event.js';
import { configPath, parseCommandArgs, UsageError } from './args.js';
import { openConnectors } from './connectors.js';
import { createPipeline } from './run.js';

export async function replayCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('replay', argv, {
    config: { type: 'string', short: 'c' },
    from: { type: 'string' },
    to: { type: 'string' },
    'dry-run': { type: 'boolean', default: false },
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
  try {
    const to = values.to ? parsePosition(values.to) : await c.source.head();
    if (comparePositions(from, to) >= 0) throw new UsageError(`replay: --from ${formatPosition(from)} is not before --to ${formatPosition(to)}`);
    if (values['dry-run']) {
      let changes = 0;
      let transactions = 0;
      for await (const batch of c.source.read({ from: { kind: 'position', position: from }, until: to, signal: ac.signal }))
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
    const pipeline = createPipeline(config, c, logger, { from: { kind: 'position', position: from }, initialCheckpoint: null, checkpoints: null, until: to });
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
