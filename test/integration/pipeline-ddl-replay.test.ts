/**
 * Reading the binlog again from before schema changes (issue 13), against real servers. Rows are
 * written between DDL that adds, drops and renames columns (RENAME COLUMN, CHANGE, a key column too),
 * moves a primary key to another column,
 * renames tables (RENAME TABLE, ALTER … RENAME), truncates one and drops and re-creates another; the
 * daemon applies it all (`schemaChanges: apply`). Then `binlog-sync replay --from` a position before
 * every DDL, and `run --reset-to` that position, must each leave the target equal to the source: the
 * rows of the old shapes are carried forward through the target's schema history, and those a later
 * TRUNCATE or DROP erased are not written again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServerPair, type ServerPair, type TestServer } from '../support/servers.js';
import { assertSameData } from '../support/digest.js';
import { shapeOf } from '../support/table-shape.js';
import { killStartedClis, type CliRun, pipelineEnv, runCli, sourceHead, startCli, TEST_PIPELINE, waitForCatchUp } from '../support/pipeline-process.js';
import { formatPosition, type BinlogPosition } from '../../src/core/position.js';

const DB = 'ddl_replay';
const PIPELINE = 'ddl-replay';
let servers: ServerPair;
const logDir = mkdtempSync(join(tmpdir(), 'binlog-sync-ddl-replay-'));

beforeAll(async () => {
  servers = await startServerPair();
  await servers.source.query(`CREATE DATABASE ${DB}`);
  for (const sql of [
    `CREATE TABLE ${DB}.items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40) NOT NULL, qty INT NOT NULL, note VARCHAR(20) NULL)`,
    `CREATE TABLE ${DB}.logs (id INT AUTO_INCREMENT PRIMARY KEY, msg VARCHAR(100) NOT NULL)`,
    `CREATE TABLE ${DB}.old_name (id INT AUTO_INCREMENT PRIMARY KEY, v INT NOT NULL)`,
    `CREATE TABLE ${DB}.doomed (id INT PRIMARY KEY, v INT NOT NULL)`,
    `CREATE TABLE ${DB}.keyed (id INT PRIMARY KEY, v INT NOT NULL)`,
    `CREATE TABLE ${DB}.moved (id INT PRIMARY KEY, code INT NOT NULL, v INT NOT NULL)`,
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
 * One round of writes, naming columns and tables under both their old and new names: what is not
 * there (yet, or any more) fails and is skipped, so each round writes whatever the shape is now.
 */
async function writeRound(server: TestServer, n: number): Promise<void> {
  const statements = [
    `INSERT INTO ${DB}.items (name, qty, note) VALUES ('item ${n}', ${n % 97}, 'n${n}')`,
    `INSERT INTO ${DB}.items (name, qty) VALUES ('item ${n}b', ${n % 89})`,
    `INSERT INTO ${DB}.items (name, quantity) VALUES ('item ${n}c', ${n % 83})`,
    `UPDATE ${DB}.items SET qty = qty + 1, name = CONCAT('u', ${n}) WHERE id = ${1 + (n % 25)}`,
    `UPDATE ${DB}.items SET quantity = quantity + 1, name = CONCAT('u', ${n}) WHERE id = ${1 + ((n * 5) % 25)}`,
    `UPDATE ${DB}.items SET note = 'm${n}' WHERE id = ${1 + ((n * 3) % 25)}`,
    `UPDATE ${DB}.items SET extra = 'e${n}' WHERE id = ${1 + ((n * 7) % 25)}`,
    `UPDATE ${DB}.items SET extra2 = 'f${n}' WHERE id = ${1 + ((n * 11) % 25)}`,
    n % 4 === 0 ? `DELETE FROM ${DB}.items WHERE id = ${1 + ((n * 13) % 25)}` : 'DO 0',
    `INSERT INTO ${DB}.logs (msg) VALUES ('log ${n}')`,
    `INSERT INTO ${DB}.journal (msg) VALUES ('journal ${n}')`,
    `INSERT INTO ${DB}.old_name (v) VALUES (${n})`,
    `INSERT INTO ${DB}.new_name (v) VALUES (${n})`,
    `UPDATE ${DB}.new_name SET v = v + 1000 WHERE id = ${1 + (n % 10)}`,
    `INSERT INTO ${DB}.doomed (id, v) VALUES (${n}, ${n}) ON DUPLICATE KEY UPDATE v = v + 1`,
    `INSERT INTO ${DB}.keyed (id, v) VALUES (${n}, ${n})`,
    `INSERT INTO ${DB}.keyed (kid, v) VALUES (${n}, ${n})`,
    `UPDATE ${DB}.keyed SET v = v + 1 WHERE id = ${1 + (n % 10)}`,
    `UPDATE ${DB}.keyed SET v = v + 1 WHERE kid = ${1 + (n % 10)}`,
    // Two rows share a code while the key is id; one is deleted before the key moves to code.
    `INSERT IGNORE INTO ${DB}.moved (id, code, v) VALUES (${n}, ${1000 + n}, ${n})`,
    `INSERT IGNORE INTO ${DB}.moved (id, code, v) VALUES (${100_000 + n}, ${1000 + n}, ${n})`,
    `DELETE FROM ${DB}.moved WHERE id = ${n}`,
    `UPDATE ${DB}.moved SET v = v + 1 WHERE code = ${1000 + (n % 20)}`,
  ];
  for (const sql of statements) {
    try {
      await server.query(sql);
    } catch (err) {
      const errno = (err as { errno?: number }).errno;
      // 1054 unknown column, 1146 no such table: not there (yet, or any more).
      if (errno !== 1054 && errno !== 1146) throw err;
    }
  }
}

/** Waits until the daemon caught up with the source; fails at once, with its log, when it exits instead. */
async function caughtUp(cli: CliRun): Promise<void> {
  await Promise.race([
    waitForCatchUp(servers.source.endpoint(), servers.target.endpoint(), PIPELINE, 180_000),
    cli.exited.then((code) => {
      throw new Error(`the daemon exited (${code}) before it caught up:\n${cli.output().slice(-3000)}`);
    }),
  ]);
}

async function emptyTargetTables(): Promise<void> {
  const tables = await servers.target.query<{ t: string }>('SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?', [DB]);
  for (const { t } of tables) await servers.target.query(`DELETE FROM ${DB}.\`${t}\``);
}

async function historyCount(): Promise<number> {
  const rows = await servers.target.query<{ n: number }>('SELECT COUNT(*) AS n FROM _binlog_sync.schema_history WHERE pipeline = ?', [PIPELINE]);
  return Number(rows[0]!.n);
}

async function expectTargetEqualsSource(what: string): Promise<void> {
  expect(await shapeOf(servers.target, DB), `table definitions after ${what}`).toEqual(await shapeOf(servers.source, DB));
  await assertSameData(servers.source, servers.target, DB);
}

describe('replay across schema changes', () => {
  it('replay --from and run --reset-to a position before every DDL leave the target equal to the source', async () => {
    const env = pipelineEnv(servers.source.endpoint(), servers.target.endpoint(), { PIPELINE_NAME: PIPELINE, SYNC_DB: DB });
    const log = join(logDir, 'daemon.log');
    // Before any row: a replay from here must rebuild every row from the binlog alone.
    const beforeDdl: BinlogPosition = await sourceHead(servers.source.endpoint());
    // The daemon runs while rows and DDL are written, and applies it all (DDL as barriers).
    let cli = startCli(['run', '--config', TEST_PIPELINE], env, log);
    await cli.running;
    let n = 0;
    for (let r = 0; r < 30; r++) await writeRound(servers.source, ++n);
    const steps = [
      `ALTER TABLE ${DB}.items ADD COLUMN extra VARCHAR(30) NULL DEFAULT 'x'`,
      `ALTER TABLE ${DB}.items DROP COLUMN note`,
      `ALTER TABLE ${DB}.items RENAME COLUMN extra TO extra2`,
      `ALTER TABLE ${DB}.items CHANGE COLUMN qty quantity BIGINT NOT NULL`,
      `ALTER TABLE ${DB}.keyed RENAME COLUMN id TO kid`,
      `ALTER TABLE ${DB}.moved DROP PRIMARY KEY, ADD PRIMARY KEY (code)`,
      `RENAME TABLE ${DB}.old_name TO ${DB}.new_name`,
      `ALTER TABLE ${DB}.logs RENAME TO ${DB}.journal`,
      `TRUNCATE TABLE ${DB}.journal`,
      `DROP TABLE ${DB}.doomed`,
      `CREATE TABLE ${DB}.doomed (id INT PRIMARY KEY, v INT NOT NULL)`,
    ];
    for (const ddl of steps) {
      await servers.source.query(ddl);
      for (let r = 0; r < 10; r++) await writeRound(servers.source, ++n);
    }

    await caughtUp(cli);
    cli.proc.kill('SIGTERM');
    expect(await cli.exited, cli.output()).toBe(0);
    await expectTargetEqualsSource('the daemon applied everything');
    const recorded = await historyCount();
    expect(recorded).toBeGreaterThanOrEqual(steps.length);
    // Every entry names the server it was read from, and another server's entries are not applied: this
    // one would erase every change of `items` if its position were compared with this server's.
    expect(await servers.target.query("SELECT 1 FROM _binlog_sync.schema_history WHERE pipeline = ? AND source = ''", [PIPELINE])).toEqual([]);
    await servers.target.query(
      "INSERT INTO _binlog_sync.schema_history (pipeline, binlog_file, binlog_pos, source, default_schema, statement) VALUES (?, 'mysql-bin.999999', 4, 'mariadb:999:0', ?, 'TRUNCATE items')",
      [PIPELINE, DB],
    );

    // replay from before every DDL, to the head, onto emptied tables: the rows come back from changes
    // written in the old shapes (under old table names, with old columns) only.
    await emptyTargetTables();
    const replay = await runCli(['replay', '--config', TEST_PIPELINE, '--from', formatPosition(beforeDdl)], env, 300_000);
    expect(replay.code, `${replay.stdout}\n${replay.stderr}`).toBe(0);
    await expectTargetEqualsSource(`replay --from ${formatPosition(beforeDdl)}`);

    // Rewind the checkpoint there, run, and catch up with more writes on top; again onto emptied tables.
    await emptyTargetTables();
    cli = startCli(['run', '--config', TEST_PIPELINE, '--reset-to', formatPosition(beforeDdl), '--yes'], env, log);
    await cli.running;
    for (let r = 0; r < 10; r++) await writeRound(servers.source, ++n);
    await caughtUp(cli);
    cli.proc.kill('SIGTERM');
    expect(await cli.exited, cli.output()).toBe(0);
    await expectTargetEqualsSource(`run --reset-to ${formatPosition(beforeDdl)}`);
    // Each DDL is in the history once: the reset kept it, and the DDL read again were not run again.
    expect(await historyCount()).toBe(recorded + 1);
  }, 900_000);
});

describe('replay across a change it cannot carry exactly', () => {
  it('stops with a message naming the table and what to do, and writes none of its rows', async () => {
    const db = 'ddl_replay_loud';
    const pipeline = 'ddl-replay-loud';
    const env = pipelineEnv(servers.source.endpoint(), servers.target.endpoint(), { PIPELINE_NAME: pipeline, SYNC_DB: db, START: 'latest' });
    await servers.source.query(`CREATE DATABASE ${db}`);
    await servers.source.query(`CREATE TABLE ${db}.codes (code VARCHAR(10) PRIMARY KEY, v INT NOT NULL) COLLATE utf8mb4_general_ci`);
    const cli = startCli(['run', '--config', TEST_PIPELINE], env, join(logDir, 'loud.log'));
    await cli.running;
    const before = await sourceHead(servers.source.endpoint());
    // A text key compared case-insensitively: which rows are one row depends on the collation.
    await servers.source.query(`INSERT INTO ${db}.codes VALUES ('a', 1), ('b', 2)`);
    await servers.source.query(`UPDATE ${db}.codes SET code = 'A' WHERE code = 'a'`);
    const caught = (): Promise<unknown> =>
      Promise.race([
        waitForCatchUp(servers.source.endpoint(), servers.target.endpoint(), pipeline, 180_000),
        cli.exited.then((code) => {
          throw new Error(`the daemon exited (${code}):\n${cli.output().slice(-3000)}`);
        }),
      ]);
    await caught();
    await servers.source.query(`RENAME TABLE ${db}.codes TO ${db}.codes2`);
    await servers.source.query(`INSERT INTO ${db}.codes2 VALUES ('c', 3)`);
    await caught();
    cli.proc.kill('SIGTERM');
    expect(await cli.exited, cli.output()).toBe(0);
    await assertSameData(servers.source, servers.target, db);
    await servers.target.query(`DELETE FROM ${db}.codes2`);

    const replay = await runCli(['replay', '--config', TEST_PIPELINE, '--from', formatPosition(before)], env, 300_000);
    expect(replay.code, `${replay.stdout}\n${replay.stderr}`).toBe(1);
    expect(replay.stderr).toContain(`${db}.codes`);
    expect(replay.stderr).toContain('collation');
    expect(replay.stderr).toContain(`snapshot --tables ${db}.codes`);
    expect(await servers.target.query(`SELECT code FROM ${db}.codes2`)).toEqual([]);
  }, 300_000);
});
