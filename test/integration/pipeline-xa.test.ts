/**
 * XA transactions as MariaDB's binlog records them: `XA PREPARE` writes the rows in a group of its own,
 * `XA COMMIT` / `XA ROLLBACK` come later (other transactions commit in between), `XA COMMIT … ONE
 * PHASE` is an ordinary group. The target must get a committed XA transaction's rows, never a rolled
 * back one's, and the checkpoint must keep moving for everything else, while it stays before a
 * prepared transaction until its outcome is known (so a restart in between loses nothing).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type mysql from 'mysql2/promise';
import { startServerPair, type ServerPair } from '../support/servers.js';
import { assertSameData } from '../support/digest.js';
import { startInProcess } from '../support/in-process.js';
import { sourceHead, storedCheckpoint } from '../support/pipeline-process.js';
import { comparePositions, type BinlogPosition } from '../../src/core/position.js';

const DB = 'xa';
let servers: ServerPair;

beforeAll(async () => {
  servers = await startServerPair();
  for (const s of [servers.source, servers.target]) {
    await s.query(`CREATE DATABASE ${DB}`);
    await s.query(`CREATE TABLE ${DB}.t (id INT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB`);
    await s.query(`CREATE TABLE ${DB}.other (id INT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB`);
  }
});

afterAll(async () => {
  await servers?.stop();
});

async function session<T>(fn: (c: mysql.Connection) => Promise<T>): Promise<T> {
  const c = await servers.source.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Prepares an XA transaction in its own session (a prepared XA outlives the session that made it). */
async function prepare(xid: string, rows: [number, number][]): Promise<BinlogPosition> {
  const before = await sourceHead(servers.source.endpoint());
  await session(async (c) => {
    await c.query(`XA START ${xid}`);
    for (const [id, v] of rows) await c.query(`INSERT INTO ${DB}.t VALUES (?, ?) ON DUPLICATE KEY UPDATE v = VALUES(v)`, [id, v]);
    await c.query(`XA END ${xid}`);
    await c.query(`XA PREPARE ${xid}`);
  });
  return before;
}

describe('XA transactions', () => {
  it('applies XA COMMIT, drops XA ROLLBACK, handles ONE PHASE, and keeps the checkpoint moving', async () => {
    const running = await startInProcess(servers.source, servers.target, { PIPELINE_NAME: 'xa-flow', SYNC_DB: DB, START: 'latest' });
    try {
      await running.pipeline;
      await prepare("'a1'", [[1, 10], [2, 20]]);
      await servers.source.query(`INSERT INTO ${DB}.other VALUES (1, 1)`);
      await prepare("'b2','q',7", [[3, 30]]);
      await session((c) => c.query(`XA COMMIT 'a1'`));
      await session((c) => c.query(`XA ROLLBACK 'b2','q',7`));
      await session(async (c) => {
        await c.query(`XA START 'c3'`);
        await c.query(`INSERT INTO ${DB}.t VALUES (4, 40)`);
        await c.query(`XA END 'c3'`);
        await c.query(`XA COMMIT 'c3' ONE PHASE`);
      });
      // A second transaction on a committed XA's rows: order must hold.
      await servers.source.query(`UPDATE ${DB}.t SET v = v + 1 WHERE id IN (1, 4)`);
      await running.caughtUp(30_000);
      expect(await servers.target.query(`SELECT id, v FROM ${DB}.t ORDER BY id`)).toEqual([
        { id: 1, v: 11 },
        { id: 2, v: 20 },
        { id: 4, v: 41 },
      ]);
      await assertSameData(servers.source, servers.target, DB);
    } finally {
      await running.stop();
    }
  });

  it('keeps the checkpoint before a prepared transaction, so a restart before its XA COMMIT loses nothing', async () => {
    const name = 'xa-restart';
    let running = await startInProcess(servers.source, servers.target, { PIPELINE_NAME: name, SYNC_DB: DB, START: 'latest', CHECKPOINT_INTERVAL_MS: '100' });
    let prepareStart: BinlogPosition;
    try {
      await running.pipeline;
      prepareStart = await prepare("'r1'", [[10, 100], [11, 110]]);
      // Later transactions commit and are applied while r1 is prepared.
      for (let i = 0; i < 20; i++) await servers.source.query(`INSERT INTO ${DB}.other VALUES (?, 0) ON DUPLICATE KEY UPDATE v = v + 1`, [100 + i]);
      await waitForOtherRows(20);
    } finally {
      await running.stop();
    }
    const cp = await storedCheckpoint(servers.target.endpoint(), name);
    expect(cp).not.toBeNull();
    expect(comparePositions(cp!, prepareStart)).toBeLessThanOrEqual(0);

    // The prepared rows are not on the target; XA COMMIT happens while the pipeline is down.
    expect(await servers.target.query(`SELECT id FROM ${DB}.t WHERE id IN (10, 11)`)).toEqual([]);
    await session((c) => c.query(`XA COMMIT 'r1'`));
    running = await startInProcess(servers.source, servers.target, { PIPELINE_NAME: name, SYNC_DB: DB, START: 'latest' });
    try {
      await running.pipeline;
      await running.caughtUp(30_000);
      expect(await servers.target.query(`SELECT id, v FROM ${DB}.t WHERE id IN (10, 11) ORDER BY id`)).toEqual([
        { id: 10, v: 100 },
        { id: 11, v: 110 },
      ]);
      await assertSameData(servers.source, servers.target, DB);
    } finally {
      await running.stop();
    }
    const final = await storedCheckpoint(servers.target.endpoint(), name);
    expect(final).toEqual(await sourceHead(servers.source.endpoint()));
  });

  it('restarts at a checkpoint held by one prepared transaction after another one committed, skipping that one\'s XA COMMIT (found by the fuzzer)', async () => {
    const name = 'xa-two-held';
    let running = await startInProcess(servers.source, servers.target, { PIPELINE_NAME: name, SYNC_DB: DB, START: 'latest', CHECKPOINT_INTERVAL_MS: '100' });
    let firstPrepare: BinlogPosition;
    let secondPrepare: BinlogPosition;
    try {
      await running.pipeline;
      firstPrepare = await prepare("'h1'", [[30, 300]]);
      secondPrepare = await prepare("'h2'", [[31, 310]]);
      // h1 commits and is applied; h2 still holds the checkpoint at its PREPARE, after h1's PREPARE.
      await session((c) => c.query(`XA COMMIT 'h1'`));
      for (let i = 0; i < 20; i++) await servers.source.query(`INSERT INTO ${DB}.other VALUES (?, 0) ON DUPLICATE KEY UPDATE v = v + 1`, [200 + i]);
      await waitForOtherRows(20, 200);
    } finally {
      await running.stop();
    }
    const cp = await storedCheckpoint(servers.target.endpoint(), name);
    expect(comparePositions(cp!, secondPrepare)).toBeLessThanOrEqual(0);
    expect(comparePositions(cp!, firstPrepare)).toBeGreaterThan(0);
    expect(await servers.target.query(`SELECT id, v FROM ${DB}.t WHERE id IN (30, 31) ORDER BY id`)).toEqual([{ id: 30, v: 300 }]);

    // The restart reads h1's XA COMMIT without its PREPARE: the checkpoint says it is applied.
    await session((c) => c.query(`XA COMMIT 'h2'`));
    running = await startInProcess(servers.source, servers.target, { PIPELINE_NAME: name, SYNC_DB: DB, START: 'latest' });
    try {
      await running.pipeline;
      await running.caughtUp(30_000);
      expect(await servers.target.query(`SELECT id, v FROM ${DB}.t WHERE id IN (30, 31) ORDER BY id`)).toEqual([
        { id: 30, v: 300 },
        { id: 31, v: 310 },
      ]);
      await assertSameData(servers.source, servers.target, DB);
    } finally {
      await running.stop();
    }
  });

  it('stops with SOURCE_XA when an XA COMMIT arrives whose XA PREPARE it never read', async () => {
    await prepare("'late1'", [[20, 200]]);
    const running = await startInProcess(servers.source, servers.target, { PIPELINE_NAME: 'xa-late', SYNC_DB: DB, START: 'latest' });
    await running.pipeline;
    await servers.source.query(`INSERT INTO ${DB}.other VALUES (500, 1)`);
    const beforeCommit = await sourceHead(servers.source.endpoint());
    await session((c) => c.query(`XA COMMIT 'late1'`));
    await expect(running.result).rejects.toMatchObject({ code: 'SOURCE_XA' });
    await expect(running.result).rejects.toThrow(/never read its XA PREPARE/);
    // Everything before the XA COMMIT was applied and checkpointed; the checkpoint did not pass it.
    expect(await storedCheckpoint(servers.target.endpoint(), 'xa-late')).toEqual(beforeCommit);
    expect(await servers.target.query(`SELECT v FROM ${DB}.other WHERE id = 500`)).toEqual([{ v: 1 }]);
  });
});

async function waitForOtherRows(n: number, from = 100): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const [row] = await servers.target.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${DB}.other WHERE id >= ?`, [from]);
    if (Number(row!.n) >= n) return;
    if (Date.now() > deadline) throw new Error(`target has ${row!.n} of ${n} rows`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
