import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MySqlSource } from '../../connectors/mysql-source/index.js';
import { SourceError } from '../../src/core/errors.js';
import type { SourceStreamEvent } from '../../src/core/ports.js';
import { LocalMariaDb } from '../../src/local/mariadb-server.js';
import { eachEvent } from '../support/each-event.js';
import { waitFor } from '../support/wait-for.js';

let db: LocalMariaDb;

beforeAll(async () => {
  db = await LocalMariaDb.start({ label: 'src-flow', serverId: 25, binlog: true });
  await db.rootQuery(`CREATE DATABASE shop; CREATE TABLE shop.big (id INT PRIMARY KEY, pad VARCHAR(200));`);
});

afterAll(async () => {
  await db?.stop();
});

describe('MySqlSource flow control and unrecoverable positions', () => {
  it('keeps its buffer bounded when the consumer stops pulling, and delivers everything once it pulls again', async () => {
    const high = 128 << 10;
    const source = new MySqlSource({ ...db.endpoint(), serverId: 2501, include: ['shop.*'], exclude: [], bufferHighWaterBytes: high, bufferLowWaterBytes: 32 << 10 });
    try {
      const start = await source.head();
      // A backlog of ~40 MB of binlog: 20 transactions of 10,000 rows.
      for (let t = 0; t < 20; t++) {
        await db.rootQuery(`USE shop; INSERT INTO shop.big SELECT ${t * 10_000} + seq, REPEAT('p', 200) FROM seq_1_to_10000`);
      }
      const head = await source.head();
      expect(head.pos - start.pos).toBeGreaterThan(30 << 20);

      const ac = new AbortController();
      const it = eachEvent(source.read({ from: { kind: 'position', position: start }, until: head, signal: ac.signal }))[Symbol.asyncIterator]();
      await it.next();
      // The consumer is busy: nothing is pulled, but the socket keeps delivering until paused.
      await waitFor(() => source.stats()!.maxBufferedBytes > high, { what: 'the buffer to fill up to its high-water mark' });
      // Paused: over the next half second (a window in which nothing may happen) it does not grow.
      const samples: number[] = [];
      for (let i = 0; i < 5; i++) {
        await new Promise((r) => setTimeout(r, 100));
        samples.push(source.stats()!.bufferedBytes);
      }
      const stats = source.stats()!;
      // One event (≤ ~8 KB here) may land after the high-water mark is crossed, plus what mysql2 had
      // already parsed from the socket chunk being processed when we paused.
      const bound = high + (256 << 10);
      expect(stats.maxBufferedBytes).toBeGreaterThan(high); // it did fill up to the mark …
      expect(stats.maxBufferedBytes).toBeLessThan(bound); // … and no further
      expect(Math.max(...samples)).toBeLessThan(bound);
      expect(samples.at(-1)).toBe(samples[0]); // paused: not growing

      let rows = 1;
      let commits = 0;
      for (;;) {
        const r = await it.next();
        if (r.done) break;
        const e: SourceStreamEvent = r.value;
        if (e.kind === 'change') rows++;
        if (e.kind === 'commit') commits++;
      }
      expect(rows).toBe(200_000);
      expect(commits).toBe(20);
      expect(source.stats()!.maxBufferedBytes).toBeLessThan(bound);
    } finally {
      await source.close();
    }
  });

  it('fails with SOURCE_POSITION_PURGED (not retried) when the position is no longer on the server', async () => {
    const source = new MySqlSource({ ...db.endpoint(), serverId: 2502, include: ['shop.*'], exclude: [], reconnect: { initialMs: 50, maxMs: 100, factor: 2 } });
    try {
      const old = await source.head();
      await db.rootQuery(`INSERT INTO shop.big VALUES (900001, 'x'); FLUSH BINARY LOGS; FLUSH BINARY LOGS;`);
      const current = await source.head();
      // The server keeps files a dump thread is reading: the first test's reader must be gone.
      let dumps = -1;
      for (let i = 0; i < 50 && dumps !== 0; i++) {
        const rows = (await db.rootQuery(`SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'`)) as { n: number }[];
        dumps = Number(rows[0]!.n);
        if (dumps !== 0) await new Promise((r) => setTimeout(r, 100));
      }
      expect(dumps).toBe(0);
      // MariaDB also keeps a file until its binlog checkpoint has moved on (InnoDB flushed): retry.
      let earliest = await source.earliest();
      for (let i = 0; i < 50 && earliest.file !== current.file; i++) {
        await db.rootQuery(`PURGE BINARY LOGS TO '${current.file}'`);
        earliest = await source.earliest();
        if (earliest.file !== current.file) await new Promise((r) => setTimeout(r, 100));
      }
      expect(earliest).toEqual({ file: current.file, pos: 4 });

      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(), 15_000);
      const err = await (async () => {
        for await (const _ of eachEvent(source.read({ from: { kind: 'position', position: old }, signal: ac.signal }))) {
          // nothing can arrive
        }
      })().catch((e: unknown) => e);
      clearTimeout(timer);
      expect(ac.signal.aborted).toBe(false);
      expect(err).toBeInstanceOf(SourceError);
      const e = err as SourceError;
      expect(e.code).toBe('SOURCE_POSITION_PURGED');
      expect(e.retriable).toBe(false);
      expect(e.message).toContain(`${old.file}:${old.pos}`);
      expect(e.message).toContain(`oldest binlog position still on the server is ${current.file}:4`);
      expect(e.message).toMatch(/--reset-to/);
      expect(source.stats()!.reconnects).toBe(0);
    } finally {
      await source.close();
    }
  });
});
