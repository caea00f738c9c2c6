/**
 * Per-key order with many lanes: concurrent updates to a few hot keys, primary-key changes, delete and
 * re-insert of one key, unique-value swaps between rows, multi-statement transactions and rollbacks.
 * The target must equal the source (ordered digest of every column of every table).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type mysql from 'mysql2/promise';
import { startServerPair, type ServerPair } from '../support/servers.js';
import { assertSameData } from '../support/digest.js';
import { startInProcess } from '../support/in-process.js';

const DB = 'ord';
let servers: ServerPair;

const DDL = [
  `CREATE DATABASE ${DB}`,
  `CREATE TABLE ${DB}.counters (id INT PRIMARY KEY, v BIGINT NOT NULL, history VARCHAR(2000) NOT NULL DEFAULT '')`,
  `CREATE TABLE ${DB}.accounts (id INT PRIMARY KEY, email VARCHAR(64) NOT NULL, code INT NULL, balance DECIMAL(12,2) NOT NULL, UNIQUE KEY (email), UNIQUE KEY (code))`,
  `CREATE TABLE ${DB}.moves (k VARCHAR(20) PRIMARY KEY, payload VARBINARY(64) NULL)`,
];

beforeAll(async () => {
  servers = await startServerPair();
  for (const s of [servers.source, servers.target]) for (const sql of DDL) await s.query(sql);
});

afterAll(async () => {
  await servers?.stop();
});

async function withConn<T>(fn: (c: mysql.Connection) => Promise<T>): Promise<T> {
  const c = await servers.source.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function retryDeadlocks(c: mysql.Connection, statements: string[]): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await c.query('BEGIN');
      for (const s of statements) await c.query(s);
      await c.query('COMMIT');
      return;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      const errno = (err as { errno?: number }).errno;
      if ((errno === 1213 || errno === 1205) && attempt < 50) continue;
      throw err;
    }
  }
}

describe('ordering', () => {
  it('keeps per-key order across lanes, key changes, re-inserts, unique swaps and rollbacks', async () => {
    await servers.source.query(`INSERT INTO ${DB}.counters (id, v) VALUES (1,0),(2,0),(3,0)`);
    await servers.source.query(`INSERT INTO ${DB}.accounts VALUES (1,'a@x',1,0),(2,'b@x',2,0),(3,'c@x',3,0),(4,'d@x',4,0)`);
    const running = await startInProcess(servers.source, servers.target, { PIPELINE_NAME: 'ordering', SYNC_DB: DB, LANES: '16', PARTITIONS: '4', BATCH_SIZE: '4' });
    await running.pipeline;

    // 6 writers × 400 updates to 3 hot keys; each appends to a history so any reordering shows.
    const hot = Array.from({ length: 6 }, (_, w) =>
      withConn(async (c) => {
        for (let i = 0; i < 400; i++) {
          const id = 1 + ((i + w) % 3);
          await c.query(`UPDATE ${DB}.counters SET v = v + 1, history = RIGHT(CONCAT(history, '${w}.${i};'), 1900) WHERE id = ${id}`);
        }
      }),
    );
    // Unique swaps of emails and codes between random pairs, through temporary values, in transactions.
    const swaps = withConn(async (c) => {
      for (let i = 0; i < 300; i++) {
        const a = 1 + (i % 4);
        const b = 1 + ((i + 1 + (i % 3)) % 4);
        if (a === b) continue;
        await retryDeadlocks(c, [
          `SELECT email, code INTO @ea, @ca FROM ${DB}.accounts WHERE id = ${a} FOR UPDATE`,
          `SELECT email, code INTO @eb, @cb FROM ${DB}.accounts WHERE id = ${b} FOR UPDATE`,
          `UPDATE ${DB}.accounts SET email = CONCAT('tmp', ${i}), code = NULL WHERE id = ${a}`,
          `UPDATE ${DB}.accounts SET email = @ea, code = @ca, balance = balance + 1 WHERE id = ${b}`,
          `UPDATE ${DB}.accounts SET email = @eb, code = @cb, balance = balance - 1 WHERE id = ${a}`,
        ]);
      }
    });
    // Key changes, delete + re-insert of the same key, multi-statement transactions, rollbacks.
    const moves = withConn(async (c) => {
      for (let i = 0; i < 300; i++) {
        const k = `k${i % 7}`;
        await retryDeadlocks(c, [
          `INSERT INTO ${DB}.moves VALUES ('${k}', UNHEX('${(i % 256).toString(16).padStart(2, '0')}00FF')) ON DUPLICATE KEY UPDATE payload = UNHEX('${(i % 256).toString(16).padStart(2, '0')}')`,
          `DELETE FROM ${DB}.moves WHERE k = 'm${i % 5}'`,
          `UPDATE ${DB}.moves SET k = 'm${i % 5}' WHERE k = '${k}'`,
          `INSERT INTO ${DB}.moves VALUES ('${k}', NULL)`,
        ]);
        if (i % 10 === 0) {
          await c.query('BEGIN');
          await c.query(`DELETE FROM ${DB}.moves`);
          await c.query(`UPDATE ${DB}.counters SET v = -1`);
          await c.query('ROLLBACK');
        }
        if (i % 25 === 0) {
          await c.query(`DELETE FROM ${DB}.moves WHERE k = '${k}'`);
          await c.query(`INSERT INTO ${DB}.moves VALUES ('${k}', 0x01)`);
        }
      }
    });
    await Promise.all([...hot, swaps, moves]);
    await running.caughtUp();
    const result = await running.stop();
    expect(result.stats.changes).toBeGreaterThan(3000);
    const [row] = await servers.target.query<{ v: number }>(`SELECT SUM(v) AS v FROM ${DB}.counters`);
    expect(Number(row!.v)).toBe(2400);
    await assertSameData(servers.source, servers.target, DB);
  });
});
