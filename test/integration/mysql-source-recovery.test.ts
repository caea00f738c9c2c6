import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MySqlSource } from '../../connectors/mysql-source/index.js';
import type { ChangeEvent } from '../../src/core/event.js';
import type { SourceStreamEvent } from '../../src/core/ports.js';
import { LocalMariaDb } from '../../src/local/mariadb-server.js';
import { silentLogger } from '../../src/core/log.js';
import { eachEvent } from '../support/each-event.js';
import { waitFor } from '../support/wait-for.js';

let db: LocalMariaDb;

beforeAll(async () => {
  db = await LocalMariaDb.start({ label: 'src-recovery', serverId: 24, binlog: true });
  await db.rootQuery(`CREATE DATABASE shop; CREATE TABLE shop.big (id INT PRIMARY KEY, pad VARCHAR(100));`);
});

afterAll(async () => {
  await db?.stop();
});

/** Ids whose insert belongs to a transaction the stream committed (abandoned parts do not count). */
function committedIds(events: readonly SourceStreamEvent[]): Set<number> {
  const byTx = new Map<number, number[]>();
  const ids = new Set<number>();
  for (const e of events) {
    if (e.kind === 'change' && e.after) {
      let l = byTx.get(e.txSeq);
      if (!l) byTx.set(e.txSeq, (l = []));
      l.push(e.after.id as number);
    } else if (e.kind === 'commit') {
      for (const id of byTx.get(e.txSeq) ?? []) ids.add(id);
    }
  }
  return ids;
}

describe('MySqlSource recovery', () => {
  it('reconnects by itself after the source is SIGKILLed mid-transaction, abandons the partial transaction and misses nothing', async () => {
    const source = new MySqlSource({
      ...db.endpoint(),
      serverId: 2401,
      include: ['shop.*'],
      exclude: [],
      reconnect: { initialMs: 100, maxMs: 1_000, factor: 2 },
      bufferHighWaterBytes: 256 << 10,
      bufferLowWaterBytes: 64 << 10,
      logger: silentLogger(),
    });
    try {
      const start = await source.head();
      await db.rootQuery(`INSERT INTO shop.big VALUES (1, 'small tx before')`);
      // One transaction far larger than what the buffer and socket buffers can hold (~25 MB of binlog).
      await db.rootQuery(`USE shop; INSERT INTO shop.big SELECT seq + 1, REPEAT('p', 100) FROM seq_1_to_200000`);
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(), 50_000);
      const events: SourceStreamEvent[] = [];
      let killed = false;
      let wroteAfter = false;
      for await (const e of eachEvent(source.read({ from: { kind: 'position', position: start }, signal: ac.signal }))) {
        events.push(e);
        if (!killed && e.kind === 'change' && e.txSeq === 2 && events.length > 1_000) {
          killed = true;
          await db.restart(); // SIGKILL + start again with crash recovery
        }
        if (killed && !wroteAfter && e.kind === 'commit' && e.changeCount === 200_000) {
          wroteAfter = true;
          await db.rootQuery(`INSERT INTO shop.big VALUES (300000, 'after restart')`);
        }
        if (e.kind === 'commit' && e.changeCount === 1 && wroteAfter) break;
      }
      clearTimeout(timer);
      expect(ac.signal.aborted).toBe(false);

      const abandons = events.filter((e) => e.kind === 'abandon');
      expect(abandons).toHaveLength(1);
      const abandoned = abandons[0]!;
      expect(abandoned).toMatchObject({ kind: 'abandon', txSeq: 2 });
      // The abandoned transaction never commits; it is read again in full under a new txSeq.
      expect(events.some((e) => e.kind === 'commit' && e.txSeq === abandoned.txSeq)).toBe(false);
      const partial = events.filter((e) => e.kind === 'change' && e.txSeq === abandoned.txSeq).length;
      expect(partial).toBe(abandoned.kind === 'abandon' ? abandoned.changeCount : -1);
      expect(partial).toBeLessThan(200_000);
      const reread = events.filter((e) => e.kind === 'change' && e.txSeq > abandoned.txSeq && (e.after?.id as number) <= 200_001).length;
      expect(reread).toBe(200_000);
      expect(source.stats()!.reconnects).toBeGreaterThanOrEqual(1);

      const n = ((await db.rootQuery('SELECT COUNT(*) AS n FROM shop.big')) as { n: number }[])[0]!.n;
      const ids = committedIds(events);
      expect(ids.size).toBe(Number(n));
      expect(ids.has(1) && ids.has(200_001) && ids.has(300_000)).toBe(true);
    } finally {
      await source.close();
    }
  });

  it('treats a frozen source as dead after silentAfterMs, and an idle one as alive', async () => {
    const source = new MySqlSource({
      ...db.endpoint(),
      serverId: 2402,
      include: ['shop.*'],
      exclude: [],
      silentAfterMs: 800,
      connectTimeoutMs: 1_500,
      reconnect: { initialMs: 100, maxMs: 500, factor: 2 },
      logger: silentLogger(),
    });
    try {
      const start = await source.head();
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(), 40_000);
      const it = eachEvent(source.read({ from: { kind: 'position', position: start }, signal: ac.signal }))[Symbol.asyncIterator]();
      const nextChange = async (): Promise<ChangeEvent> => {
        for (;;) {
          const r = await it.next();
          if (r.done) throw new Error('stream ended');
          if (r.value.kind === 'change') return r.value;
        }
      };
      await db.rootQuery(`INSERT INTO shop.big VALUES (400000, 'before freeze')`);
      expect((await nextChange()).after).toMatchObject({ id: 400000 });
      // Idle but healthy: several silent periods (800 ms each) pass without a reconnect. A time window is
      // the point here: nothing must happen in it.
      await new Promise((r) => setTimeout(r, 2_500));
      expect(source.stats()!.silentReconnects).toBe(0);
      expect(source.stats()!.reconnects).toBe(0);

      await db.freeze();
      try {
        await waitFor(() => source.stats()!.silentReconnects >= 1, { what: 'the watchdog to declare the frozen source silent', timeoutMs: 20_000 });
      } finally {
        db.thaw();
      }
      await db.rootQuery(`INSERT INTO shop.big VALUES (400001, 'after thaw')`);
      expect((await nextChange()).after).toMatchObject({ id: 400001 });
      expect(source.stats()!.silentReconnects).toBeGreaterThanOrEqual(1);
      clearTimeout(timer);
      ac.abort();
      await it.return?.();
    } finally {
      db.thaw();
      await source.close();
    }
  });

  it('stops with a message naming source.serverId when another reader takes over with the same server id', async () => {
    const make = (): MySqlSource =>
      new MySqlSource({ ...db.endpoint(), serverId: 2402, include: ['shop.*'], exclude: [], reconnect: { initialMs: 100, maxMs: 500, factor: 2 }, logger: silentLogger() });
    const first = make();
    const second = make();
    const ac = new AbortController();
    try {
      const start = await first.head();
      const reading = (async () => {
        for await (const _ of first.read({ from: { kind: 'position', position: start }, signal: ac.signal })) void _;
      })();
      reading.catch(() => undefined);
      await new Promise((r) => setTimeout(r, 500));
      const other = (async () => {
        for await (const _ of second.read({ from: { kind: 'position', position: start }, signal: ac.signal })) void _;
      })();
      other.catch(() => undefined);
      // The source drops the older connection of the two (MariaDB: error 4052).
      const err = await Promise.race([reading.then(() => null, (e: unknown) => e), other.then(() => null, (e: unknown) => e)]);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(/another replica connected to the source with our server id 2402 \(source\.serverId\)/);
      expect((err as Error).message).toMatch(/Give each its own source\.serverId/);
    } finally {
      ac.abort();
      await Promise.allSettled([first.close(), second.close()]);
    }
  });
});
