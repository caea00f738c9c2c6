/**
 * Schema changes while streaming (`schemaChanges`), against real servers. A writer keeps changing rows
 * while columns are added, dropped, renamed and retyped, a unique key is added, a table is created,
 * another truncated, another renamed and another dropped; after each step the target equals the source
 * (every row, and every table's columns and indexes). Then kill -9 of the daemon right after a DDL and
 * a restart converge, and `stop` halts before a DDL with the checkpoint before it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type mysql from 'mysql2/promise';
import { startServerPair, type ServerPair } from '../support/servers.js';
import { assertSameData } from '../support/digest.js';
import { shapeOf } from '../support/table-shape.js';
import { startInProcess } from '../support/in-process.js';
import { killStartedClis, pipelineEnv, sourceHead, startCli, storedCheckpoint, TEST_PIPELINE, waitForCatchUp } from '../support/pipeline-process.js';
import { waitFor } from '../support/wait-for.js';
import { comparePositions, formatPosition, type BinlogPosition } from '../../src/core/position.js';
import { BinlogSyncError } from '../../src/core/errors.js';

const DB = 'ddl';
let servers: ServerPair;
const logDir = mkdtempSync(join(tmpdir(), 'binlog-sync-ddl-'));

beforeAll(async () => {
  servers = await startServerPair();
  await servers.source.query(`CREATE DATABASE ${DB}`);
  for (const sql of [
    `CREATE TABLE ${DB}.items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40) NOT NULL, qty INT NOT NULL, note VARCHAR(20) NULL)`,
    `CREATE TABLE ${DB}.logs (id INT AUTO_INCREMENT PRIMARY KEY, msg VARCHAR(100) NOT NULL)`,
    `CREATE TABLE ${DB}.old_name (id INT AUTO_INCREMENT PRIMARY KEY, v INT NOT NULL)`,
    `CREATE TABLE ${DB}.doomed (id INT PRIMARY KEY, v INT NOT NULL)`,
  ]) {
    await servers.source.query(sql);
  }
}, 120_000);

afterAll(async () => {
  killStartedClis();
  await servers?.stop();
  rmSync(logDir, { recursive: true, force: true });
});

/**
 * Writes to the source until stopped: inserts, updates and deletes on `items`, inserts into `logs`,
 * the renamed table under either name, and `created` once it exists. Statements that name a column or
 * table not there (yet, or any more) fail and are skipped: the point is that rows keep changing while
 * each DDL runs. Pausable, so that a step can compare both sides at rest.
 */
class Writer {
  private stopped = false;
  private pausedFor: (() => void) | null = null;
  private resume: (() => void) | null = null;
  private readonly done: Promise<void>;
  committed = 0;
  private n = 0;

  constructor(private readonly conn: mysql.Connection) {
    this.done = this.loop();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      if (this.pausedFor) {
        const paused = this.pausedFor;
        this.pausedFor = null;
        await new Promise<void>((r) => {
          this.resume = r;
          paused();
        });
        continue;
      }
      const n = ++this.n;
      const statements = [
        `INSERT INTO ${DB}.items (name, qty) VALUES ('item ${n}', ${n % 97})`,
        `UPDATE ${DB}.items SET qty = qty + 1, name = CONCAT('u', ${n}) WHERE id = ${1 + (n % 40)}`,
        `UPDATE ${DB}.items SET extra2 = 'e${n}' WHERE id = ${1 + ((n * 7) % 40)}`,
        `UPDATE ${DB}.items SET code = id + 100000 WHERE id = ${1 + ((n * 3) % 40)}`,
        `INSERT INTO ${DB}.logs (msg) VALUES ('log ${n}')`,
        `INSERT INTO ${DB}.old_name (v) VALUES (${n})`,
        `INSERT INTO ${DB}.new_name (v) VALUES (${n})`,
        `INSERT INTO ${DB}.created (v) VALUES ('c${n}')`,
        n % 5 === 0 ? `DELETE FROM ${DB}.items WHERE id = ${1 + ((n * 11) % 40)}` : `UPDATE ${DB}.doomed SET v = v + 1`,
      ];
      for (const sql of statements) {
        try {
          await this.conn.query(sql);
          this.committed++;
        } catch (err) {
          const errno = (err as { errno?: number }).errno;
          // 1054 unknown column, 1146 no such table: not there (yet, or any more).
          if (errno !== 1054 && errno !== 1146) throw err;
        }
      }
    }
  }

  /** Resolves once the writer is between statements and waits. */
  pause(): Promise<void> {
    return new Promise<void>((r) => (this.pausedFor = r));
  }

  unpause(): void {
    const r = this.resume;
    this.resume = null;
    r?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unpause();
    await this.done;
  }
}

async function expectTargetEqualsSource(pipeline: string, step: string): Promise<void> {
  await waitForCatchUp(servers.source.endpoint(), servers.target.endpoint(), pipeline, 120_000);
  expect(await shapeOf(servers.target, DB), `table definitions after: ${step}`).toEqual(await shapeOf(servers.source, DB));
  await assertSameData(servers.source, servers.target, DB);
}

describe('schemaChanges: apply', () => {
  it('applies each DDL as a barrier while a writer keeps writing; the target equals the source after each step', async () => {
    const running = await startInProcess(servers.source, servers.target, { PIPELINE_NAME: 'ddl-apply', SYNC_DB: DB });
    await running.pipeline;
    const conn = await servers.source.connect();
    const writer = new Writer(conn);
    try {
      const steps: [string, string[]][] = [
        ['add a column', [`ALTER TABLE ${DB}.items ADD COLUMN extra VARCHAR(30) NULL DEFAULT 'x'`]],
        ['drop a column', [`ALTER TABLE ${DB}.items DROP COLUMN note`]],
        ['rename a column', [`ALTER TABLE ${DB}.items RENAME COLUMN extra TO extra2`]],
        ['retype a column', [`ALTER TABLE ${DB}.items MODIFY COLUMN qty BIGINT NOT NULL`]],
        ['add a unique key and an index', [`ALTER TABLE ${DB}.items ADD COLUMN code INT NULL, ADD UNIQUE KEY uq_code (code)`, `CREATE INDEX ix_name ON ${DB}.items (name)`]],
        ['drop an index', [`ALTER TABLE ${DB}.items DROP INDEX ix_name`]],
        ['create a table', [`CREATE TABLE ${DB}.created (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20) NOT NULL)`]],
        ['truncate a table', [`TRUNCATE TABLE ${DB}.logs`]],
        ['rename a table', [`RENAME TABLE ${DB}.old_name TO ${DB}.new_name`]],
        ['drop a table', [`DROP TABLE ${DB}.doomed`]],
      ];
      await servers.source.query(`INSERT INTO ${DB}.doomed VALUES (1, 0), (2, 0)`);
      for (const [step, ddl] of steps) {
        const before = writer.committed;
        // Rows change right before and right after the DDL, with no pause around it.
        await waitFor(() => writer.committed >= before + 20, { what: `the writer to write before: ${step}`, timeoutMs: 60_000 });
        for (const sql of ddl) await servers.source.query(sql);
        const after = writer.committed;
        await waitFor(() => writer.committed >= after + 20, { what: `the writer to write after: ${step}`, timeoutMs: 60_000 });
        await writer.pause();
        try {
          await expectTargetEqualsSource('ddl-apply', step);
        } finally {
          writer.unpause();
        }
      }
      await writer.stop();
      await expectTargetEqualsSource('ddl-apply', 'the end');
      const result = await running.stop();
      expect(result.stats.schemaChanges).toBeGreaterThanOrEqual(11);
    } finally {
      await writer.stop();
      await conn.end();
      await running.stop().catch(() => undefined);
    }
  }, 600_000);
});

/** The position just after the last event on the source (a DDL just run, when nothing else writes). */
async function headAfter(sql: string): Promise<BinlogPosition> {
  await servers.source.query(sql);
  return sourceHead(servers.source.endpoint());
}

async function appliedMark(stream: string, pipeline: string): Promise<BinlogPosition | null> {
  const rows = await servers.target.query<{ f: string; p: number }>('SELECT binlog_file AS f, binlog_pos AS p FROM _binlog_sync.applied WHERE pipeline = ? AND stream = ?', [pipeline, stream]);
  return rows[0] ? { file: rows[0].f, pos: Number(rows[0].p) } : null;
}

describe('kill -9 right after a DDL', () => {
  it('converges after a restart, whether the kill came before or after the DDL was recorded', async () => {
    const env = pipelineEnv(servers.source.endpoint(), servers.target.endpoint(), { PIPELINE_NAME: 'ddl-kill', SYNC_DB: DB, START: 'latest' });
    const log = join(logDir, 'kill.log');
    const conn = await servers.source.connect();
    let cli = startCli(['run', '--config', TEST_PIPELINE], env, log);
    try {
      await cli.running;
      await waitForCatchUp(servers.source.endpoint(), servers.target.endpoint(), 'ddl-kill', 120_000);
      const alters = [
        `ALTER TABLE ${DB}.items ADD COLUMN k1 INT NOT NULL DEFAULT 1`,
        `ALTER TABLE ${DB}.items DROP COLUMN k1, ADD COLUMN k2 VARCHAR(10) NULL`,
        `ALTER TABLE ${DB}.items CHANGE COLUMN k2 k3 VARCHAR(12) NULL`,
        `CREATE TABLE ${DB}.k_new (id INT PRIMARY KEY, v INT NOT NULL)`,
        `TRUNCATE TABLE ${DB}.new_name`,
      ];
      for (const [i, sql] of alters.entries()) {
        const at = await headAfter(sql);
        // Rows of the new shape right behind it.
        for (let r = 0; r < 30; r++) await conn.query(`INSERT INTO ${DB}.items (name, qty) VALUES ('after ${i}.${r}', ${r})`);
        // The kill lands as soon as the daemon has started the DDL on the target: before it ran, while
        // it runs, or just after (then its record may or may not be written).
        await waitFor(async () => {
          const started = await appliedMark('schema-started', 'ddl-kill');
          return started !== null && comparePositions(started, at) >= 0;
        }, { what: `the daemon to start the DDL at ${formatPosition(at)}`, timeoutMs: 120_000, intervalMs: 5 });
        cli.proc.kill('SIGKILL');
        expect(await cli.exited, cli.output()).toBeNull();
        cli = startCli(['run', '--config', TEST_PIPELINE], env, log);
        await cli.running;
        await waitForCatchUp(servers.source.endpoint(), servers.target.endpoint(), 'ddl-kill', 120_000);
        expect(await shapeOf(servers.target, DB)).toEqual(await shapeOf(servers.source, DB));
        await assertSameData(servers.source, servers.target, DB);
      }
      cli.proc.kill('SIGTERM');
      expect(await cli.exited, cli.output()).toBe(0);
    } finally {
      await conn.end();
      if (cli.proc.exitCode === null) cli.proc.kill('SIGKILL');
    }
  }, 600_000);

  it('a DDL that ran on the target but was not recorded (killed in between) is run again and taken as done', async () => {
    // The state a kill between the DDL and its record leaves, made on purpose: the DDL has run on the
    // target, `schema-started` names it, `schema` and the checkpoint are still before it.
    const running = await startInProcess(servers.source, servers.target, { PIPELINE_NAME: 'ddl-window', SYNC_DB: DB, START: 'latest' });
    await running.pipeline;
    await running.caughtUp(120_000);
    await running.stop();
    const checkpoint = (await storedCheckpoint(servers.target.endpoint(), 'ddl-window'))!;
    const doneBefore = await appliedMark('schema', 'ddl-window');
    const sql = `ALTER TABLE ${DB}.items ADD COLUMN w1 INT NULL, ADD INDEX ix_w1 (w1)`;
    const at = await headAfter(sql);
    await servers.target.query(sql);
    await servers.target.query(
      "INSERT INTO _binlog_sync.applied (pipeline, stream, binlog_file, binlog_pos) VALUES ('ddl-window', 'schema-started', ?, ?) ON DUPLICATE KEY UPDATE binlog_file = VALUES(binlog_file), binlog_pos = VALUES(binlog_pos)",
      [at.file, at.pos],
    );
    await servers.source.query(`UPDATE ${DB}.items SET w1 = id WHERE id % 2 = 0`);
    const again = await startInProcess(servers.source, servers.target, { PIPELINE_NAME: 'ddl-window', SYNC_DB: DB, START: 'latest' });
    await again.pipeline;
    await again.caughtUp(120_000);
    await again.stop();
    expect(comparePositions((await storedCheckpoint(servers.target.endpoint(), 'ddl-window'))!, checkpoint)).toBeGreaterThan(0);
    expect(await appliedMark('schema', 'ddl-window')).toEqual(at);
    expect(doneBefore === null || comparePositions(doneBefore, at) < 0).toBe(true);
    expect(await shapeOf(servers.target, DB)).toEqual(await shapeOf(servers.source, DB));
    await assertSameData(servers.source, servers.target, DB);
  }, 300_000);
});

describe('schemaChanges: stop', () => {
  it('halts before a DDL on a synced table, naming it, its position and how to continue; the checkpoint stays before it', async () => {
    const running = await startInProcess(servers.source, servers.target, { PIPELINE_NAME: 'ddl-stop', SYNC_DB: DB, SCHEMA_CHANGES: 'stop', START: 'latest' });
    await running.pipeline;
    await servers.source.query(`INSERT INTO ${DB}.items (name, qty) VALUES ('before stop', 1)`);
    await running.caughtUp(120_000);
    const sql = `ALTER TABLE ${DB}.items ADD COLUMN s1 INT NULL`;
    const at = await headAfter(sql);
    const err = await running.result.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BinlogSyncError);
    expect((err as BinlogSyncError).code).toBe('SOURCE_SCHEMA_CHANGE');
    const message = (err as Error).message;
    expect(message).toContain(sql);
    expect(message).toContain(`${DB}.items`);
    expect(message).toContain(formatPosition(at));
    expect(message).toContain(`--reset-to ${formatPosition(at)} --yes`);
    expect(message).toContain('schemaChanges: apply');
    const stored = await storedCheckpoint(servers.target.endpoint(), 'ddl-stop');
    expect(stored).not.toBeNull();
    expect(comparePositions(stored!, at)).toBeLessThan(0);
    // The target was left alone.
    expect((await shapeOf(servers.target, DB)).some((c) => c.includes('items.s1'))).toBe(false);
    // Switching to apply continues from the checkpoint and runs it.
    await servers.source.query(`UPDATE ${DB}.items SET s1 = 5 WHERE id % 3 = 0`);
    const resumed = await startInProcess(servers.source, servers.target, { PIPELINE_NAME: 'ddl-stop', SYNC_DB: DB, SCHEMA_CHANGES: 'apply', START: 'latest' });
    await resumed.pipeline;
    await resumed.caughtUp(120_000);
    await resumed.stop();
    expect(await shapeOf(servers.target, DB)).toEqual(await shapeOf(servers.source, DB));
    await assertSameData(servers.source, servers.target, DB);
  }, 300_000);
});

describe('schemaChanges: apply with a sink user that may not create or drop', () => {
  it('takes a CREATE of what exists and a DROP of what is gone as done without running them (a least-privileged user is denied even IF [NOT] EXISTS)', async () => {
    const db = 'ddl_grants';
    await servers.target.rootQuery(
      `CREATE USER ddl_sink@'%' IDENTIFIED BY 'ddl-pass'; CREATE USER ddl_sink@localhost IDENTIFIED BY 'ddl-pass';` +
        `GRANT ALL ON _binlog_sync.* TO ddl_sink@'%', ddl_sink@localhost; GRANT SELECT ON *.* TO ddl_sink@'%', ddl_sink@localhost;`,
    );
    // The target already has the database and the table (copied by hand).
    await servers.target.query(`CREATE DATABASE ${db}`);
    await servers.target.query(`CREATE TABLE ${db}.t (id INT PRIMARY KEY, v INT NOT NULL)`);
    await servers.target.rootQuery(`GRANT INSERT, UPDATE, DELETE ON ${db}.* TO ddl_sink@'%', ddl_sink@localhost`);
    await servers.source.query(`CREATE DATABASE ${db}`);
    const running = await startInProcess(servers.source, servers.target, { PIPELINE_NAME: 'ddl-grants', SYNC_DB: db, SCHEMA_CHANGES: 'apply', START: 'latest', TARGET_USER: 'ddl_sink', TARGET_PASSWORD: 'ddl-pass' });
    await running.pipeline;
    await servers.source.query(`CREATE DATABASE IF NOT EXISTS ${db}`);
    await servers.source.query(`CREATE TABLE ${db}.t (id INT PRIMARY KEY, v INT NOT NULL)`);
    await servers.source.query(`DROP TABLE IF EXISTS ${db}.never_there`);
    await servers.source.query(`INSERT INTO ${db}.t VALUES (1, 10), (2, 20)`);
    await running.caughtUp(120_000);
    await running.stop();
    await assertSameData(servers.source, servers.target, db);
  }, 300_000);
});
