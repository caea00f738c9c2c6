// A copied row and a streamed change of it must carry the same values and the same row identity,
// whatever the process time zone: run this file in a zone with DST against a +05:30 source.
process.env.TZ = 'America/New_York';

/**
 * Snapshot reads against the binlog decoder, on a real MariaDB: every type (the all-types table,
 * seeded random values of every temporal, DECIMAL, BIT, integer and floating width, GEOMETRY,
 * INET4/INET6, UUID), keys under collations, composite keys; chunked reads see every row once, in key
 * order, and report the binlog position of their snapshot.
 */
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MySqlSource } from '../../connectors/mysql-source/index.js';
import type { ChangeEvent, Row, SqlValue, TableRef } from '../../src/core/event.js';
import { comparePositions, type BinlogPosition } from '../../src/core/position.js';
import { LocalMariaDb } from '../../src/local/mariadb-server.js';
import { ALL_TYPES_COLUMNS, ALL_TYPES_ROWS } from '../support/all-types.js';
import { eachEvent } from '../support/each-event.js';
import { Rand, createTableSql, randomRows, randomTypeTables } from '../support/random-types.js';

const SEED = Number(process.env.BINLOG_SYNC_TEST_SEED) || Date.now() % 2_147_483_647;
let db: LocalMariaDb;
let source: MySqlSource;
let c: mysql.Connection;

const TABLES: readonly string[] = [
  `CREATE TABLE s.all_types (${ALL_TYPES_COLUMNS}) DEFAULT CHARSET=utf8mb4`,
  'CREATE TABLE s.shapes (id INT PRIMARY KEY, g GEOMETRY NULL, p POINT NULL, ip INET6 NULL, ip4 INET4 NULL, u UUID NULL, c CHAR(6) CHARACTER SET latin1 NULL)',
  'CREATE TABLE s.ci_key (k VARCHAR(20) COLLATE utf8mb4_general_ci PRIMARY KEY, v INT, w VARCHAR(10) COLLATE utf8mb4_unicode_ci, UNIQUE KEY uw (w))',
  'CREATE TABLE s.composite (a VARCHAR(8) CHARACTER SET latin1 COLLATE latin1_swedish_ci, b DECIMAL(12,3), c DATETIME(3), v BIGINT, PRIMARY KEY (a, b, c))',
  'CREATE TABLE s.computed (id BIGINT UNSIGNED PRIMARY KEY, qty INT, total INT AS (qty * 2) VIRTUAL)',
  // DOUBLEs a result set prints with 16 digits that do not parse back to the stored value (found by seed 1384200049).
  'CREATE TABLE s.reals (id INT PRIMARY KEY, d DOUBLE, f FLOAT)',
];

beforeAll(async () => {
  db = await LocalMariaDb.start({ label: 'snapshot-reader', serverId: 41, binlog: true, extraArgs: ['--default-time-zone=+05:30'] });
  source = new MySqlSource({ ...db.endpoint(), serverId: 4101, include: ['s.*'], exclude: [] });
  c = await mysql.createConnection({ ...db.endpoint(), multipleStatements: true });
  await c.query("SET time_zone = '+00:00', sql_mode = 'STRICT_ALL_TABLES'");
  await c.query('CREATE DATABASE s');
  for (const sql of TABLES) await c.query(sql);
  for (const t of randomTypeTables()) await c.query(createTableSql('s', t));
});

afterAll(async () => {
  await c?.end();
  await source?.close();
  await db?.stop();
});

/** The after-images of every insert between two positions, by table and id/key. */
async function insertedRows(from: BinlogPosition, until: BinlogPosition): Promise<Map<string, { row: Row; rowId: string }>> {
  const out = new Map<string, { row: Row; rowId: string }>();
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 60_000);
  for await (const e of eachEvent(source.read({ from: { kind: 'position', position: from }, until, signal: ac.signal }))) {
    if (e.kind !== 'change' || e.op !== 'insert') continue;
    const ch = e as ChangeEvent;
    out.set(`${ch.table.name} ${ch.afterId!.key}`, { row: ch.after!, rowId: ch.afterId!.key });
  }
  clearTimeout(timer);
  return out;
}

/** Every row of a table by snapshot chunks of `size`, checking key order and positions on the way. */
async function snapshotAll(table: TableRef, size: number): Promise<{ rows: { row: Row; rowId: string }[]; chunks: number; positions: BinlogPosition[] }> {
  const rows: { row: Row; rowId: string }[] = [];
  const positions: BinlogPosition[] = [];
  let after: readonly SqlValue[] | null = null;
  let chunks = 0;
  for (;;) {
    const chunk = await source.readChunk(table, after, size);
    chunks++;
    positions.push(chunk.at);
    for (const r of chunk.rows) rows.push({ row: r.row, rowId: r.identity.key });
    if (chunk.rows.length < size) return { rows, chunks, positions };
    after = chunk.keys.primaryKey.map((k) => chunk.rows[chunk.rows.length - 1]!.row[k] ?? null);
  }
}

function show(v: SqlValue | undefined): string {
  return Buffer.isBuffer(v) ? `0x${v.toString('hex')}` : JSON.stringify(v);
}

describe(`snapshot reads give the binlog decoder's values and identities (seed ${SEED}: BINLOG_SYNC_TEST_SEED=${SEED} repeats it)`, () => {
  it('for every type, random values of every width, collated and composite keys, in chunks', async () => {
    const from = await source.head();
    // The all-types rows are written for a +05:30 non-strict session (TIMESTAMP extremes in that
    // zone; the invalid ENUM value '' only a non-strict mode takes).
    await c.query("SET time_zone = '+05:30', sql_mode = ''");
    await c.query(`INSERT INTO s.all_types VALUES ${ALL_TYPES_ROWS}`);
    await c.query("SET time_zone = '+00:00', sql_mode = 'STRICT_ALL_TABLES'");
    await c.query(`INSERT INTO s.shapes VALUES
      (1, ST_GeomFromText('LINESTRING(0 0,1 1,2 5)'), POINT(1.5, -2), '::ffff:1.2.3.4', '10.0.0.1', '6ccd780c-baba-1026-9564-5b8c656024db', 'Ærø'),
      (2, ST_GeomFromText('POLYGON((0 0,4 0,4 4,0 0))', 4326), NULL, '2001:db8::1', '255.255.255.255', NULL, ''),
      (3, NULL, NULL, NULL, NULL, NULL, NULL)`);
    await c.query(`INSERT INTO s.ci_key VALUES ('Key1', 1, 'é'), ('key2 ', 2, 'E2'), ('ÄPFEL', 3, NULL), ('apfel2', 4, 'x'), ('Zeta', 5, 'y'), ('éclair', 6, 'z')`);
    const rand = new Rand(SEED);
    const comp: string[] = [];
    for (let i = 0; i < 60; i++) comp.push(`('${rand.pick(['a', 'B', 'ä', 'Z', 'é', ''])}${i % 7}', ${rand.int(-999999, 999999) / 1000}, '2024-0${rand.int(1, 9)}-1${rand.int(0, 9)} 12:00:00.${rand.int(100, 999)}', ${rand.int(-1e9, 1e9)})`);
    await c.query(`INSERT IGNORE INTO s.composite VALUES ${comp.join(', ')}`);
    await c.query('INSERT INTO s.computed (id, qty) VALUES (1, 5), (18446744073709551615, -3), (9007199254740993, 0)');
    await c.query(`INSERT INTO s.reals VALUES (1, 944767457622.72827, 0.1), (2, 98346.301430598789, -3.4028234e38), (3, 90789.536766456935, 1.17549435e-38),
      (4, 952941935.13459468, 16777217), (5, 951412146321.81055, NULL), (6, 9.0650875463379066, -0), (7, 2.2250738585072014e-308, 1e-45), (8, -0e0, 3.14159274)`);
    for (const t of randomTypeTables()) {
      const rows = randomRows(t, rand, 80);
      for (let k = 0; k < rows.length; k += 40) await c.query(`INSERT INTO s.${t.name} VALUES ${rows.slice(k, k + 40).map((r, j) => `(${k + j + 1}, ${r.join(', ')})`).join(', ')}`);
    }
    const until = await source.head();
    const decoded = await insertedRows(from, until);

    const problems: string[] = [];
    let compared = 0;
    for (const name of ['all_types', 'shapes', 'ci_key', 'composite', 'computed', 'reals', ...randomTypeTables().map((t) => t.name)]) {
      const { rows, chunks, positions } = await snapshotAll({ schema: 's', name }, 7);
      const [[count]] = (await c.query({ sql: `SELECT COUNT(*) FROM s.${name}`, rowsAsArray: true })) as unknown as [[number][]];
      expect(rows.length, `${name}: every row read once`).toBe(Number(count));
      expect(chunks).toBe(Math.floor(rows.length / 7) + 1);
      // No writes while reading: every chunk's snapshot is at the head.
      for (const p of positions) expect(comparePositions(p, until)).toBe(0);
      expect(new Set(rows.map((r) => r.rowId)).size, `${name}: identities are distinct`).toBe(rows.length);
      for (const r of rows) {
        const d = decoded.get(`${name} ${r.rowId}`);
        if (!d) {
          problems.push(`${name}: row ${r.rowId} read by the snapshot has no insert with that identity in the binlog`);
          continue;
        }
        compared++;
        const columns = new Set([...Object.keys(d.row), ...Object.keys(r.row)]);
        for (const col of columns) {
          const a = r.row[col];
          const b = d.row[col];
          const same = Buffer.isBuffer(a) && Buffer.isBuffer(b) ? a.equals(b) : a === b;
          if (!same) problems.push(`${name}.${col} of ${r.rowId}: snapshot ${show(a)}, binlog ${show(b)}`);
        }
      }
    }
    expect(problems.slice(0, 30), `${problems.length} differences`).toEqual([]);
    expect(compared).toBeGreaterThan(500);
  });

  it('reports the binlog position of each chunk\'s snapshot while writes go on', async () => {
    await c.query('CREATE TABLE s.busy (id INT PRIMARY KEY, v INT)');
    await c.query(`INSERT INTO s.busy VALUES ${Array.from({ length: 200 }, (_, i) => `(${i}, 0)`).join(', ')}`);
    let writing = true;
    let firstWrite: () => void = () => {};
    const writesGoOn = new Promise<void>((resolve) => (firstWrite = resolve));
    const writer = (async () => {
      const w = await mysql.createConnection(db.endpoint());
      let n = 0;
      while (writing) {
        await w.query('UPDATE s.busy SET v = v + 1 WHERE id = ?', [n++ % 200]);
        firstWrite();
      }
      await w.end();
    })();
    try {
      // Writes must already go on when the first chunk is read (the writer's connect can take longer
      // than the four chunks: seen in CI as the last chunk's position equal to the first's).
      await writesGoOn;
      const before = await source.head();
      const { rows, positions } = await snapshotAll({ schema: 's', name: 'busy' }, 50);
      const after = await source.head();
      expect(rows).toHaveLength(200);
      for (let i = 0; i < positions.length; i++) {
        expect(comparePositions(positions[i]!, before)).toBeGreaterThanOrEqual(0);
        expect(comparePositions(positions[i]!, after)).toBeLessThanOrEqual(0);
        if (i > 0) expect(comparePositions(positions[i]!, positions[i - 1]!)).toBeGreaterThanOrEqual(0);
      }
      expect(comparePositions(positions[positions.length - 1]!, positions[0]!)).toBeGreaterThan(0);
    } finally {
      writing = false;
      await writer;
    }
  });
});
