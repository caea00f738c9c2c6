/**
 * `binlog-sync snapshot --config FILE --tables db.t1,db.t2 [--no-wait]`: copies the given tables again
 * while streaming continues (e.g. after an accident on the target). The running daemon does the copy
 * inside its pipeline (see src/assembly/requests.ts), so the copied rows never race a live change:
 * this command asks it through the target and, unless --no-wait, follows the copy until it is applied.
 * Exit 0 done (or queued, with --no-wait or when no daemon runs now), 1 the copy failed, 2 usage.
 */
import { loadPipelineConfig } from '../config/load.js';
import { createLogger } from '../core/log.js';
import type { ControlRequest } from '../core/ports.js';
import { openConnectors } from '../assembly/index.js';
import { configPath, parseCommandArgs, UsageError } from './args.js';

export async function snapshotCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('snapshot', argv, {
    config: { type: 'string', short: 'c' },
    tables: { type: 'string' },
    'no-wait': { type: 'boolean', default: false },
  });
  const config = await loadPipelineConfig(configPath('snapshot', values, positionals));
  const tables = (values.tables ?? '').split(',').map((t) => t.trim()).filter((t) => t.length > 0);
  if (tables.length === 0) throw new UsageError('snapshot: --tables db.table[,db.table…] is required, e.g. --tables shop.orders,shop.items');
  for (const t of tables) if (!/^[^.\s]+\.[^.\s]+$/.test(t)) throw new UsageError(`snapshot: "${t}" is not a db.table name`);
  if (config.transport.kind === 'kafka') throw new UsageError('snapshot: not available with transport.kind: kafka in this version (the copy runs in the embedded pipeline)');
  const logger = createLogger({ name: config.name, level: 'warn', destination: 2 });
  const c = await openConnectors(config, logger, { sink: false, oneShot: true });
  try {
    // Refuses names the pipeline does not sync before anything is asked.
    await c.source.snapshotTables(tables.map((t) => ({ schema: t.slice(0, t.indexOf('.')), name: t.slice(t.indexOf('.') + 1) })));
    const id = await c.requests.add(config.name, { kind: 'snapshot', tables, repairs: [] });
    const holder = await c.lock.holder();
    if (holder === null) {
      console.log(`request ${id}: copy ${tables.join(', ')} again; no daemon runs pipeline "${config.name}" now: the copy starts when \`binlog-sync run\` does`);
      return 0;
    }
    console.log(`request ${id}: copy ${tables.join(', ')} again; the daemon (target connection ${holder}) runs it while streaming`);
    if (values['no-wait']) return 0;
    const done = await followRequest(id, c.requests, async () => {
      const cp = await c.checkpoints.load(config.name);
      return cp?.snapshot ? cp.snapshot.tables.map((t) => `${t.table} ${t.rows}/${t.estimatedRows}${t.done ? ' done' : ''}`).join(', ') : null;
    });
    if (done.state === 'done') {
      console.log(`request ${id} done: ${done.message ?? ''}`);
      return 0;
    }
    console.error(`request ${id} failed: ${done.message ?? ''}`);
    return 1;
  } finally {
    await c.close();
  }
}

/** Polls a request until it is done or failed, printing `progress()` when it changes. */
export async function followRequest(id: number, store: { get(id: number): Promise<ControlRequest | null> }, progress: () => Promise<string | null>): Promise<ControlRequest> {
  let shown = '';
  for (;;) {
    const r = await store.get(id);
    if (!r) throw new Error(`request ${id} disappeared from the requests table`);
    if (r.state === 'done' || r.state === 'failed') return r;
    const now = await progress();
    const line = `${r.state}${now ? `: ${now}` : ''}`;
    if (line !== shown) {
      console.log(`request ${id} ${line}`);
      shown = line;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}
