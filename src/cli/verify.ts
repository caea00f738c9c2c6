/**
 * `binlog-sync verify --config FILE [--tables db.t1,db.t2] [--json] [--chunk-size N] [--wait-seconds N]
 * [--parallel N] [--max-keys N]`: compares every table the pipeline syncs on the source and the target
 * (src/verify). Exit 0 all equal, 1 something differs, 2 an error (usage, pipeline file, connection, a
 * table that cannot be compared).
 */
import { loadPipelineConfig, type PipelineConfig } from '../config/load.js';
import { BinlogSyncError, describeError } from '../core/errors.js';
import { createLogger } from '../core/log.js';
import { DEFAULT_LISTED_KEYS, formatVerifyText, tableStatus, verifyExitCode, verifyJson } from '../verify/report.js';
import { VERIFY_DEFAULTS, verifyPipeline, type VerifyResult } from '../verify/verify-pipeline.js';
import type { RepairKeys } from '../core/ports.js';
import { followRequest } from './snapshot.js';
import { openCheckpointReader, openConnectors } from '../assembly/index.js';
import { configPath, parseCommandArgs, UsageError } from './args.js';

function count(flag: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min) throw new UsageError(`verify: --${flag} must be a whole number ≥ ${min}, got "${text}"`);
  return n;
}

export async function verifyCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('verify', argv, {
    config: { type: 'string', short: 'c' },
    tables: { type: 'string' },
    json: { type: 'boolean', default: false },
    'chunk-size': { type: 'string' },
    'wait-seconds': { type: 'string' },
    parallel: { type: 'string' },
    'max-keys': { type: 'string' },
    repair: { type: 'boolean', default: false },
  });
  const config = await loadPipelineConfig(configPath('verify', values, positionals));
  const tables = values.tables?.split(',').map((t) => t.trim()).filter((t) => t.length > 0);
  if (values.tables !== undefined && (!tables || tables.length === 0)) throw new UsageError('verify: --tables needs db.table names, e.g. --tables shop.orders,shop.items');
  const listedKeys = count('max-keys', values['max-keys'], DEFAULT_LISTED_KEYS, 1);
  const options = {
    chunkSize: count('chunk-size', values['chunk-size'], VERIFY_DEFAULTS.chunkSize, 1),
    waitMs: count('wait-seconds', values['wait-seconds'], VERIFY_DEFAULTS.waitMs / 1000, 0) * 1000,
    parallel: count('parallel', values.parallel, VERIFY_DEFAULTS.parallel, 1),
    keptKeys: Math.max(VERIFY_DEFAULTS.keptKeys, listedKeys),
    ...(tables ? { tables } : {}),
  };
  if (config.transport.kind === 'kafka') {
    // Kafka mode keeps no checkpoint row: what the sink workers applied is per partition offsets.
    console.error('binlog-sync verify: in Kafka mode the source position the sink workers have applied is not known: rechecks do not wait for it');
  }
  if (values.repair && config.transport.kind === 'kafka') throw new UsageError('verify: --repair is not available with transport.kind: kafka in this version (the repair runs in the embedded pipeline)');
  const checkpoints = openCheckpointReader(config, createLogger({ level: 'silent' }));
  try {
    const verify = (): Promise<VerifyResult> =>
      verifyPipeline(config, {
        ...options,
        readApplied: config.transport.kind === 'kafka' ? async () => null : () => checkpoints.position(),
      });
    const result = await verify();
    console.log(values.json ? JSON.stringify(verifyJson(result, listedKeys)) : formatVerifyText(result, listedKeys));
    if (!values.repair || verifyExitCode(result) !== 1) return verifyExitCode(result);
    await repair(config, result);
    const again = await verify();
    console.log(values.json ? JSON.stringify(verifyJson(again, listedKeys)) : `after the repair:\n${formatVerifyText(again, listedKeys)}`);
    return verifyExitCode(again);
  } catch (err) {
    if (err instanceof BinlogSyncError) throw err;
    throw new BinlogSyncError('VERIFY', `verify failed: ${describeError(err)}`, { cause: err });
  } finally {
    await checkpoints.close();
  }
}

/**
 * Asks the running daemon to copy the differing rows again (keys named by this verify; a table with
 * more differing keys than were kept is copied whole), and waits until that is applied.
 */
async function repair(config: PipelineConfig, result: VerifyResult): Promise<void> {
  const repairs: RepairKeys[] = [];
  const whole: string[] = [];
  for (const v of result.tables) {
    if (tableStatus(v) !== 'different') continue;
    // A routed or transformed table is repaired through its source table (the daemon copies source
    // rows through the same transforms); a merged target has no one source to copy from.
    if (v.sources && v.sources.length !== 1) {
      console.error(`verify --repair: ${v.table} is not repaired: it merges ${v.sources.join(', ')}, and a repair copies the rows of one source table`);
      continue;
    }
    const table = v.sources?.[0] ?? v.table;
    const lists = [v.missing, v.extra, v.different];
    if (lists.some((l) => l.count > l.keys.length)) {
      whole.push(table);
      continue;
    }
    const keys = lists.flatMap((l) => l.keys.flatMap((k) => (k.targetKey ? [k.key, k.targetKey] : [k.key])));
    repairs.push({ table, columns: v.keyColumns, keys });
  }
  const logger = createLogger({ name: config.name, level: 'warn', destination: 2 });
  const c = await openConnectors(config, logger, { sink: false, oneShot: true });
  try {
    const holder = await c.lock.holder();
    if (holder === null) {
      throw new BinlogSyncError('VERIFY', `verify --repair: no daemon runs pipeline "${config.name}": the repair copies rows inside the running pipeline (so it never races a live change). Start \`binlog-sync run\` and repair again.`);
    }
    const requests: { id: number; what: string }[] = [];
    if (repairs.length > 0) requests.push({ id: await c.requests.add(config.name, { kind: 'repair', tables: repairs.map((r) => r.table), repairs }), what: `the differing rows of ${repairs.map((r) => r.table).join(', ')}` });
    if (whole.length > 0) requests.push({ id: await c.requests.add(config.name, { kind: 'snapshot', tables: whole, repairs: [] }), what: `all of ${whole.join(', ')} (too many differing keys to list)` });
    for (const r of requests) {
      console.error(`verify --repair: request ${r.id}: the daemon copies ${r.what} again`);
      const done = await followRequest(r.id, c.requests, async () => null);
      if (done.state !== 'done') throw new BinlogSyncError('VERIFY', `verify --repair: request ${r.id} failed: ${done.message ?? ''}`);
      console.error(`verify --repair: request ${r.id} done: ${done.message ?? ''}`);
    }
  } finally {
    await c.close();
  }
}
