/**
 * `binlog-sync verify --config FILE [--tables db.t1,db.t2] [--json] [--chunk-size N] [--wait-seconds N]
 * [--parallel N] [--max-keys N]`: compares every table the pipeline syncs on the source and the target
 * (src/verify). Exit 0 all equal, 1 something differs, 2 an error (usage, pipeline file, connection, a
 * table that cannot be compared).
 */
import { loadPipelineConfig } from '../config/load.js';
import { BinlogSyncError, describeError } from '../core/errors.js';
import { createLogger } from '../core/log.js';
import { DEFAULT_LISTED_KEYS, formatVerifyText, verifyExitCode, verifyJson } from '../verify/report.js';
import { VERIFY_DEFAULTS, verifyPipeline } from '../verify/verify-pipeline.js';
import { openCheckpointReader } from '../assembly/index.js';
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
  const checkpoints = openCheckpointReader(config, createLogger({ level: 'silent' }));
  try {
    const result = await verifyPipeline(config, {
      ...options,
      readApplied: config.transport.kind === 'kafka' ? async () => null : () => checkpoints.position(),
    });
    console.log(values.json ? JSON.stringify(verifyJson(result, listedKeys)) : formatVerifyText(result, listedKeys));
    return verifyExitCode(result);
  } catch (err) {
    if (err instanceof BinlogSyncError) throw err;
    throw new BinlogSyncError('VERIFY', `verify failed: ${describeError(err)}`, { cause: err });
  } finally {
    await checkpoints.close();
  }
}
