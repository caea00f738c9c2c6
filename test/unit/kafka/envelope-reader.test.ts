/** The sink worker's envelope reader: exactly what decodeMutation returns, on the fast path for every envelope our writers produce. */
import { describe, expect, it } from 'vitest';
import type { ChangeEvent, Mutation, Row, TableKeys } from '../../../src/core/event.js';
import type { BinlogPosition } from '../../../src/core/position.js';
import { toMutations } from '../../../src/core/router.js';
import { decodeMutation, encodeMutation, EnvelopeError } from '../../../connectors/kafka/envelope.js';
import { EnvelopeWriter } from '../../../connectors/kafka/envelope-writer.js';
import { EnvelopeReader } from '../../../connectors/kafka/envelope-reader.js';
import { change, usersKeys } from '../core/fixtures.js';
import { randomValue, seeded } from './random-rows.js';

const ctx = { pipeline: 'p "quoted" \u00e9 \\', serverId: 7, version: 'binlog-sync test', nowMs: 1_796_352_978_282 };

/** Both encoders' messages of `ev`, each read on the fast path and equal to decodeMutation's mutation. */
function expectSameFast(reader: EnvelopeReader, writer: EnvelopeWriter, ev: ChangeEvent, txSeq: number): Mutation[] {
  const out: Mutation[] = [];
  for (const m of toMutations(ev)) {
    for (const value of [writer.encode(ev, m, ctx.nowMs).value, encodeMutation(ev, m, ctx).value]) {
      const fast = reader.readFast(value, txSeq);
      expect(fast, value).not.toBeNull();
      expect(fast).toEqual(decodeMutation(value, txSeq));
      out.push(fast!);
    }
  }
  return out;
}

/** What decodeMutation does with `value`: its mutation or its error. */
function outcome(read: () => Mutation): { mutation?: Mutation; error?: string } {
  try {
    return { mutation: read() };
  } catch (err) {
    return { error: `${(err as Error).name}: ${(err as Error).message}` };
  }
}

describe('EnvelopeReader', () => {
  it('reads every column type the envelope carries as decodeMutation does: bytes, big numbers, decimals, temporal text, JSON, NULL, 4-byte UTF-8', () => {
    const keys: TableKeys = { table: { schema: 'sh"op', name: 'fi\\les é' }, primaryKey: ['id', 'tag'], uniqueKeys: [['u', 'w']], collatedKey: true };
    const row: Row = {
      id: 9007199254740993n.toString(),
      tag: Buffer.from([0, 255, 1]),
      body: Buffer.alloc(0),
      geo: Buffer.from('000000000101000000000000000000f03f000000000000f03f', 'hex'),
      bit: Buffer.from([0x80, 1]),
      n: -1.5e-300,
      f: 3.4028234663852886e38,
      year: 2155,
      i: -9007199254740991,
      d: '-0.000000000000000000000000000001',
      dt: '2024-01-02 03:04:05.123456',
      time: '-838:59:59.000000',
      js: '{"a":[1,"\\u0000",{"b":null}]}',
      set: 'a,b',
      t: '😀 é \u2028 "q" \\ \n',
      z: null,
    };
    const reader = new EnvelopeReader();
    const writer = new EnvelopeWriter(ctx);
    expectSameFast(reader, writer, change('insert', keys, null, row), 1);
    expectSameFast(reader, writer, change('update', keys, row, { ...row, n: 0, t: 'x' }), 2);
    expectSameFast(reader, writer, change('update', keys, row, { ...row, id: '1' }), 3); // a key change: d and c
    expectSameFast(reader, writer, change('delete', keys, row, null), 4);
    expectSameFast(reader, writer, change('update', { ...usersKeys, uniqueKeys: [], orderGroup: 'shop.users' }, { id: 1, email: 'a@x' }, { id: 5, email: 'a@x' }), 5);
  });

  it('reads random envelopes as decodeMutation does, and shares a table keys object between its rows', () => {
    const rnd = seeded(7);
    const reader = new EnvelopeReader();
    const writer = new EnvelopeWriter(ctx);
    const tables: TableKeys[] = [
      { table: { schema: 'db', name: 't' }, primaryKey: ['id'], uniqueKeys: [['u']] },
      { table: { schema: 'd"b', name: 'bin\\' }, primaryKey: ['b', '2', 'a'], uniqueKeys: [] },
      { table: { schema: 'db', name: 'odd' }, primaryKey: ['10', '1'], uniqueKeys: [['x y']], collatedKey: true },
      { table: { schema: 'db', name: 'fk' }, primaryKey: ['a', 'rowId'], uniqueKeys: [], orderGroup: 'db.fk' },
      { table: { schema: 'db', name: 'names' }, primaryKey: ['key', 'oldKey', 'after'], uniqueKeys: [['source'], ['binary', 'row']] },
    ];
    const columns = ['id', 'u', 'b', '2', 'a', '10', '1', 'x y', 'é', '"', '\\', 'binlogSync', 'after', 'source', 'op', 'key', 'oldKey', 'rowId', 'uniqueTokens', 'txStart', 'bytes', 'binary', 'row', 'db', 'table', 'ts_ms'];
    const seen = new Map<string, TableKeys>();
    // Transaction starts as the source writes them (with GTIDs on MariaDB, or without) and odd ones.
    const positions: ((i: number) => BinlogPosition)[] = [
      (i) => ({ file: 'mysql-bin.000002', pos: 50 + (i >> 2) }),
      (i) => ({ file: 'mysql-bin.000002', pos: 50 + (i >> 2), gtid: `0-1-${i}` }),
      (i) => ({ file: 'mysql-bin.000002', pos: 50 + (i >> 2), gtid: `0-1-${i}`, gtidPos: `0-1-${i - 1},1-2-3` }),
      (i) => ({ file: 'mysql-bin.000002', pos: 50 + (i >> 2), gtidPos: '' }),
      (i) => ({ pos: i, file: 'bin\\log "x",".000002' }),
    ];
    for (let i = 0; i < 1000; i++) {
      const keys = tables[i % tables.length]!;
      const row = (): Row => Object.fromEntries(columns.map((c) => [c, keys.primaryKey.includes(c) && rnd() < 0.7 ? Math.floor(rnd() * 5) : randomValue(rnd)]));
      const op = (['insert', 'update', 'delete'] as const)[Math.floor(rnd() * 3)]!;
      const before = op === 'insert' ? null : row();
      const after = op === 'delete' ? null : row();
      const ts = [0, 1_700_000_000_000 + i, -5, 2 ** 53 - 1, 1.5][i % 5]!;
      const ev = { ...change(op, keys, before, after, i), position: { file: 'mysql-bin.000002', pos: 100 + i }, txStart: positions[i % positions.length]!(i), index: i % 4, timestampMs: ts, bytes: i * 1000 };
      for (const m of expectSameFast(reader, writer, ev, i)) {
        const name = `${m.table.schema}.${m.table.name}`;
        if (!seen.has(name)) seen.set(name, m.keys);
        expect(m.keys).toBe(seen.get(name));
      }
    }
  });

  it('leaves anything not in our writer\'s layout to decodeMutation: the same mutation or the same error', () => {
    const reader = new EnvelopeReader();
    const ev = change('update', usersKeys, { id: 1, email: 'a@x' }, { id: 1, email: 'b@x' });
    const [m] = toMutations(ev);
    const value = encodeMutation(ev, m!, ctx).value;
    const parsed = JSON.parse(value) as Record<string, Record<string, unknown>>;
    const { binlogSync, ...rest } = parsed;
    const others = [
      JSON.stringify(parsed, null, 1), // whitespace
      JSON.stringify({ binlogSync, ...rest }), // another key order
      JSON.stringify({ ...parsed, extra: 1 }),
      JSON.stringify({ ...parsed, binlogSync: { ...binlogSync, v: 2 } }),
      JSON.stringify({ ...parsed, binlogSync: { ...binlogSync, v: 1.0, op: 'delete' } }),
      JSON.stringify({ ...parsed, binlogSync: { ...binlogSync, key: { other: 1 } } }),
      JSON.stringify({ ...parsed, binlogSync: { ...binlogSync, oldKey: 7 } }),
      JSON.stringify({ ...parsed, binlogSync: { ...binlogSync, rowId: 5 } }),
      JSON.stringify({ ...parsed, binlogSync: { ...binlogSync, bytes: '12' } }),
      JSON.stringify({ ...parsed, after: null }),
      JSON.stringify({ ...parsed, source: { ...parsed.source, ts_ms: null } }),
      value.replace('"bytes":100', '"bytes":1e2'),
      value.replace('"bytes":100', '"bytes":0100'),
      value.slice(0, -1),
      `${value} `,
      'not json',
      '{"before":null,"after":{"id":1},"op":"c"}',
      '',
    ];
    for (const other of others) {
      expect(outcome(() => reader.read(other, 3)), other).toEqual(outcome(() => decodeMutation(other, 3)));
    }
    expect(() => reader.read('not json', 1)).toThrow(EnvelopeError);
    expect(reader.readFast(value.replace('"bytes":100', '"bytes":1e2'), 1)?.bytes).toBe(100);
  });
});
