/**
 * `binlog-sync status --config FILE [--json]`: the stored checkpoint, the source's binlog head, the lag
 * between them (bytes across binlog files, and seconds), and whether a daemon holds the pipeline lock.
 */
import mysql from 'mysql2/promise';
import { loadPipelineConfig, type PipelineConfig } from '../config/load.js';
import { createLogger } from '../core/log.js';
import { comparePositions, formatPosition, type BinlogPosition } from '../core/position.js';
import { configPath, parseCommandArgs } from './args.js';
import { openConnectors } from './connectors.js';

export interface PipelineStatus {
  readonly pipeline: string;
  readonly running: boolean;
  readonly lockHolder: number | null;
  readonly checkpoint: { position: string; gtid: string | null; sourceTime: string } | null;
  readonly sourceHead: string;
  readonly lagBytes: number | null;
  readonly lagSeconds: number | null;
}

/** Bytes of binlog between two positions, from SHOW BINARY LOGS (null when `from`'s file is gone). */
export async function binlogDistance(config: PipelineConfig['source'], from: BinlogPosition, to: BinlogPosition): Promise<number | null> {
  if (comparePositions(from, to) >= 0) return 0;
  if (from.file === to.file) return to.pos - from.pos;
  const conn = await mysql.createConnection({ host: config.host, port: config.port, user: config.user, password: config.password });
  try {
    const [rows] = await conn.query<mysql.RowDataPacket[]>('SHOW BINARY LOGS');
    const files = rows.map((r) => ({ file: String(r.Log_name), size: Number(r.File_size) }));
    const i = files.findIndex((f) => f.file === from.file);
    if (i < 0) return null;
    let total = 0;
    for (let k = i; k < files.length; k++) {
      const f = files[k]!;
      if (f.file === to.file) return total + to.pos - (k === i ? from.pos : 0);
      total += f.size - (k === i ? from.pos : 0);
    }
    return total;
  } finally {
    await conn.end();
  }
}

export async function readStatus(config: PipelineConfig): Promise<PipelineStatus> {
  const c = await openConnectors(config, createLogger({ level: 'silent' }), { sink: false, oneShot: true });
  try {
    const [checkpoint, head, holder] = await Promise.all([c.checkpoints.load(config.name), c.source.head(), c.lock.holder()]);
    const lagBytes = checkpoint ? await binlogDistance(config.source, checkpoint.position, head) : null;
    const lagSeconds = checkpoint && lagBytes !== null ? (lagBytes === 0 ? 0 : Math.max(0, (Date.now() - checkpoint.sourceTimestampMs) / 1000)) : null;
    return {
      pipeline: config.name,
      running: holder !== null,
      lockHolder: holder,
      checkpoint: checkpoint
        ? {
            position: formatPosition(checkpoint.position),
            gtid: checkpoint.position.gtid ?? null,
            sourceTime: new Date(checkpoint.sourceTimestampMs).toISOString(),
          }
        : null,
      sourceHead: formatPosition(head),
      lagBytes,
      lagSeconds: lagSeconds === null ? null : Math.round(lagSeconds * 10) / 10,
    };
  } finally {
    await c.close();
  }
}

export async function statusCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('status', argv, {
    config: { type: 'string', short: 'c' },
    json: { type: 'boolean', default: false },
  });
  const config = await loadPipelineConfig(configPath('status', values, positionals));
  const s = await readStatus(config);
  if (values.json) {
    console.log(JSON.stringify(s));
    return 0;
  }
  const lines: [string, string][] = [
    ['pipeline', s.pipeline],
    ['daemon', s.running ? `running (target connection ${s.lockHolder})` : 'not running'],
    ['checkpoint', s.checkpoint ? `${s.checkpoint.position}${s.checkpoint.gtid ? ` (gtid ${s.checkpoint.gtid})` : ''}` : 'none yet (the first run starts from source.start)'],
    ['source head', s.sourceHead],
    ['lag', s.lagBytes === null ? (s.checkpoint ? 'unknown: the checkpoint binlog file is no longer on the source' : '-') : `${s.lagBytes} bytes, ${s.lagSeconds} s`],
  ];
  for (const [k, v] of lines) console.log(`${k.padEnd(12)} ${v}`);
  return 0;
}
