/**
 * Sessions that change what the binlog says. `binlog_format` and `binlog_row_image` can be set per
 * session: then DML arrives as statements (STATEMENT/MIXED) or rows events carry only some columns
 * (MINIMAL, NOBLOB). The pipeline must never skip such a change or write NULL for a column the event
 * did not carry: by default it stops with a specific error after applying and checkpointing
 * everything before it; with `source.statementEvents: apply` it runs statements on the target exactly
 * once, in order, as a native replica would.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { Readable } from 'node:stream';
import { startServerPair, type ServerPair } from '../support/servers.js';
import { assertSameData } from '../support/digest.js';
import { startInProcess } from '../support/in-process.js';
import { sourceHead, storedCheckpoint } from '../support/pipeline-process.js';
import { MySqlCheckpointStore } from '../../connectors/mysql-sink/index.js';
import { APPLIED_TABLE, CHECKPOINT_DATABASE, STATEMENTS_STREAM } from '../../connectors/mysql-sink/applied-log.js';
import type { BinlogPosition } from '../../src/core/position.js';

const DB = 'fmt';
let servers: ServerPair;

const TABLES = [
  `CREATE TABLE ${DB}.t (id INT AUTO_INCREMENT PRIMARY KEY, v INT NOT NULL, note VARCHAR(40) NULL, at DATETIME NULL) ENGINE=InnoDB`,
  `CREATE TABLE ${DB}.b (id INT PRIMARY KEY, v INT NOT NULL, doc BLOB NULL) ENGINE=InnoDB`,
];

beforeAll(async () => {
  servers = await startServerPair();
  for (const s of [servers.source, servers.target]) {
    await s.query(`CREATE DATABASE ${DB}`);
    await s.query('CREATE DATABASE unsynced');
    await s.query('CREATE TABLE unsynced.u (id INT PRIMARY KEY, v INT)');
  }
});

afterAll(async () => {
  await servers?.stop();
});

async function resetTables(): Promise<void> {
  for (const s of [servers.source, servers.target]) {
    await s.query(`DROP TABLE IF EXISTS ${DB}.t, ${DB}.b`);
    for (const sql of TABLES) await s.query(sql);
  }
}

/** Runs statements in one session with the given session settings. */
async function inSession(settings: string, statements: string[]): Promise<void> {
  const c: mysql.Connection = await servers.source.connect();
  try {
    await c.query(settings);
    for (const sql of statements) await c.query(sql);
  } finally {
    await c.end();
  }
}

describe('statement-format sessions', () => {
  it('stop by default before a statement-format change on a synced table, with the checkpoint before it', async () => {
    await resetTables();
    const name = 'fmt-stop';
    const running = await startInProcess(servers.source, servers.target, { PIPELINE_NAME: name, SYNC_DB: DB, START: 'latest' });
    await running.pipeline;
    await servers.source.query(`INSERT INTO ${DB}.t (v) VALUES (1), (2)`);
    // Statement format on a table the pipeline does not sync: not its business.
    await inSession("SET SESSION binlog_format = 'STATEMENT'", ['INSERT INTO unsynced.u VALUES (1, 1)']);
    const before: BinlogPosition = await sourceHead(servers.source.endpoint());
    await inSession("SET SESSION binlog_format = 'STATEMENT'", [`UPDATE ${DB}.t SET v = v + 10`]);
    await expect(running.result).rejects.toMatchObject({ code: 'SOURCE_STATEMENT_EVENT' });
    await expect(running.result).rejects.toThrow(/UPDATE fmt\.t SET v = v \+ 10[\s\S]*statementEvents: apply/);
    expect(await storedCheckpoint(servers.target.endpoint(), name)).toEqual(before);
    expect(await servers.target.query(`SELECT id, v FROM ${DB}.t ORDER BY id`)).toEqual([
      { id: 1, v: 1 },
      { id: 2, v: 2 },
    ]);
  });

  it('stops at LOAD DATA logged in statement format (events the binlog library cannot read), with the checkpoint before it', async () => {
    await resetTables();
    const name = 'fmt-load-data';
    const running = await startInProcess(servers.source, servers.target, { PIPELINE_NAME: name, SYNC_DB: DB, START: 'latest', STATEMENT_EVENTS: 'apply' });
    await running.pipeline;
    await servers.source.query(`INSERT INTO ${DB}.t (v) VALUES (1)`);
    await running.caughtUp(30_000);
    const before: BinlogPosition = await sourceHead(servers.source.endpoint());
    // LOAD DATA in a STATEMENT session is logged as Begin_load_query + Execute_load_query: not rows.
    const c = await mysql.createConnection({ ...servers.source.endpoint(), infileStreamFactory: () => Readable.from([Buffer.from('7\tloaded\n8\tloaded\n')]) });
    try {
      await c.query("SET SESSION binlog_format = 'STATEMENT'");
      await c.query(`LOAD DATA LOCAL INFILE 'rows.tsv' INTO TABLE ${DB}.t (v, note)`);
    } finally {
      await c.end();
    }
    const failed = await Promise.race([running.result.then(() => null, (e: unknown) => e), new Promise((r) => setTimeout(() => r('still running 20 s later'), 20_000))]);
    if (failed === 'still running 20 s later') await running.stop().catch(() => undefined);
    expect(failed).toMatchObject({ code: 'SOURCE_UNREADABLE_EVENT' });
    await expect(running.result).rejects.toThrow(/LOAD DATA/);
    expect(await storedCheckpoint(servers.target.endpoint(), name)).toEqual(before);
    expect(await servers.target.query(`SELECT v FROM ${DB}.t ORDER BY id`)).toEqual([{ v: 1 }]);
  });

  it('with statementEvents: apply, runs each statement once, in order, with the source session context', async () => {
    await resetTables();
    const name = 'fmt-apply';
    const env = { PIPELINE_NAME: name, SYNC_DB: DB, START: 'latest', STATEMENT_EVENTS: 'apply' };
    let running = await startInProcess(servers.source, servers.target, env);
    await running.pipeline;
    const start = await sourceHead(servers.source.endpoint());
    await servers.source.query(`INSERT INTO ${DB}.t (v, note) VALUES (1, 'row'), (2, 'row')`);
    await inSession("SET SESSION binlog_format = 'STATEMENT'", [
      // AUTO_INCREMENT ids and NOW() must come out as on the source (INSERT_ID, TIMESTAMP in the event).
      `INSERT INTO ${DB}.t (v, note, at) VALUES (3, 'stmt', NOW()), (4, 'stmt', NOW())`,
      `UPDATE ${DB}.t SET v = v * 10 WHERE v > 1`,
      'BEGIN',
      `INSERT INTO ${DB}.t (v, note) VALUES (5, 'in-tx')`,
      `DELETE FROM ${DB}.t WHERE v = 1`,
      'COMMIT',
    ]);
    // Row-format changes after the statements must apply on top of them, in order.
    await servers.source.query(`UPDATE ${DB}.t SET note = 'after' WHERE v = 20`);
    await running.caughtUp(30_000);
    const result = await running.stop();
    expect(result.stats.statements).toBe(4);
    await assertSameData(servers.source, servers.target, DB);

    // The checkpoint was stored with each statement: a restart resumes after the last one.
    const stored = await storedCheckpoint(servers.target.endpoint(), name);
    running = await startInProcess(servers.source, servers.target, env);
    await running.pipeline;
    await running.caughtUp(30_000);
    expect((await running.stop()).stats.statements).toBe(0);
    await assertSameData(servers.source, servers.target, DB);
    expect(stored).not.toBeNull();

    // kill -9 just after a statement's transaction leaves the checkpoint exactly at the statement (it is
    // stored with it): starting there is after it, and must go on (found by the fuzzer: it refused).
    const applied = (await servers.target.query(
      `SELECT binlog_file AS file, binlog_pos AS pos FROM \`${CHECKPOINT_DATABASE}\`.\`${APPLIED_TABLE}\` WHERE pipeline = ? AND stream = ?`,
      [name, STATEMENTS_STREAM],
    )) as { file: string; pos: number }[];
    const atStatement = { file: String(applied[0]!.file), pos: Number(applied[0]!.pos) };
    const crashStore = new MySqlCheckpointStore(servers.target.endpoint());
    try {
      await crashStore.save(name, { position: atStatement, sourceTimestampMs: Date.now() });
    } finally {
      await crashStore.close();
    }
    running = await startInProcess(servers.source, servers.target, env);
    await running.pipeline;
    await running.caughtUp(30_000);
    expect((await running.stop()).stats.statements).toBe(0);
    await assertSameData(servers.source, servers.target, DB);

    // Starting before a statement that ran would re-apply older rows over its effects: refused, target untouched.
    const store = new MySqlCheckpointStore(servers.target.endpoint());
    try {
      await store.save(name, { position: start, sourceTimestampMs: Date.now() });
    } finally {
      await store.close();
    }
    running = await startInProcess(servers.source, servers.target, env);
    await expect(running.result).rejects.toThrow(/already ran a statement-format change at mysql-bin\.\d+:\d+/);
    await assertSameData(servers.source, servers.target, DB);
  });
});

describe('partial row images', () => {
  for (const image of ['MINIMAL', 'NOBLOB'] as const) {
    it(`stop with SOURCE_PARTIAL_ROW_IMAGE on binlog_row_image=${image}, write nothing of it, checkpoint before it`, async () => {
      await resetTables();
      const name = `image-${image.toLowerCase()}`;
      const running = await startInProcess(servers.source, servers.target, { PIPELINE_NAME: name, SYNC_DB: DB, START: 'latest' });
      await running.pipeline;
      await servers.source.query(`INSERT INTO ${DB}.b VALUES (1, 1, 'blob one'), (2, 2, 'blob two')`);
      const before = await sourceHead(servers.source.endpoint());
      await inSession(`SET SESSION binlog_row_image = '${image}'`, [`UPDATE ${DB}.b SET v = v + 1 WHERE id = 1`]);
      await expect(running.result).rejects.toMatchObject({ code: 'SOURCE_PARTIAL_ROW_IMAGE' });
      await expect(running.result).rejects.toThrow(/fmt\.b: the rows event at mysql-bin\.\d+:\d+ carries a partial row image \([^)]*lacks[^)]*doc/);
      expect(await storedCheckpoint(servers.target.endpoint(), name)).toEqual(before);
      expect(await servers.target.query(`SELECT id, v, CAST(doc AS CHAR) AS doc FROM ${DB}.b ORDER BY id`)).toEqual([
        { id: 1, v: 1, doc: 'blob one' },
        { id: 2, v: 2, doc: 'blob two' },
      ]);
    });
  }
});
