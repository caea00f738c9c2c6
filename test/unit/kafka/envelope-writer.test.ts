/** The publisher's envelope writer: the same bytes as JSON.stringify of the documented envelope, for every kind of change and value. */
import { describe, expect, it } from 'vitest';
import type { ChangeEvent, Row, TableKeys } from '../../../src/core/event.js';
import { toMutations } from '../../../src/core/router.js';
import { encodeMutation } from '../../../connectors/kafka/envelope.js';
import { EnvelopeWriter } from '../../../connectors/kafka/envelope-writer.js';
import { change, usersKeys } from '../core/fixtures.js';
import { randomValue, seeded } from './random-rows.js';

const ctx = { pipeline: 'p "quoted" \u00e9', serverId: 7, version: 'binlog-sync test', nowMs: 1234 };

function expectSame(writer: EnvelopeWriter, ev: ChangeEvent): void {
  for (const m of toMutations(ev)) {
    const fast = writer.encode(ev, m, ctx.nowMs);
    const reference = encodeMutation(ev, m, ctx);
    expect(fast.value).toBe(reference.value);
    expect(fast.key).toBe(reference.key);
    expect(fast.headers).toEqual(reference.headers);
  }
}

describe('EnvelopeWriter', () => {
  it('writes what encodeMutation writes for inserts, updates, deletes and key changes', () => {
    const w = new EnvelopeWriter(ctx);
    expectSame(w, change('insert', usersKeys, null, { id: 4, email: 'd@x' }));
    expectSame(w, change('update', usersKeys, { id: 1, email: 'a@x' }, { id: 1, email: 'b@x' }));
    expectSame(w, change('update', usersKeys, { id: 1, email: 'a@x' }, { id: 2, email: 'a@x' }));
    expectSame(w, change('delete', usersKeys, { id: 3, email: 'c@x' }, null));
    expectSame(w, change('update', { ...usersKeys, uniqueKeys: [], orderGroup: 'shop.users' }, { id: 1, email: 'a@x' }, { id: 5, email: 'a@x' }));
    expectSame(w, change('update', { ...usersKeys, fullRow: true, primaryKey: ['id', 'email'] }, { id: 1, email: 'a@x' }, { id: 1, email: 'b@x' }));
  });

  it('writes what encodeMutation writes for random rows: bytes, big and odd numbers, escapes, integer-like column names', () => {
    const rnd = seeded(42);
    const w = new EnvelopeWriter(ctx);
    const tables: TableKeys[] = [
      { table: { schema: 'db', name: 't' }, primaryKey: ['id'], uniqueKeys: [['u']] },
      { table: { schema: 'd"b', name: 'bin' }, primaryKey: ['b', '2', 'a'], uniqueKeys: [] },
      { table: { schema: 'db', name: 'odd' }, primaryKey: ['10', '1'], uniqueKeys: [['x y']], collatedKey: true },
    ];
    const columns = ['id', 'u', 'b', '2', 'a', '10', '1', 'x y', 'é', '"'];
    for (let i = 0; i < 500; i++) {
      const keys = tables[i % tables.length]!;
      const row = (): Row => Object.fromEntries(columns.map((c) => [c, keys.primaryKey.includes(c) && rnd() < 0.7 ? Math.floor(rnd() * 5) : randomValue(rnd)]));
      const op = (['insert', 'update', 'delete'] as const)[i % 3]!;
      const before = op === 'insert' ? null : row();
      const after = op === 'delete' ? null : row();
      const ev = { ...change(op, keys, before, after, i), position: { file: 'mysql-bin.000002', pos: 100 + i }, txStart: { file: 'mysql-bin.000002', pos: 50 + (i >> 2) }, index: i % 4, timestampMs: 1_700_000_000_000 + i };
      expectSame(w, ev);
    }
  });

  it('leaves out a column whose value is undefined, as JSON.stringify does', () => {
    const w = new EnvelopeWriter(ctx);
    expectSame(w, change('insert', usersKeys, null, { id: 4, email: 'd@x', gone: undefined } as unknown as Row));
  });
});
