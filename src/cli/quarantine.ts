/**
 * `binlog-sync quarantine list --config FILE [--json]`: the tables parked by `sink.onApplyError:
 * quarantine`, with why, since where and how many changes wait.
 * `binlog-sync quarantine retry --config FILE db.table`: after the cause is fixed on the target,
 * applies the table's parked changes in order and un-parks it. Needs the daemon stopped (it takes the
 * pipeline lock); start the daemon again afterwards.
 * Exit 0 done (list: also when tables are parked), 1 the target still refuses a change, 2 usage.
 */
import { loadPipelineConfig } from '../config/load.js';
import { createLogger } from '../core/log.js';
import { BinlogSyncError } from '../core/errors.js';
import { formatPosition } from '../core/position.js';
import { openConnectors } from '../assembly/index.js';
import { retryParkedTable } from '../assembly/quarantine.js';
import { configPath, parseCommandArgs, UsageError } from './args.js';

export async function quarantineCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('quarantine', argv, {
    config: { type: 'string', short: 'c' },
    json: { type: 'boolean', default: false },
  });
  const [action, ...rest] = positionals;
  if (action !== 'list' && action !== 'retry') throw new UsageError('quarantine: say `list` or `retry db.table`, e.g. binlog-sync quarantine list --config pipeline.yaml');
  const config = await loadPipelineConfig(configPath('quarantine', values, []));
  if (config.transport.kind === 'kafka') throw new UsageError('quarantine: not available with transport.kind: kafka in this version (nothing is parked there)');
  if (action === 'list' && rest.length > 0) throw new UsageError(`quarantine list: unexpected argument "${rest[0]}"`);
  if (action === 'retry' && (rest.length !== 1 || !/^[^.\s]+\.[^.\s]+$/.test(rest[0]!))) {
    throw new UsageError('quarantine retry: name one parked table as db.table, e.g. binlog-sync quarantine retry --config pipeline.yaml shop.orders');
  }
  const logger = createLogger({ name: config.name, level: 'warn', destination: 2 });
  const c = await openConnectors(config, logger, { sink: action === 'retry', oneShot: true });
  try {
    if (action === 'list') {
      const parked = await c.quarantine.parked(config.name);
      if (values.json) {
        console.log(JSON.stringify({ pipeline: config.name, tables: parked.map((p) => ({ ...p, position: formatPosition(p.position) })) }));
        return 0;
      }
      if (parked.length === 0) {
        console.log(`no table of pipeline "${config.name}" is parked`);
        return 0;
      }
      console.log(`QUARANTINED: ${parked.length} table(s) of pipeline "${config.name}" are parked; their changes wait in _binlog_sync.quarantine`);
      for (const p of parked) {
        console.log(`\n${p.table}: ${p.events} change(s) parked since ${formatPosition(p.position)} (at ${p.parkedAt} UTC)`);
        console.log(`  ${p.error.split('\n').join('\n  ')}`);
        console.log(`  after fixing the cause: stop the daemon, run \`binlog-sync quarantine retry --config FILE ${p.table}\`, start the daemon`);
      }
      return 0;
    }
    const table = rest[0]!;
    try {
      await c.lock.acquire();
    } catch (err) {
      if (err instanceof BinlogSyncError && err.code === 'PIPELINE_LOCKED') {
        throw new UsageError(`quarantine retry: the daemon of pipeline "${config.name}" is running; stop it first (retry applies the parked changes under the pipeline lock, so that no newer change of ${table} is parked or applied meanwhile). ${err.message}`);
      }
      throw err;
    }
    // The parked changes' positions are places in the binlog of the server the checkpoint names: the
    // sink compares them with that server's schema history only.
    const stored = await c.checkpoints.load(config.name);
    if (stored?.source) c.sink.readingFrom?.(stored.source);
    let shown = 0;
    const applied = await retryParkedTable(c, config.name, table, config.sink.batchSize, (p) => {
      if (p.applied - shown >= 10_000) {
        console.log(`${table}: ${p.applied} of ${p.total} parked changes applied`);
        shown = p.applied;
      }
    });
    console.log(`${table}: ${applied} parked change(s) applied in order; the table is no longer parked. Start the daemon: it syncs ${table} again from its checkpoint on.`);
    return 0;
  } finally {
    await c.close();
  }
}
