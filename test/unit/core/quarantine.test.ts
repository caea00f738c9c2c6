/**
 * Quarantine logic: which errors park a table, the dead-letter JSON form, the order and batches retry
 * applies in, and the pipeline parking a refused table while the others and the checkpoint go on
 * (in-memory source, sink and dead-letter store).
 */
import { describe, expect, it } from 'vitest';
import { Pipeline } from '../../../src/core/pipeline.js';
import { EmbeddedTransport } from '../../../src/transport/embedded.js';
import { silentLogger } from '../../../src/core/log.js';
import { BinlogSyncError, TargetError } from '../../../src/core/errors.js';
import { exactIdentity, rowId } from '../../../src/core/key.js';
import { tableKey, type ChangeEvent, type Mutation, type Row, type TableKeys } from '../../../src/core/event.js';
import type { AppliedChange, Checkpoint, CheckpointStore, SinkConnector, SourceConnector, SourceReadOptions, SourceStreamEvent } from '../../../src/core/ports.js';
import { PrometheusMetrics } from '../../../src/observability/metrics.js';
import { QuarantineSet, mutationFromJson, mutationToJson, orderedBatches, parkableTable, parkedOrder, type ParkReason, type ParkedTable, type QuarantineStore } from '../../../src/core/quarantine.js';
import { refusesTableData } from '../../../connectors/mysql-sink/error-classifier.js';
import { ordersKeys, upsert, usersKeys } from './fixtures.js';

const refusal = (table: string): TargetError =>
  new TargetError('TARGET_APPLY', `target: cannot apply changes to ${table}: Data too long for column 'note'`, { details: { table, refusedTable: table, errno: 1406 } });

describe('which errors park a table', () => {
  const orders = [upsert(ordersKeys, { id: 1, v: 'x' })];
  it('parks the table the sink names as refused', () => {
    expect(parkableTable(refusal('shop.orders'), orders)).toBe('shop.orders');
  });
  it('stops on retriable errors, errors without a refused table, other codes and plain errors', () => {
    expect(parkableTable(new TargetError('TARGET_APPLY', 'x', { retriable: true, details: { refusedTable: 'shop.orders' } }), orders)).toBeNull();
    expect(parkableTable(new TargetError('TARGET_APPLY', 'x', { details: { table: 'shop.orders' } }), orders)).toBeNull();
    expect(parkableTable(new TargetError('TARGET_CONNECTION', 'x', { details: { refusedTable: 'shop.orders' } }), orders)).toBeNull();
    expect(parkableTable(new Error('x'), orders)).toBeNull();
  });
  it('stops when the refused table is not in the batch, or is in a foreign-key order group', () => {
    expect(parkableTable(refusal('shop.users'), orders)).toBeNull();
    const grouped = [upsert({ ...ordersKeys, orderGroup: 'shop.orders' }, { id: 1, v: 'x' })];
    expect(parkableTable(refusal('shop.orders'), grouped)).toBeNull();
  });
  it('the sink marks data and definition refusals, not privileges, foreign keys or connection trouble', () => {
    for (const errno of [1054, 1146, 1406, 1264, 1366, 1292, 1048, 1364, 1062]) expect(refusesTableData({ errno })).toBe(true);
    for (const errno of [1142, 1044, 1452, 1451, 1153, 1213, 1290, 2013]) expect(refusesTableData({ errno })).toBe(false);
    expect(refusesTableData({ code: 'ECONNRESET', errno: -104 })).toBe(false);
  });
});

describe('the dead-letter form', () => {
  it('round-trips a mutation exactly: bytes, big numbers, DECIMAL, NULL, unicode, snapshot mark', () => {
    const m: Mutation = {
      ...upsert(usersKeys, { id: 9007199254740993n.toString(), email: 'é\u0000"\\', blob: Buffer.from([0, 255, 10]), price: '12.3400', gone: null, f: 0.1 + 0.2 }, 3, ['tok\u0000x']),
      txStart: { file: 'mysql-bin.000007', pos: 1234 },
      index: 5,
      snapshot: true,
    };
    const back = mutationFromJson(JSON.stringify(mutationToJson(m)), 'test row');
    expect(back).toEqual({ ...m, txSeq: 0 });
    expect(Buffer.isBuffer(back.row.blob)).toBe(true);
  });
  it('names the row when the stored text is not one binlog-sync wrote', () => {
    expect(() => mutationFromJson('{not json', 'row X')).toThrow(/row X: the parked change is not valid JSON/);
    expect(() => mutationFromJson('{"v":2}', 'row Y')).toThrow(/row Y: the parked change is not in the format/);
  });
  it('orders a key change as its delete before its upsert, and snapshot rows before the changes at their place', () => {
    const del = { ...upsert(ordersKeys, { id: 1 }), op: 'delete' as const };
    expect(parkedOrder(del).part).toBeLessThan(parkedOrder(upsert(ordersKeys, { id: 2 })).part);
    expect(parkedOrder({ ...del, snapshot: true }).fromBinlog).toBeLessThan(parkedOrder(del).fromBinlog);
  });
});

describe('retry batches', () => {
  it('keeps a row, and a unique value, to one change per batch, in order', () => {
    const a1 = upsert(usersKeys, { id: 1, email: 'a' }, 1, ['e:a']);
    const b1 = upsert(usersKeys, { id: 2, email: 'b' }, 1, ['e:b']);
    const a2 = upsert(usersKeys, { id: 1, email: 'c' }, 2, ['e:a', 'e:c']);
    const c1 = upsert(usersKeys, { id: 3, email: 'a' }, 3, ['e:a']);
    const d1 = upsert(usersKeys, { id: 4, email: 'd' }, 3, ['e:d']);
    expect(orderedBatches([a1, b1, a2, c1, d1], 100)).toEqual([[a1, b1], [a2], [c1, d1]]);
    expect(orderedBatches([a1, b1, d1], 2)).toEqual([[a1, b1], [d1]]);
    expect(orderedBatches([], 10)).toEqual([]);
  });
  it('splits a batch into the changes to apply and, per parked table, those to park', () => {
    const q = new QuarantineSet(['shop.orders']);
    const o = upsert(ordersKeys, { id: 1 });
    const u = upsert(usersKeys, { id: 1, email: 'a' });
    const { apply, park } = q.split([o, u, o]);
    expect(apply).toEqual([u]);
    expect([...park]).toEqual([['shop.orders', [o, o]]]);
  });
});

// ---- the pipeline with a refused table ---------------------------------------------------------

const POS = (pos: number) => ({ file: 'bin.000001', pos });

function change(txSeq: number, index: number, keys: TableKeys, before: Row | null, after: Row | null): ChangeEvent {
  return {
    kind: 'change', op: before && after ? 'update' : after ? 'insert' : 'delete', table: keys.table, keys, before, after,
    beforeId: before && exactIdentity(keys, before), afterId: after && exactIdentity(keys, after),
    txSeq, position: POS(txSeq * 100), txStart: POS(txSeq * 100 - 100), index, timestampMs: txSeq, bytes: 10,
  };
}

/** 200 transactions, each an order (id t % 7, note length varies) and a user (id t % 5). */
function transactions(): ChangeEvent[][] {
  const txs: ChangeEvent[][] = [];
  for (let t = 1; t <= 200; t++) {
    txs.push([change(t, 0, ordersKeys, null, { id: t % 7, note: 'n'.repeat(t % 13) }), change(t, 1, { ...usersKeys, uniqueKeys: [] }, null, { id: t % 5, email: `u${t}` })]);
  }
  return txs;
}

class Source implements SourceConnector {
  constructor(private readonly txs: ChangeEvent[][]) {}
  async *read(o: SourceReadOptions): AsyncIterable<readonly SourceStreamEvent[]> {
    for (const [i, events] of this.txs.entries()) {
      if (o.signal.aborted) return;
      yield [...events, { kind: 'commit', txSeq: i + 1, position: POS((i + 1) * 100), timestampMs: i, changeCount: events.length }];
      if (i % 5 === 0) await new Promise((r) => setImmediate(r));
    }
  }
  async head() { return POS(this.txs.length * 100); }
  async earliest() { return POS(4); }
  async close() {}
}

/** A target whose `shop.orders` refuses notes longer than 10 characters (as a narrower column would). */
class Sink implements SinkConnector {
  readonly state = new Map<string, Row>();
  async applyBatch(ms: readonly Mutation[]): Promise<void> {
    await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 2)));
    const bad = ms.find((m) => tableKey(m.table) === 'shop.orders' && String(m.row.note ?? '').length > 10);
    if (bad) throw refusal('shop.orders');
    for (const m of ms) {
      if (m.op === 'delete') this.state.delete(rowId(m.table, m.key));
      else this.state.set(rowId(m.table, m.key), m.row);
    }
  }
  async applyStatement(): Promise<'applied'> { throw new Error('none'); }
  async applySchemaChange(): Promise<'applied'> { throw new Error('none'); }
  async lastStatement() { return null; }
  async orderApplied(): Promise<ReadonlyMap<string, AppliedChange>> { return new Map(); }
  async close() {}
}

class DeadLetters implements QuarantineStore {
  readonly rows = new Map<string, Mutation>();
  readonly reasons: ParkReason[] = [];
  async parked(): Promise<readonly ParkedTable[]> { return []; }
  async park(_: string, table: string, ms: readonly Mutation[], reason: ParkReason | null): Promise<void> {
    if (reason) this.reasons.push(reason);
    for (const m of ms) {
      expect(tableKey(m.table)).toBe(table);
      const o = parkedOrder(m);
      this.rows.set(`${o.position.pos}/${o.index}/${o.part}/${m.rowId}`, m);
    }
  }
  ordered(): Mutation[] {
    return [...this.rows.values()].sort((a, b) => a.txStart.pos - b.txStart.pos || a.index - b.index);
  }
}

class Checkpoints implements CheckpointStore {
  saves: Checkpoint[] = [];
  async load() { return this.saves.at(-1) ?? null; }
  async save(_: string, cp: Checkpoint) { this.saves.push(cp); }
  async reset() {}
  async clear() {}
}

function run(txs: ChangeEvent[][], sink: Sink, checkpoints: Checkpoints, quarantine: { store: QuarantineStore; parked: string[]; parkRefused: boolean }, metrics?: PrometheusMetrics) {
  return new Pipeline({
    name: 't', source: new Source(txs), sink, checkpoints, transport: new EmbeddedTransport(4, 16),
    from: { kind: 'position', position: POS(4) }, initialCheckpoint: null, lanes: 4, batchSize: 8, concurrency: 4,
    checkpointIntervalMs: 5, logger: silentLogger(), quarantine, ...(metrics ? { metrics } : {}),
  }).run(new AbortController().signal);
}

/** The rows each table holds after applying `events` in order. */
function applied(events: readonly Mutation[] | readonly ChangeEvent[], into = new Map<string, Row>()): Map<string, Row> {
  for (const e of events) {
    if ('kind' in e) {
      if (e.after) into.set(rowId(e.table, e.keys.primaryKey.map((c) => e.after![c]!)), e.after);
    } else if (e.op === 'delete') into.delete(rowId(e.table, e.key));
    else into.set(rowId(e.table, e.key), e.row);
  }
  return into;
}

describe('Pipeline with a refused table', () => {
  it('quarantine: parks the table from its first refused change on, keeps the others equal and the checkpoint moving', async () => {
    const txs = transactions();
    const sink = new Sink();
    const store = new DeadLetters();
    const checkpoints = new Checkpoints();
    const metrics = new PrometheusMetrics();
    const result = await run(txs, sink, checkpoints, { store, parked: [], parkRefused: true }, metrics);
    expect(result.reason).toBe('source-ended');
    expect(result.stats.parkedTables).toEqual(['shop.orders']);
    const text = await metrics.render();
    expect(text).toContain('binlog_sync_quarantined_tables 1\n');
    expect(text).toContain('binlog_sync_table_quarantined{table="shop.orders"} 1\n');
    expect(checkpoints.saves.at(-1)!.position).toEqual(POS(200 * 100));
    // The users table is complete; every orders change from the first refused one on is parked, none lost.
    const all = applied(txs.flat());
    const users = [...all].filter(([k]) => k.startsWith('shop.users'));
    expect([...sink.state].filter(([k]) => k.startsWith('shop.users')).sort()).toEqual(users.sort());
    // A lane folds several changes of one row into the last, so the first change the target would
    // refuse may never be sent alone: it is parked itself, or a later change of its row is (both
    // carry the row's full image). Which batch is refused first depends on timing; what may not
    // depend on it: every reason is the refused table's, and no refused value reached the target.
    const firstRefused = txs.flat().find((e) => tableKey(e.table) === 'shop.orders' && String(e.after!.note).length > 10)!;
    const firstRefusedRow = rowId(ordersKeys.table, [firstRefused.after!.id!]);
    expect(store.reasons.length).toBeGreaterThan(0);
    expect(store.reasons.every((r) => r.table === 'shop.orders')).toBe(true);
    expect(store.ordered().some((m) => m.rowId === firstRefusedRow && m.txStart.pos >= firstRefused.txStart.pos)).toBe(true);
    expect([...sink.state].filter(([k]) => k.startsWith('shop.orders')).every(([, r]) => String(r.note).length <= 10)).toBe(true);
    expect(sink.state.get(rowId(ordersKeys.table, [firstRefused.after!.id!]))?.note).not.toBe(firstRefused.after!.note);
    // What retry does: the parked changes in order over the target reach the source's state.
    const retried = applied(store.ordered(), new Map(sink.state));
    expect([...retried].sort()).toEqual([...all].sort());
  });

  it('stop: fails with the refusal and stores no checkpoint past it', async () => {
    const txs = transactions();
    const checkpoints = new Checkpoints();
    const store = new DeadLetters();
    await expect(run(txs, new Sink(), checkpoints, { store, parked: [], parkRefused: false })).rejects.toThrow(BinlogSyncError);
    const firstRefused = txs.flat().find((e) => tableKey(e.table) === 'shop.orders' && String(e.after!.note).length > 10)!;
    for (const cp of checkpoints.saves) expect(cp.position.pos).toBeLessThanOrEqual(firstRefused.txStart.pos);
    expect(store.rows.size).toBe(0);
  });

  it('a table parked before keeps being parked from the first change on, even under stop', async () => {
    const txs = transactions();
    const sink = new Sink();
    const store = new DeadLetters();
    const metrics = new PrometheusMetrics();
    await run(txs, sink, new Checkpoints(), { store, parked: ['shop.orders'], parkRefused: false }, metrics);
    expect(await metrics.render()).toContain('binlog_sync_quarantined_tables 1\n');
    expect([...sink.state.keys()].some((k) => k.startsWith('shop.orders'))).toBe(false);
    // Several changes of one row in one lane batch are folded into the last, as they would be applied.
    expect(store.ordered().length).toBeGreaterThanOrEqual(7);
    expect([...applied(store.ordered())].sort()).toEqual([...applied(txs.flat())].filter(([k]) => k.startsWith('shop.orders')).sort());
  });
});
