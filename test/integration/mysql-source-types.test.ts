// Decoded values must not depend on the process time zone: run this file in a zone with DST and a
// non-hour offset source (--default-time-zone=+05:30). Node re-reads TZ when it is assigned.
process.env.TZ = 'America/New_York';

import { Writable } from 'node:stream';
import mysql from 'mysql2/promise';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MySqlSource } from '../../connectors/mysql-source/index.js';
import { normalizeInteger } from '../../connectors/mysql-source/row-decoder.js';
import { setZongjiDecoderMode, type ZongjiDecoderMode } from '../../connectors/mysql-source/zongji-row-reader.js';
import type { ChangeEvent, Row, SqlValue } from '../../src/core/event.js';
import type { BinlogPosition } from '../../src/core/position.js';
import type { SourceStreamEvent } from '../../src/core/ports.js';
import { LocalMariaDb } from '../../src/local/mariadb-server.js';
import { ALL_TYPES_COLUMNS as COLUMNS, ALL_TYPES_ROWS as ROWS } from '../support/all-types.js';
import { eachEvent } from '../support/each-event.js';
import { Rand, compareWithText, createTableSql, randomRows, randomTypeTables, serverText } from '../support/random-types.js';

let db: LocalMariaDb;
let source: MySqlSource;
let sel: mysql.Connection;

/** What a SELECT returns, normalised to the source's conventions (BIGINT as number when safe). */
async function selectAll(): Promise<Map<number, Row>> {
  // FLOAT: a SELECT prints 6 significant digits; CAST AS DOUBLE shows the stored float32 exactly.
  const [rows] = await sel.query('SELECT *, CAST(f AS DOUBLE) AS f_exact FROM t.all_types ORDER BY id');
  const out = new Map<number, Row>();
  for (const r of rows as Record<string, SqlValue>[]) {
    const row: Record<string, SqlValue> = { ...r };
    row.f = row.f_exact ?? null;
    delete row.f_exact;
    for (const c of ['bi', 'biu']) if (row[c] !== null) row[c] = normalizeInteger(row[c] as string);
    out.set(row.id as number, row);
  }
  return out;
}

async function readAll(from: BinlogPosition, until: BinlogPosition, src: MySqlSource = source): Promise<SourceStreamEvent[]> {
  const events: SourceStreamEvent[] = [];
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 30_000);
  for await (const e of eachEvent(src.read({ from: { kind: 'position', position: from }, until, signal: ac.signal }))) events.push(e);
  clearTimeout(timer);
  return events;
}

/** Reads a binlog range with the decoder in `mode` (sessions take the mode they are created in). */
async function readWith(mode: ZongjiDecoderMode, from: BinlogPosition, until: BinlogPosition, src: MySqlSource = source): Promise<ChangeEvent[]> {
  setZongjiDecoderMode(mode);
  try {
    return (await readAll(from, until, src)).filter((e): e is ChangeEvent => e.kind === 'change');
  } finally {
    setZongjiDecoderMode(null);
  }
}

/** Values of a row image, Buffers as hex (for messages). */
function show(v: SqlValue | undefined): string {
  return Buffer.isBuffer(v) ? `0x${v.toString('hex')}` : JSON.stringify(v);
}

const SEED = Number(process.env.BINLOG_SYNC_TEST_SEED) || Date.now() % 2_147_483_647;
const RANDOM_ROWS = Number(process.env.BINLOG_SYNC_TEST_RANDOM_ROWS) || 150;

beforeAll(async () => {
  db = await LocalMariaDb.start({ label: 'src-types', serverId: 21, binlog: true, extraArgs: ['--default-time-zone=+05:30'] });
  source = new MySqlSource({ ...db.endpoint(), serverId: 2101, include: ['t.*'], exclude: [] });
  sel = await mysql.createConnection({ ...db.endpoint(), dateStrings: true, supportBigNumbers: true, bigNumberStrings: true, jsonStrings: true, timezone: 'Z' });
  await sel.query("SET time_zone = '+00:00', sql_mode = ''");
});

afterAll(async () => {
  await sel?.end();
  await source?.close();
  await db?.stop();
});

describe('MySqlSource value decoding (process TZ America/New_York, source +05:30)', () => {
  it('runs in a non-UTC process zone', () => {
    expect(new Date(2024, 0, 1).getTimezoneOffset()).toBe(300);
  });

  it('decodes every type exactly as a UTC SELECT shows it, in insert, update and delete images', async () => {
    await db.rootQuery(`CREATE DATABASE t; CREATE TABLE t.all_types (${COLUMNS})`);
    const start = await source.head();
    // The rows are written in the source's zone (+05:30), so TIMESTAMP text differs from UTC text.
    await sel.query("SET time_zone = '+05:30'");
    await sel.query(`INSERT INTO t.all_types VALUES ${ROWS}`);
    await sel.query("SET time_zone = '+00:00'");
    const inserted = await selectAll();
    await sel.query(`UPDATE t.all_types SET ti = ti - 1, biu = 18446744073709551614, dtm6 = '2001-02-03 04:05:06.7', ts = '2038-01-19 03:14:07',
      tm6 = '-100:00:00.5', y = 1999, e = 'a', s = 'y', j = '{"k": [true, false]}', u = 'ffffffff-ffff-ffff-ffff-ffffffffffff', vu = 'ǅ', bn = x'00'
      WHERE id IN (1, 2)`);
    await sel.query('UPDATE t.all_types SET tu = NULL, bl = x\'\' WHERE id = 4');
    const updated = await selectAll();
    await sel.query('DELETE FROM t.all_types WHERE id IN (2, 3)');
    const until = await source.head();

    const events = await readAll(start, until);
    const changes = events.filter((e): e is ChangeEvent => e.kind === 'change');
    // The fast path off decodes the same (its own readers for TIME and GEOMETRY, zongji's for the rest)
    expect(await readWith('plain', start, until)).toEqual(await readWith('fast', start, until));
    const inserts = changes.filter((c) => c.op === 'insert');
    const updates = changes.filter((c) => c.op === 'update');
    const deletes = changes.filter((c) => c.op === 'delete');
    expect([inserts.length, updates.length, deletes.length]).toEqual([4, 3, 2]);

    for (const c of inserts) expect(c.after).toEqual(inserted.get(c.after!.id as number));
    for (const c of updates) {
      expect(c.before).toEqual(inserted.get(c.before!.id as number));
      expect(c.after).toEqual(updated.get(c.after!.id as number));
    }
    for (const c of deletes) expect(c.before).toEqual(updated.get(c.before!.id as number));

    // Spot checks that pin the conventions (and would catch both sides being wrong the same way).
    const r1 = inserts.find((c) => c.after!.id === 1)!.after!;
    expect(r1.ts).toBe('1970-01-01 00:00:01');
    expect(r1.ts6).toBe('2038-01-19 03:14:07.999999');
    expect(r1.ts2).toBe('2021-03-14 02:00:00.50');
    expect(r1.y).toBe(0);
    expect(r1.bi).toBe('-9223372036854775808');
    expect(r1.biu).toBe('18446744073709551615');
    expect(r1.f).toBe(3.4028234663852886e38);
    expect(r1.u).toBe('123e4567-e89b-12d3-a456-426614174000');
    expect(r1.tl).toBe('Ærø €');
    expect(r1.b10).toEqual(Buffer.from([0x00, 0x05]));
    expect(r1.j).toBe('{"a": 18446744073709551615, "b": [1.5, "ü"], "c": null}');
    // Negative whole-second TIME at every fsp (zongji's own TIME2 reader: '-00:14:64', '-199:09:64.000')
    expect([r1.tn0, r1.tn1, r1.tn2, r1.tn3, r1.tn4, r1.tn5, r1.tn6]).toEqual(['-00:15:00', '-199:10:00.0', '-01:00:00.00', '-199:10:00.000', '-838:00:00.0000', '-00:01:00.00000', '-100:00:00.000000']);
    const r2 = inserts.find((c) => c.after!.id === 2)!.after!;
    expect(r2.e).toBe(''); // the invalid ENUM member (non-strict mode)
    expect(r2.dt).toBe('0000-00-00');
    expect(r2.ts6).toBe('0000-00-00 00:00:00.000000');
    expect(r2.biu).toBe('9007199254740993');
    const r3 = inserts.find((c) => c.after!.id === 3)!.after!;
    expect(r3.bi).toBe('-9007199254740992');
    expect(r3.biu).toBe(9007199254740991);
    expect(r3.ti).toBeNull();
    const r4 = inserts.find((c) => c.after!.id === 4)!.after!;
    expect(r4.tm).toBe('00:00:00'); // TIME(0) rounds -0.000001 s to zero
    expect(r4.tm6).toBe('-00:00:00.000001');
    expect([r4.tn0, r4.tn1, r4.tn6]).toEqual(['00:00:00', '-00:00:00.5', '-00:00:00.000001']);
    expect((r4.bl as Buffer).length).toBe(65535); // the longest BLOB (REPEAT truncated in non-strict mode)

    // Keys come from INFORMATION_SCHEMA; every change of one transaction shares its txSeq.
    expect(changes[0]!.keys.primaryKey).toEqual(['id']);
    const commits = events.filter((e) => e.kind === 'commit');
    expect(commits.map((c) => (c.kind === 'commit' ? c.changeCount : -1))).toEqual([4, 2, 1, 2]);
  });
});

describe(`seeded random values of every width, through both decoder paths (seed ${SEED}: BINLOG_SYNC_TEST_SEED=${SEED} repeats it)`, () => {
  it('fast path on and off decode every value identically, and as the server shows it', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(chunk.toString()), done()) }));
    const src = new MySqlSource({ ...db.endpoint(), serverId: 2102, include: ['r.*'], exclude: [], logger });
    const c = await mysql.createConnection({ ...db.endpoint(), dateStrings: true, supportBigNumbers: true, bigNumberStrings: true });
    try {
      // UTC session: TIMESTAMP literals and texts are UTC, as the decoder's output. Strict: a literal
      // the server would alter fails instead (truncating fractions to the column's fsp is MariaDB's default).
      await c.query("SET time_zone = '+00:00', sql_mode = 'STRICT_ALL_TABLES'");
      await c.query('CREATE DATABASE r');
      const tables = randomTypeTables();
      for (const t of tables) await c.query(createTableSql('r', t));
      const rand = new Rand(SEED);
      const literals = new Map<string, string[][]>();
      const start = await src.head();
      for (const t of tables) {
        const rows = randomRows(t, rand, RANDOM_ROWS);
        literals.set(t.name, rows);
        for (let k = 0; k < rows.length; k += 60) {
          const chunk = rows.slice(k, k + 60).map((r, j) => `(${k + j + 1}, ${r.join(', ')})`);
          await c.query(`INSERT INTO r.${t.name} VALUES ${chunk.join(', ')}`);
        }
      }
      // The server's text of every stored value, by id
      const texts = new Map<string, Map<number, Record<string, string | null>>>();
      for (const t of tables) {
        const [rows] = await c.query(`SELECT id, ${t.columns.map((col) => `${serverText(col)} AS ${col.name}`).join(', ')} FROM r.${t.name} ORDER BY id`);
        texts.set(t.name, new Map((rows as Record<string, string | null>[]).map((r) => [Number(r.id), r])));
      }
      // Update images (before and after) and delete images carry the same values
      for (const t of tables) await c.query(`UPDATE r.${t.name} SET id = id + 1000000`);
      for (const t of tables) await c.query(`DELETE FROM r.${t.name}`);
      const until = await src.head();

      const fast = await readWith('fast', start, until, src);
      const plain = await readWith('plain', start, until, src);
      // (a) both paths give identical values
      expect(plain.length).toBe(fast.length);
      expect(plain).toEqual(fast);
      // Each read said at start which path it used, and why
      const decoderLines = lines.map((l) => (JSON.parse(l) as { msg: string }).msg).filter((m) => m.startsWith('binlog decoder:'));
      expect(decoderLines).toHaveLength(2);
      expect(decoderLines[0]).toMatch(/fast path on \(chosen by setZongjiDecoderMode/);
      expect(decoderLines[1]).toMatch(/fast path off \(chosen by setZongjiDecoderMode/);

      // (b) every value is the server's own text of it
      const problems: string[] = [];
      const counts = new Map<string, number>();
      const check = (table: string, image: Row | null, idOffset: number, what: string): void => {
        const t = tables.find((x) => x.name === table)!;
        if (!image) return void problems.push(`${table} ${what}: no image`);
        const id = (image.id as number) - idOffset;
        const text = texts.get(table)!.get(id);
        if (!text) return void problems.push(`${table} ${what}: unknown id ${id}`);
        t.columns.forEach((col, i) => {
          const why = compareWithText(col, image[col.name], text[col.name] ?? null);
          if (why) problems.push(`${table}.${col.name} ${col.sqlType} id ${id} (${what}): decoded ${show(image[col.name])}, server ${JSON.stringify(text[col.name])}, inserted ${literals.get(table)![id - 1]![i]}: ${why}`);
        });
      };
      for (const ch of fast) {
        const key = `${ch.table.name} ${ch.op}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
        if (ch.op === 'insert') check(ch.table.name, ch.after, 0, 'insert');
        else if (ch.op === 'update') {
          check(ch.table.name, ch.before, 0, 'update before');
          check(ch.table.name, ch.after, 1_000_000, 'update after');
        } else check(ch.table.name, ch.before, 1_000_000, 'delete');
      }
      expect(problems.slice(0, 40), `seed ${SEED}: ${problems.length} values differ from the server's text`).toEqual([]);
      for (const t of tables) {
        const n = literals.get(t.name)!.length;
        for (const op of ['insert', 'update', 'delete']) expect(counts.get(`${t.name} ${op}`), `${t.name} ${op}`).toBe(n);
      }
    } finally {
      await c.end();
      await src.close();
    }
  });
});
