/**
 * The pipeline's ordering and checkpoint logic against an in-memory source and sink (pure logic:
 * real-server behaviour is covered by the integration tests). The sink applies lane batches with
 * random delays, so lanes and partitions finish out of order.
 */
import { describe, expect, it } from 'vitest';
import { Pipeline } from '../../../src/core/pipeline.js';
import { EmbeddedTransport } from '../../../src/transport/embedded.js';
import { silentLogger } from '../../../src/core/log.js';
import { exactIdentity, rowId } from '../../../src/core/key.js';
import type { ChangeEvent, Mutation, Row, SchemaChangeEvent, StatementEvent, TableKeys } from '../../../src/core/event.js';
import type { AppliedChange, Checkpoint, CheckpointStore, SinkConnector, SourceConnector, SourceReadOptions, SourceStreamEvent } from '../../../src/core/ports.js';
import type { SourceIdentity } from '../../../src/core/source-identity.js';
import { ordersKeys, usersKeys } from './fixtures.js';
import type { Metrics } from '../../../src/observability/metrics.js';
import type { TableOpTally } from '../../../src/observability/table-op-tally.js';
import { comparePositions } from '../../../src/core/position.js';

type Tx = { events: ChangeEvent[]; end: number };

/** A deterministic workload: hot keys, PK changes, delete+reinsert, unique-value swaps. */
function workload(seed: number, txCount: number): Tx[] {
  let s = seed;
  const rnd = (n: number) => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) % n);
  const orders = new Map<number, Row>();
  const users = new Map<number, Row>([
    [1, { id: 1, email: 'a' }],
    [2, { id: 2, email: 'b' }],
    [3, { id: 3, email: 'c' }],
  ]);
  const txs: Tx[] = [];
  const ev = (txSeq: number, op: ChangeEvent['op'], keys: TableKeys, before: Row | null, after: Row | null): ChangeEvent => ({
    kind: 'change', op, table: keys.table, keys, before, after, beforeId: before && exactIdentity(keys, before), afterId: after && exactIdentity(keys, after),
    txSeq, position: { file: 'bin.000001', pos: txSeq * 100 }, txStart: { file: 'bin.000001', pos: txSeq * 100 - 100 }, index: 0, timestampMs: txSeq, bytes: 100,
  });
  // Initial users, as inserts in tx 1.
  txs.push({ events: [...users.values()].map((r) => ev(1, 'insert', usersKeys, null, r)), end: 100 });
  for (let t = 2; t <= txCount; t++) {
    const events: ChangeEvent[] = [];
    for (let k = 0; k < 1 + rnd(4); k++) {
      const id = rnd(6);
      const cur = orders.get(id);
      const r = rnd(10);
      if (!cur) {
        const row = { id, v: t * 10 + k };
        orders.set(id, row);
        events.push(ev(t, 'insert', ordersKeys, null, row));
      } else if (r < 6) {
        const row = { id, v: t * 10 + k };
        orders.set(id, row);
        events.push(ev(t, 'update', ordersKeys, cur, row));
      } else if (r < 8) {
        orders.delete(id);
        events.push(ev(t, 'delete', ordersKeys, cur, null));
      } else {
        const nid = 100 + rnd(6);
        if (orders.has(nid)) continue;
        const row = { id: nid, v: t };
        orders.delete(id);
        orders.set(nid, row);
        events.push(ev(t, 'update', ordersKeys, cur, row));
      }
    }
    if (rnd(3) === 0) {
      // Swap two users' emails through a temporary value, as an application would.
      const a = 1 + rnd(3);
      const b = 1 + ((a + rnd(2)) % 3);
      if (a !== b) {
        const ra = users.get(a)!;
        const rb = users.get(b)!;
        const tmp = { id: a, email: `tmp${t}` };
        const nb = { id: b, email: ra.email ?? null };
        const na = { id: a, email: rb.email ?? null };
        events.push(ev(t, 'update', usersKeys, ra, tmp), ev(t, 'update', usersKeys, rb, nb), ev(t, 'update', usersKeys, tmp, na));
        users.set(a, na);
        users.set(b, nb);
      }
    }
    txs.push({ events, end: t * 100 });
  }
  return txs;
}

class FakeSource implements SourceConnector {
  /** The read options of each read. */
  readonly reads: SourceReadOptions[] = [];
  /** @param ddlAfter transaction numbers (1-based) followed by a DDL on a synced table, at end + 50 */
  constructor(
    private readonly txs: Tx[],
    private readonly ddlAfter: ReadonlySet<number> = new Set(),
  ) {}
  async *read(o: SourceReadOptions): AsyncIterable<readonly SourceStreamEvent[]> {
    this.reads.push(o);
    const from = o.from.kind === 'position' ? o.from.position.pos : 0;
    for (const [i, tx] of this.txs.entries()) {
      if (tx.end <= from) continue;
      if (o.signal.aborted) return;
      const ddl: SourceStreamEvent[] = this.ddlAfter.has(i + 1)
        ? [{ kind: 'schema-change', txSeq: i + 1.5 /* between this transaction and the next */, sql: 'ALTER TABLE orders ADD COLUMN c INT', defaultSchema: 'shop', position: { file: 'bin.000001', pos: tx.end + 50 }, timestampMs: i, synced: { action: 'ALTER TABLE', tables: [ordersKeys.table], databases: [] } }]
        : [];
      yield [...tx.events, { kind: 'commit', txSeq: i + 1, position: { file: 'bin.000001', pos: tx.end }, timestampMs: i, changeCount: tx.events.length }, ...ddl];
      if (i % 7 === 0) await new Promise((r) => setImmediate(r));
    }
  }
  async head() { return { file: 'bin.000001', pos: this.txs.at(-1)!.end }; }
  async earliest() { return { file: 'bin.000001', pos: 4 }; }
  async close() {}
}

/** Applies batches with random delays; checks that unique values never collide (as a real target would). */
class FakeSink implements SinkConnector {
  readonly state = new Map<string, Row>();
  /** Newest source transaction applied per row (deletes included). */
  readonly lastTx = new Map<string, number>();
  failOn: ((m: Mutation) => boolean) | null = null;
  constructor(private readonly delay: () => number) {}
  async applyBatch(ms: readonly Mutation[]): Promise<void> {
    await new Promise((r) => setTimeout(r, this.delay()));
    for (const m of ms) if (this.failOn?.(m)) throw new Error('boom: not retriable');
    // Deletes first, then upserts; an upsert into a unique-key table replaces rows holding its values.
    for (const m of ms) if (m.op === 'delete') this.state.delete(rowId(m.table, m.key));
    for (const m of ms) {
      if (m.op !== 'upsert') continue;
      if (m.keys.uniqueKeys.length) {
        for (const [id, r] of this.state) if (id.startsWith('shop.users') && r.email === m.row.email) this.state.delete(id);
      }
      this.state.set(rowId(m.table, m.key), m.row);
    }
    for (const m of ms) this.lastTx.set(rowId(m.table, m.key), m.txSeq);
  }
  /** Per DDL applied: its position, and the newest transaction applied so far per row at that moment. */
  readonly ddls: { pos: number; lastTx: Map<string, number> }[] = [];
  async applySchemaChange(ev: SchemaChangeEvent): Promise<'applied'> {
    await new Promise((r) => setTimeout(r, this.delay()));
    this.ddls.push({ pos: ev.position.pos, lastTx: new Map(this.lastTx) });
    return 'applied';
  }
  async applyStatement(_ev: StatementEvent, _checkpoint: { readonly pipeline: string; readonly checkpoint: Checkpoint } | null): Promise<'applied'> {
    throw new Error('this workload has no statement-format changes');
  }
  async lastStatement(): Promise<null> {
    return null;
  }
  async orderApplied(): Promise<ReadonlyMap<string, AppliedChange>> {
    return new Map();
  }
  async close() {}
}

class MemoryStore implements CheckpointStore {
  saves: Checkpoint[] = [];
  constructor(private readonly check: (cp: Checkpoint) => void = () => {}) {}
  async load() { return this.saves.at(-1) ?? null; }
  async save(_: string, cp: Checkpoint) { this.check(cp); this.saves.push(cp); }
  async reset(_: string, cp: Checkpoint) { this.saves = [cp]; }
  async clear() { this.saves = []; }
}

function expectedState(txs: Tx[]): Map<string, Row> {
  const st = new Map<string, Row>();
  for (const tx of txs)
    for (const e of tx.events) {
      if (e.before) st.delete(rowId(e.table, e.keys.primaryKey.map((c) => e.before![c]!)));
      if (e.after) st.set(rowId(e.table, e.keys.primaryKey.map((c) => e.after![c]!)), e.after);
    }
  return st;
}

function pipeline(source: SourceConnector, sink: SinkConnector, store: CheckpointStore, from = 4, sourceIdentity?: SourceIdentity, applySchemaChanges = false) {
  return new Pipeline({
    name: 't', source, sink, checkpoints: store, transport: new EmbeddedTransport(4, 16),
    from: { kind: 'position', position: { file: 'bin.000001', pos: from } },
    initialCheckpoint: null, lanes: 8, batchSize: 32, concurrency: 6, checkpointIntervalMs: 5, logger: silentLogger(),
    ...(sourceIdentity ? { sourceIdentity } : {}),
    applySchemaChanges,
  });
}

describe('Pipeline (in-memory source and sink)', () => {
  it('applies every row in source order across lanes and partitions; checkpoints never run ahead', async () => {
    const txs = workload(7, 600);
    const sink = new FakeSink(() => Math.floor(Math.random() * 3));
    // Every row's newest change up to the checkpoint must already be applied when it is stored.
    const touched: { row: string; tx: number }[] = txs.flatMap((tx, i) =>
      tx.events.flatMap((e) => [e.before, e.after].filter((r) => r).map((r) => ({ row: rowId(e.table, e.keys.primaryKey.map((c) => r![c]!)), tx: i + 1 }))),
    );
    const violations: string[] = [];
    const store = new MemoryStore((cp) => {
      const upTo = cp.position.pos / 100;
      for (const t of touched) {
        if (t.tx > upTo) break;
        if ((sink.lastTx.get(t.row) ?? 0) < t.tx) violations.push(`checkpoint ${upTo} stored before tx ${t.tx} of ${t.row} was applied`);
      }
    });
    const result = await pipeline(new FakeSource(txs), sink, store).run(new AbortController().signal);
    expect(result.reason).toBe('source-ended');
    expect(violations).toEqual([]);
    expect(sink.state).toEqual(expectedState(txs));
    expect(store.saves.at(-1)!.position.pos).toBe(txs.at(-1)!.end);
    expect(store.saves.length).toBeGreaterThan(1);
  });

  it('converges when replayed from an older checkpoint over a target that is ahead', async () => {
    const txs = workload(11, 300);
    const sink = new FakeSink(() => 0);
    await pipeline(new FakeSource(txs), sink, new MemoryStore()).run(new AbortController().signal);
    await pipeline(new FakeSource(txs), sink, new MemoryStore(), 100 * 120).run(new AbortController().signal);
    expect(sink.state).toEqual(expectedState(txs));
  });

  it('warms the source and sink up before the first read, and a warm-up that fails costs nothing', async () => {
    const txs = workload(5, 100);
    const order: string[] = [];
    const source = new FakeSource(txs);
    const read = source.read.bind(source);
    Object.assign(source, {
      warmUp: async () => { order.push('source warm-up'); throw new Error('metadata query failed'); },
      read: (o: SourceReadOptions) => { order.push('read'); return read(o); },
    });
    const sink = new FakeSink(() => 0);
    Object.assign(sink, { warmUp: () => { order.push('sink warm-up'); return Promise.reject(new Error('target down')); } });
    const result = await pipeline(source, sink, new MemoryStore()).run(new AbortController().signal);
    expect(result.reason).toBe('source-ended');
    expect(order.slice(0, 3)).toEqual(['source warm-up', 'sink warm-up', 'read']);
    expect(sink.state).toEqual(expectedState(txs));
  });

  it('stops on a non-retriable sink error without storing a checkpoint past it', async () => {
    const txs = workload(3, 200);
    const sink = new FakeSink(() => 0);
    sink.failOn = (m) => m.txSeq >= 50;
    const store = new MemoryStore();
    await expect(pipeline(new FakeSource(txs), sink, store).run(new AbortController().signal)).rejects.toThrow(/boom/);
    for (const cp of store.saves) expect(cp.position.pos).toBeLessThan(50 * 100);
  });

  it('applies DDL as a barrier: after every earlier change, before any later one; checkpoints pass a DDL only once it ran', async () => {
    const txs = workload(13, 400);
    const ddlAfter = new Set([40, 41, 150, 399]);
    const sink = new FakeSink(() => Math.floor(Math.random() * 3));
    const early: string[] = [];
    const store = new MemoryStore((cp) => {
      for (const n of ddlAfter) {
        const pos = txs[n - 1]!.end + 50;
        if (cp.position.pos >= pos && !sink.ddls.some((d) => d.pos === pos)) early.push(`checkpoint ${cp.position.pos} stored before the DDL at ${pos} ran`);
      }
    });
    await pipeline(new FakeSource(txs, ddlAfter), sink, store, 4, undefined, true).run(new AbortController().signal);
    expect(early).toEqual([]);
    expect(sink.ddls.map((d) => d.pos)).toEqual([...ddlAfter].map((n) => txs[n - 1]!.end + 50));
    for (const [i, n] of [...ddlAfter].entries()) {
      const seen = sink.ddls[i]!.lastTx;
      // Every row a transaction up to n touched was applied up to its last change there …
      const expected = new Map<string, number>();
      for (const [t, tx] of txs.slice(0, n).entries()) for (const e of tx.events) for (const r of [e.before, e.after]) if (r) expected.set(rowId(e.table, e.keys.primaryKey.map((c) => r[c]!)), t + 1);
      for (const [row, tx] of expected) expect(seen.get(row) ?? 0, row).toBe(tx);
      // … and nothing after it was.
      for (const tx of seen.values()) expect(tx).toBeLessThanOrEqual(n);
    }
    expect(sink.state).toEqual(expectedState(txs));
  });

  it('never lets a periodic checkpoint save land after a statement-format change stored its own, newer one', async () => {
    // The sink stores the statement's checkpoint in the statement's own transaction at once, then takes
    // its time to answer (the commit's acknowledgement): a periodic save started meanwhile must not store
    // the position from before the statement over it (a restart there refuses: the statement ran after
    // it). Found by the differential fuzzer (seed 606, statement-apply profile, after a kill -9).
    const txs = workload(17, 120);
    const statementAfter = new Set([30, 31, 90]);
    const store = new MemoryStore();
    class StatementSource extends FakeSource {
      override async *read(o: SourceReadOptions): AsyncIterable<readonly SourceStreamEvent[]> {
        let n = 0;
        for await (const batch of super.read(o)) {
          n++;
          const end = txs[n - 1]!.end;
          yield statementAfter.has(n)
            ? [...batch, { kind: 'statement', txSeq: n + 0.5, sql: 'UPDATE orders SET v = v + 0', defaultSchema: 'shop', tables: [ordersKeys.table], position: { file: 'bin.000001', pos: end + 50 }, timestampMs: n }]
            : batch;
        }
      }
    }
    class SlowAnswerSink extends FakeSink {
      readonly statements: number[] = [];
      override async applyStatement(ev: StatementEvent, checkpoint: { readonly pipeline: string; readonly checkpoint: Checkpoint } | null): Promise<'applied'> {
        if (checkpoint) store.saves.push(checkpoint.checkpoint);
        this.statements.push(ev.position.pos);
        await new Promise((r) => setTimeout(r, 40)); // several checkpoint intervals (5 ms)
        return 'applied';
      }
    }
    const sink = new SlowAnswerSink(() => Math.floor(Math.random() * 3));
    await pipeline(new StatementSource(txs), sink, store).run(new AbortController().signal);
    expect(sink.statements).toEqual([...statementAfter].map((n) => txs[n - 1]!.end + 50));
    const backwards = store.saves.flatMap((cp, k) => (k > 0 && comparePositions(cp.position, store.saves[k - 1]!.position) < 0 ? [`${store.saves[k - 1]!.position.pos} then ${cp.position.pos}`] : []));
    expect(backwards).toEqual([]);
    expect(sink.state).toEqual(expectedState(txs));
  });

  it('without applySchemaChanges a DDL is only passed (logged), never sent to the sink', async () => {
    const txs = workload(17, 60);
    const sink = new FakeSink(() => 0);
    const store = new MemoryStore();
    await pipeline(new FakeSource(txs, new Set([10])), sink, store).run(new AbortController().signal);
    expect(sink.ddls).toEqual([]);
    expect(store.saves.at(-1)!.position.pos).toBe(txs.at(-1)!.end);
  });

  it('names the source server in every checkpoint it stores, and asks the source to read only that server', async () => {
    const txs = workload(5, 100);
    const source = new FakeSource(txs);
    const store = new MemoryStore();
    const server: SourceIdentity = { flavor: 'mariadb', serverId: 11, domainId: 0 };
    await pipeline(source, new FakeSink(() => 0), store, 4, server).run(new AbortController().signal);
    expect(store.saves.length).toBeGreaterThan(0);
    for (const cp of store.saves) expect(cp.source).toEqual(server);
    expect(source.reads.map((r) => r.source)).toEqual([server]);
  });
});

/** Records what the pipeline reports (a unit-test double of the metrics interface). */
class RecordingMetrics implements Metrics {
  readonly enabled = true;
  readCalls = 0;
  appliedCalls = 0;
  readonly read = new Map<string, number>();
  readonly applied = new Map<string, number>();
  appliedSizes = 0;
  changesRead(t: TableOpTally): void {
    this.readCalls++;
    for (const c of t.counts()) this.read.set(`${c.table.name}/${c.op}`, (this.read.get(`${c.table.name}/${c.op}`) ?? 0) + c.count);
  }
  batchApplied(t: TableOpTally, size: number, seconds: number): void {
    this.appliedCalls++;
    this.appliedSizes += size;
    expect(seconds).toBeGreaterThanOrEqual(0);
    for (const c of t.counts()) this.applied.set(`${c.table.name}/${c.op}`, (this.applied.get(`${c.table.name}/${c.op}`) ?? 0) + c.count);
  }
  problem(): void {}
  retry(): void {}
  setQuarantined(): void {}
  retention(): void {}
}

describe('Pipeline metrics and quiet positions', () => {
  it('counts changes read per source batch and mutations applied per lane batch, with the batch totals', async () => {
    const txs = workload(13, 200);
    const metrics = new RecordingMetrics();
    const sink = new FakeSink(() => 0);
    const p = new Pipeline({
      name: 't', source: new FakeSource(txs), sink, checkpoints: new MemoryStore(), transport: new EmbeddedTransport(4, 16),
      from: { kind: 'position', position: { file: 'bin.000001', pos: 4 } },
      initialCheckpoint: null, lanes: 8, batchSize: 32, concurrency: 6, checkpointIntervalMs: 5, logger: silentLogger(), metrics,
    });
    const { stats } = await p.run(new AbortController().signal);
    const expected = new Map<string, number>();
    for (const tx of txs) for (const e of tx.events) expected.set(`${e.table.name}/${e.op}`, (expected.get(`${e.table.name}/${e.op}`) ?? 0) + 1);
    expect(metrics.read).toEqual(expected);
    // One call per source batch (the fake source yields one batch per transaction), not per row.
    expect(metrics.readCalls).toBeLessThanOrEqual(txs.length);
    expect(metrics.appliedCalls).toBe(stats.batches);
    expect(metrics.appliedSizes).toBe(stats.mutationsApplied);
    expect([...metrics.applied.values()].reduce((a, b) => a + b, 0)).toBe(stats.mutationsApplied);
    expect(p.laneDepths()).toEqual([0, 0, 0, 0]);
    expect(p.partitionDepths()).toEqual([0, 0, 0, 0]);
  });

  it('moves the checkpoint to a position between transactions once everything before it is applied, never backwards', async () => {
    const txs = workload(17, 20);
    const base = new FakeSource(txs);
    const rotated = { file: 'bin.000002', pos: 256 };
    const source: SourceConnector = {
      async *read(o) {
        yield* base.read(o);
        await new Promise((r) => setTimeout(r, 50)); // the sink catches up: nothing in flight
        yield [{ kind: 'position', position: { file: 'bin.000001', pos: 50 } }];
        yield [{ kind: 'position', position: rotated }];
      },
      head: async () => rotated,
      earliest: async () => ({ file: 'bin.000001', pos: 4 }),
      close: async () => {},
    };
    const store = new MemoryStore();
    await pipeline(source, new FakeSink(() => 0), store).run(new AbortController().signal);
    expect(store.saves.at(-1)!.position).toEqual(rotated);
    // The source time stays the last transaction's: nothing newer was applied.
    expect(store.saves.at(-1)!.sourceTimestampMs).toBe(txs.length - 1);
    for (let i = 1; i < store.saves.length; i++) expect(comparePositions(store.saves[i]!.position, store.saves[i - 1]!.position)).toBeGreaterThanOrEqual(0);
  });
});
