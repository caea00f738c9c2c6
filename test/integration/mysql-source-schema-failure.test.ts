/**
 * A retriable failure in the middle of a batch (here: the schema lookup for a table seen for the first
 * time) must not drop what the batch already held. A transaction larger than one batch has its first
 * changes handed on in an earlier batch; its commit sits in the failing one. If that batch were lost,
 * the transaction would neither commit nor be abandoned, and the checkpoint would stop for good.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BinlogReader } from '../../connectors/mysql-source/binlog-reader.js';
import { CollationFolder } from '../../connectors/mysql-source/collation-folder.js';
import { SchemaCache } from '../../connectors/mysql-source/schema-cache.js';
import mysql from 'mysql2/promise';
import { LocalMariaDb } from '../../src/local/mariadb-server.js';
import { silentLogger } from '../../src/core/log.js';
import { TableFilter } from '../../src/core/table-filter.js';
import { Watermark } from '../../src/core/watermark.js';
import { comparePositions, type BinlogPosition } from '../../src/core/position.js';
import type { SourceStreamEvent } from '../../src/core/ports.js';

let db: LocalMariaDb;
let pool: mysql.Pool;

beforeAll(async () => {
  db = await LocalMariaDb.start({ label: 'src-schema-fail', serverId: 25, binlog: true });
  await db.rootQuery('CREATE DATABASE shop; CREATE TABLE shop.a (id INT PRIMARY KEY, v INT); CREATE TABLE shop.b (id INT PRIMARY KEY, v INT);');
  pool = mysql.createPool({ ...db.endpoint(), connectionLimit: 2 });
});

afterAll(async () => {
  await pool?.end();
  await db?.stop();
});

async function head(): Promise<BinlogPosition> {
  const [rows] = await pool.query<mysql.RowDataPacket[]>('SHOW MASTER STATUS');
  return { file: String(rows[0]!.File), pos: Number(rows[0]!.Position) };
}

describe('BinlogReader', () => {
  it('hands on the events of a batch before a retriable failure, so every transaction ends', async () => {
    const start = await head();
    // 2000 changes: more than one batch (1024 events), committed in the next batch with tx 2's first table map.
    await db.rootQuery('USE shop; INSERT INTO shop.a SELECT seq, seq FROM seq_1_to_2000');
    await db.rootQuery('INSERT INTO shop.b VALUES (1, 1)');
    const end = await head();

    let failed = 0;
    const schema = new SchemaCache(async (sql, params) => {
      if (params[1] === 'b' && failed === 0) {
        failed++;
        throw Object.assign(new Error('connection reset while reading the schema'), { code: 'ECONNRESET' });
      }
      return (await pool.query(sql, params as unknown[]))[0] as Record<string, unknown>[];
    });
    const reader = new BinlogReader({
      connection: { ...db.endpoint(), connectTimeoutMs: 5_000 },
      serverId: 2501,
      filter: new TableFilter(['shop.*'], []),
      schema,
      folder: new CollationFolder(async (sql, params) => (await pool.query({ sql, values: params as unknown[], rowsAsArray: true }))[0] as unknown[][]),
      logger: silentLogger(),
      silentAfterMs: 30_000,
      reconnect: { initialMs: 50, maxMs: 200, factor: 2 },
      highWaterBytes: 4 << 20,
      lowWaterBytes: 1 << 20,
      statementEvents: 'stop',
      head,
      earliest: async () => start,
      sessionStart: async () => ({ identity: { flavor: 'mariadb', serverId: 1, domainId: 0 }, gtidPos: null }),
    });
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), 30_000);
    const watermark = new Watermark({ position: start, sourceTimestampMs: 0 });
    const events: SourceStreamEvent[] = [];
    try {
      // Apply every change at once (an instant sink): only the stream decides whether the watermark moves.
      for await (const batch of reader.read({ from: { kind: 'position', position: start }, until: end, signal: ac.signal })) {
        for (const e of batch) {
          events.push(e);
          if (e.kind === 'change') {
            watermark.track(e.txSeq);
            watermark.ack(e.txSeq);
          } else if (e.kind === 'commit') watermark.commit(e.txSeq, e.position, e.timestampMs);
          else if (e.kind === 'abandon') watermark.abandon(e.txSeq);
        }
      }
    } finally {
      clearTimeout(timer);
    }
    expect(ac.signal.aborted).toBe(false);
    expect(failed).toBe(1);
    expect(reader.stats.reconnects).toBe(1);
    // Every transaction that emitted changes ended: committed or abandoned.
    const ended = new Set(events.filter((e) => e.kind === 'commit' || e.kind === 'abandon').map((e) => (e as { txSeq: number }).txSeq));
    const withChanges = new Set(events.filter((e) => e.kind === 'change').map((e) => e.txSeq));
    expect([...withChanges].filter((t) => !ended.has(t))).toEqual([]);
    expect(watermark.inFlight).toBe(0);
    expect(comparePositions(watermark.checkpoint!.position, end)).toBe(0);
  });
});
