/**
 * MySqlSink against a real throwaway MariaDB target: idempotent apply, unique-value swaps, exact
 * round-trip of every value kind, non-retriable errors that leave the target unchanged, preflight data.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { LocalMariaDb } from '../../src/local/mariadb-server.js';
import type { Mutation, TableKeys } from '../../src/core/event.js';
import { BinlogSyncError, TargetError } from '../../src/core/errors.js';
import { MySqlSink, inspectTargetTables } from '../../connectors/mysql-sink/index.js';
import { del, upsert } from '../support/mutations.js';

let target: LocalMariaDb;
let sink: MySqlSink;
let conn: mysql.Connection;

const USERS: TableKeys = { table: { schema: 'app', name: 'users' }, primaryKey: ['id'], uniqueKeys: [] };
const EMAILS: TableKeys = { table: { schema: 'app', name: 'emails' }, primaryKey: ['id'], uniqueKeys: [['email']] };
const PAIRS: TableKeys = { table: { schema: 'app', name: 'pairs' }, primaryKey: ['a', 'b'], uniqueKeys: [] };
const TYPES: TableKeys = { table: { schema: 'app', name: 'types' }, primaryKey: ['id'], uniqueKeys: [] };
const BULK: TableKeys = { table: { schema: 'app', name: 'bulk' }, primaryKey: ['id'], uniqueKeys: [] };
const LATIN_PAIRS: TableKeys = { table: { schema: 'app', name: 'latin_pairs' }, primaryKey: ['k', 'n'], uniqueKeys: [] };


/** Every row of a table, ordered, with every column as the server's exact text (HEX for bytes). */
async function contents(table: string, orderBy: string): Promise<string> {
  const [cols] = await conn.query('SELECT COLUMN_NAME AS c, DATA_TYPE AS t FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION', [
    'app',
    table,
  ]);
  const exprs = (cols as { c: string; t: string }[]).map(({ c, t }) => (/blob|binary|bit/.test(t) ? `HEX(\`${c}\`)` : `CAST(\`${c}\` AS CHAR)`));
  const [rows] = await conn.query({ sql: `SELECT ${exprs.join(', ')} FROM app.\`${table}\` ORDER BY ${orderBy}`, rowsAsArray: true });
  return JSON.stringify(rows);
}

beforeAll(async () => {
  target = await LocalMariaDb.start({ label: 'sink-target', serverId: 21, binlog: false, durable: false });
  await target.rootQuery(`
    CREATE DATABASE app;
    CREATE TABLE app.users (id BIGINT UNSIGNED PRIMARY KEY, name VARCHAR(20) NOT NULL, score INT NULL);
    CREATE TABLE app.emails (id INT PRIMARY KEY, email VARCHAR(100) NOT NULL UNIQUE, note VARCHAR(20));
    CREATE TABLE app.pairs (a INT, b VARCHAR(10), v INT, PRIMARY KEY (a, b));
    CREATE TABLE app.bulk (id INT PRIMARY KEY, a VARCHAR(64), b INT, c DOUBLE);
    CREATE TABLE app.latin_pairs (k CHAR(8) CHARACTER SET latin1 COLLATE latin1_bin NOT NULL, n DECIMAL(20,3) NOT NULL, v INT, PRIMARY KEY (k, n));
    CREATE TABLE app.types (
      id INT PRIMARY KEY,
      dt DATETIME(6) NULL, ts TIMESTAMP(6) NULL DEFAULT NULL, t TIME(6) NULL, t2 TIME(6) NULL,
      zd DATE NULL, zdt DATETIME NULL, zts TIMESTAMP NULL DEFAULT NULL,
      bits BIT(13) NULL, b1 BIT(1) NULL, blb LONGBLOB NULL, vb VARBINARY(16) NULL,
      dec65 DECIMAL(65,30) NULL, ubig BIGINT UNSIGNED NULL, sbig BIGINT NULL, dbl DOUBLE NULL, yr YEAR NULL,
      js JSON NULL, emoji VARCHAR(100) CHARACTER SET utf8mb4 NULL, lat VARCHAR(100) CHARACTER SET latin1 NULL,
      en ENUM('a','b c') NULL, st SET('x','y','z') NULL
    );
  `);
  sink = new MySqlSink({ ...target.endpoint(), poolSize: 4 });
  conn = await mysql.createConnection({ ...target.endpoint(), charset: 'utf8mb4_general_ci' });
  await conn.query("SET time_zone = '+00:00'");
});

afterAll(async () => {
  await conn?.end();
  await sink?.close();
  await target?.stop();
});

describe('MySqlSink apply', () => {
  it('warmUp opens the pool\'s connections before the first batch, and the first batch then opens none', async () => {
    const count = async (): Promise<number> => {
      const [rows] = await conn.query("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ? AND ID <> CONNECTION_ID()", [target.endpoint().user]);
      return Number((rows as { n: number }[])[0]!.n);
    };
    const fresh = new MySqlSink({ ...target.endpoint(), poolSize: 3 });
    try {
      const before = await count();
      await fresh.warmUp();
      expect(await count()).toBe(before + 3);
      await fresh.applyBatch([upsert(USERS, { id: 9001, name: 'warm', score: 1 })]);
      expect(await count()).toBe(before + 3);
    } finally {
      await conn.query('DELETE FROM app.users WHERE id = 9001');
      await fresh.close();
    }
  });

  it('applies upserts and deletes idempotently: the same batch twice leaves identical tables', async () => {
    await sink.applyBatch([
      upsert(USERS, { id: 1, name: 'one', score: 1 }),
      upsert(USERS, { id: 2, name: 'two', score: null }),
      upsert(USERS, { id: '18446744073709551615', name: 'max', score: 3 }),
      upsert(USERS, { id: '18446744073709551614', name: 'max-1', score: 4 }),
      upsert(PAIRS, { a: 1, b: 'x', v: 10 }),
      upsert(PAIRS, { a: 1, b: 'y', v: 11 }),
      upsert(PAIRS, { a: 2, b: 'x', v: 12 }),
    ]);
    const batch = [
      upsert(USERS, { id: 1, name: 'uno', score: 100 }),
      del(USERS, [2]),
      del(USERS, ['18446744073709551614']),
      upsert(USERS, { id: 5, name: "o'five\\", score: -5 }),
      del(PAIRS, [1, 'y']),
      upsert(PAIRS, { a: 3, b: 'z', v: 13 }),
      del(PAIRS, [9, 'absent']),
    ];
    await sink.applyBatch(batch);
    const users1 = await contents('users', 'id');
    const pairs1 = await contents('pairs', 'a, b');
    expect(JSON.parse(users1)).toEqual([
      ['1', 'uno', '100'],
      ['5', "o'five\\", '-5'],
      ['18446744073709551615', 'max', '3'],
    ]);
    expect(JSON.parse(pairs1)).toEqual([
      ['1', 'x', '10'],
      ['2', 'x', '12'],
      ['3', 'z', '13'],
    ]);
    await sink.applyBatch(batch);
    expect(await contents('users', 'id')).toBe(users1);
    expect(await contents('pairs', 'a, b')).toBe(pairs1);
  });

  it('deletes several composite keys with a latin1 column holding non-ASCII characters (found by the fuzzer: a row IN matched none)', async () => {
    await sink.applyBatch([
      upsert(LATIN_PAIRS, { k: '%à5f', n: '-473066030.200', v: 1 }),
      upsert(LATIN_PAIRS, { k: 'abc', n: '1.500', v: 2 }),
      upsert(LATIN_PAIRS, { k: 'Ünï', n: '0.000', v: 3 }),
      upsert(LATIN_PAIRS, { k: 'keep', n: '7.000', v: 4 }),
    ]);
    await sink.applyBatch([del(LATIN_PAIRS, ['%à5f', '-473066030.200']), del(LATIN_PAIRS, ['abc', '1.500']), del(LATIN_PAIRS, ['Ünï', '0.000'])]);
    expect(JSON.parse(await contents('latin_pairs', 'k'))).toEqual([['keep', '7.000', '4']]);
  });

  it('applies a swap of a secondary-unique value between two rows in one batch', async () => {
    await conn.query("INSERT INTO app.emails VALUES (1, 'x@example.com', 'A'), (2, 'y@example.com', 'B')");
    const swap = [upsert(EMAILS, { id: 1, email: 'y@example.com', note: 'A' }), upsert(EMAILS, { id: 2, email: 'x@example.com', note: 'B' })];
    await sink.applyBatch(swap);
    const after = await contents('emails', 'id');
    expect(JSON.parse(after)).toEqual([
      ['1', 'y@example.com', 'A'],
      ['2', 'x@example.com', 'B'],
    ]);
    await sink.applyBatch(swap);
    expect(await contents('emails', 'id')).toBe(after);
  });

  it('converges when the swap arrives in two batches (REPLACE removes the conflicting row, the next batch restores it)', async () => {
    await conn.query('DELETE FROM app.emails');
    await conn.query("INSERT INTO app.emails VALUES (1, 'x@example.com', 'A'), (2, 'y@example.com', 'B')");
    await sink.applyBatch([upsert(EMAILS, { id: 1, email: 'y@example.com', note: 'A' })]);
    await sink.applyBatch([upsert(EMAILS, { id: 2, email: 'x@example.com', note: 'B' })]);
    expect(JSON.parse(await contents('emails', 'id'))).toEqual([
      ['1', 'y@example.com', 'A'],
      ['2', 'x@example.com', 'B'],
    ]);
  });

  it('round-trips every value kind byte for byte', async () => {
    const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const text = `héllo 😀🎉 中文 ' " \\ \u0000 \n end`;
    const latin = 'café ñ ü ß ÿ';
    const json = '{"a": [1, 2.5, "x\\"y"], "big": 12345678901234567890, "e": "😀"}';
    const dec = '-12345678901234567890123456789012345.123456789012345678901234567890';
    await sink.applyBatch([
      upsert(TYPES, {
        id: 1,
        dt: '2024-02-29 23:59:59.123456',
        ts: '2038-01-19 03:14:07.999999',
        t: '-838:59:59.000000',
        t2: '-00:00:01.500000',
        zd: '0000-00-00',
        zdt: '0000-00-00 00:00:00',
        zts: '0000-00-00 00:00:00',
        bits: Buffer.from([0x1f, 0xff]),
        b1: Buffer.from([0x01]),
        blb: allBytes,
        vb: Buffer.from([0x00, 0x27, 0x5c, 0x00]),
        dec65: dec,
        ubig: '18446744073709551615',
        sbig: '-9223372036854775808',
        dbl: 0.1 + 0.2,
        yr: 2155,
        js: json,
        emoji: text,
        lat: latin,
        en: 'b c',
        st: 'x,z',
      }),
      upsert(TYPES, Object.fromEntries(['id', 'dt', 'ts', 't', 't2', 'zd', 'zdt', 'zts', 'bits', 'b1', 'blb', 'vb', 'dec65', 'ubig', 'sbig', 'dbl', 'yr', 'js', 'emoji', 'lat', 'en', 'st'].map((c) => [c, c === 'id' ? 2 : null]))),
    ]);
    const [rows] = await conn.query(`SELECT
        CAST(dt AS CHAR) dt, CAST(ts AS CHAR) ts, UNIX_TIMESTAMP(ts) AS unix_ts, CAST(t AS CHAR) t, CAST(t2 AS CHAR) t2,
        CAST(zd AS CHAR) zd, CAST(zdt AS CHAR) zdt, CAST(zts AS CHAR) zts,
        HEX(bits) bits, HEX(b1) b1, HEX(blb) blb, HEX(vb) vb, CAST(dec65 AS CHAR) dec65, CAST(ubig AS CHAR) ubig, CAST(sbig AS CHAR) sbig,
        dbl, CAST(yr AS CHAR) yr, CAST(js AS CHAR) js, HEX(emoji) emoji, HEX(lat) lat, en, st
      FROM app.types ORDER BY id`);
    const [r1, r2] = rows as Record<string, unknown>[];
    expect(r1).toEqual({
      dt: '2024-02-29 23:59:59.123456',
      ts: '2038-01-19 03:14:07.999999',
      unix_ts: '2147483647.999999',
      t: '-838:59:59.000000',
      t2: '-00:00:01.500000',
      zd: '0000-00-00',
      zdt: '0000-00-00 00:00:00',
      zts: '0000-00-00 00:00:00',
      bits: '1FFF',
      b1: '1',
      blb: allBytes.toString('hex').toUpperCase(),
      vb: '00275C00',
      dec65: dec,
      ubig: '18446744073709551615',
      sbig: '-9223372036854775808',
      dbl: 0.30000000000000004,
      yr: '2155',
      js: json,
      emoji: Buffer.from(text, 'utf8').toString('hex').toUpperCase(),
      lat: Buffer.from(latin, 'latin1').toString('hex').toUpperCase(),
      en: 'b c',
      st: 'x,z',
    });
    expect(Object.values(r2!).every((v) => v === null)).toBe(true);
  });

  it('fails an unknown column with a non-retriable TargetError naming table, key and statement; the target is unchanged', async () => {
    const usersBefore = await contents('users', 'id');
    const pairsBefore = await contents('pairs', 'a, b');
    const err = await sink
      .applyBatch([
        upsert(PAIRS, { a: 50, b: 'new', v: 1 }), // applied first in the same transaction, must roll back
        upsert(USERS, { id: 77, name: 'x', score: 1, nickname: 'nope' }),
      ])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TargetError);
    const te = err as TargetError;
    expect(te.code).toBe('TARGET_APPLY');
    expect(te.retriable).toBe(false);
    expect(te.message).toContain('`app`.`users`');
    expect(te.message).toContain('first key 77');
    expect(te.message).toContain("Unknown column 'nickname'");
    expect(te.message).toContain('INSERT INTO `app`.`users` (`id`,`name`,`score`,`nickname`) VALUES (77,');
    expect(te.message).toMatch(/add it on the target/);
    expect(te.details).toMatchObject({ table: 'app.users', key: [77], errno: 1054 });
    expect(await contents('users', 'id')).toBe(usersBefore);
    expect(await contents('pairs', 'a, b')).toBe(pairsBefore);
  });

  it('fails a value too long for the target column (strict mode: never truncated silently)', async () => {
    const err = await sink.applyBatch([upsert(USERS, { id: 88, name: 'x'.repeat(21), score: 1 })]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TargetError);
    expect((err as TargetError).details).toMatchObject({ errno: 1406 });
    expect((err as TargetError).message).toMatch(/narrower/);
    const [rows] = await conn.query('SELECT COUNT(*) AS n FROM app.users WHERE id = 88');
    expect((rows as { n: number }[])[0]!.n).toBe(0);
  });

  it('when the target refuses a value as invalid, says the decoded value may be wrong and where to read the source row back', async () => {
    const bad = { ...upsert(TYPES, { id: 9, t: '-00:14:64.000000' }), txStart: { file: 'mysql-bin.000042', pos: 1234 } };
    const err = await sink.applyBatch([bad]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TargetError);
    const te = err as TargetError;
    expect(te.details).toMatchObject({ errno: 1292, sourcePositions: ['mysql-bin.000042:1234', 'mysql-bin.000042:1234'] });
    expect(te.message).toMatch(/decoded by binlog-sync from the source's binlog \(the transaction after mysql-bin\.000042:1234\)/);
    expect(te.message).toMatch(/the decoded value may be wrong/);
    expect(te.message).toContain('--start-position=1234 mysql-bin.000042');
  });

  it('fails an unknown table with TARGET_APPLY', async () => {
    const ghost: TableKeys = { table: { schema: 'app', name: 'ghost' }, primaryKey: ['id'], uniqueKeys: [] };
    const err = await sink.applyBatch([del(ghost, [1])]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BinlogSyncError);
    expect((err as TargetError).code).toBe('TARGET_APPLY');
    expect((err as TargetError).message).toContain('`app`.`ghost`');
    expect((err as TargetError).message).toMatch(/create the table/);
  });

  it('applies large batches in several statements, concurrently (throughput figure printed)', async () => {
    const rowsPerBatch = 2000;
    const batches = 40;
    const pad = 'p'.repeat(40);
    const make = (b: number): Mutation[] =>
      Array.from({ length: rowsPerBatch }, (_, i) => {
        const id = b * rowsPerBatch + i;
        return upsert(BULK, { id, a: `${pad}${id}`, b: id * 3, c: id / 7 });
      });
    const all = Array.from({ length: batches }, (_, b) => make(b));
    const small = new MySqlSink({ ...target.endpoint(), poolSize: 4, maxStatementBytes: 64 * 1024 });
    try {
      const started = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          while (next < all.length) await small.applyBatch(all[next++]!);
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      // Target: innodb_flush_log_at_trx_commit=2 (durable: false), same 2 cores as this process.
      console.log(`[mysql-sink] applied ${rowsPerBatch * batches} rows in ${seconds.toFixed(2)} s = ${Math.round((rowsPerBatch * batches) / seconds)} rows/s (4 connections, flush=2)`);
    } finally {
      await small.close();
    }
    const [rows] = await conn.query('SELECT COUNT(*) AS n, SUM(b) AS s FROM app.bulk');
    const n = rowsPerBatch * batches;
    expect((rows as { n: number; s: string }[])[0]).toEqual({ n, s: String((3 * n * (n - 1)) / 2) });
  });
});

describe('target schema report', () => {
  it('reports existence, missing and extra columns, and the primary key', async () => {
    const [users, ghost, pairs] = await inspectTargetTables(target.endpoint(), [
      { table: USERS.table, columns: ['id', 'NAME', 'email', 'age'], primaryKey: ['id'] },
      { table: { schema: 'app', name: 'ghost' }, columns: ['id'] },
      { table: PAIRS.table, columns: ['a', 'b', 'v'], primaryKey: ['b', 'a'] },
    ]);
    expect(users).toEqual({
      table: USERS.table,
      exists: true,
      missingColumns: ['email', 'age'],
      extraColumns: ['score'],
      targetPrimaryKey: ['id'],
      primaryKeyMatches: true,
    });
    expect(ghost).toMatchObject({ exists: false, missingColumns: [], primaryKeyMatches: null });
    expect(pairs).toMatchObject({ exists: true, missingColumns: [], extraColumns: [], targetPrimaryKey: ['a', 'b'], primaryKeyMatches: false });
  });
});
