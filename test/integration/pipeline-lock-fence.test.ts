/**
 * The write fence, end to end: the daemon's pipeline lock connection is killed on the target (KILL)
 * while a proxy in front of the target refuses new connections, so the lock cannot be taken again for a
 * while but the sink's and the checkpoint store's pooled connections still work. Nothing may be applied
 * or checkpointed then. If nobody else takes the lock, writes resume once it is back; if another
 * connection takes it meanwhile, the daemon stops with PIPELINE_LOCKED, having written nothing more.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BinlogSyncError } from '../../src/core/errors.js';
import { comparePositions } from '../../src/core/position.js';
import type { Pipeline } from '../../src/core/pipeline.js';
import { startServerPair, type ServerPair } from '../support/servers.js';
import { assertSameData } from '../support/digest.js';
import { startInProcess, type RunningPipeline } from '../support/in-process.js';
import { sourceHead, storedCheckpoint } from '../support/pipeline-process.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { waitFor, within } from '../support/wait-for.js';
import { captureLogs } from '../support/log-capture.js';

const DB = 'fence';
let servers: ServerPair;

beforeAll(async () => {
  servers = await startServerPair();
  for (const s of [servers.source, servers.target]) {
    await s.query(`CREATE DATABASE ${DB}`);
    await s.query(`CREATE TABLE ${DB}.t (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)`);
  }
});

afterAll(async () => {
  await servers?.stop();
});

async function lockHolder(pipeline: string): Promise<number | null> {
  const [row] = await servers.target.query<{ id: number | null }>('SELECT IS_USED_LOCK(?) AS id', [`binlog-sync:${pipeline}`]);
  return row?.id === null || row?.id === undefined ? null : Number(row.id);
}

async function targetRow(id: number): Promise<{ v: string } | undefined> {
  return (await servers.target.query<{ v: string }>(`SELECT v FROM ${DB}.t WHERE id = ?`, [id]))[0];
}

/**
 * Waits until the daemon has read everything on the source and handed it to the sink, and then until
 * the lock was tried twice more: by then an unfenced sink would long have written it.
 */
async function waitForWriteChance(pipeline: Pipeline, proxy: TcpProxy): Promise<void> {
  const head = await sourceHead(servers.source.endpoint());
  await waitFor(
    () => {
      const s = pipeline.stats();
      return s.lastReadPosition !== null && comparePositions(s.lastReadPosition, head) >= 0 && s.queued === 0;
    },
    { what: 'the daemon to read the new change and hand it to the sink' },
  );
  const refused = proxy.refused;
  await waitFor(() => proxy.refused >= refused + 2, { what: 'two more attempts to take the pipeline lock again' });
}

/** The error the daemon stopped with (null if it stopped cleanly); fails if it does not stop. */
function stopError(running: RunningPipeline): Promise<unknown> {
  const ended = running.result.then(
    () => null,
    (e: unknown) => e,
  );
  return within(ended, { what: 'the daemon to stop', timeoutMs: 60_000 });
}

describe('write fence', () => {
  it('while the lock is being taken again, nothing is applied or checkpointed; once it is back, writes resume', async () => {
    const proxy = await startTcpProxy(servers.target.endpoint());
    const { lines, logger } = captureLogs();
    const name = 'fence-loss';
    const running = await startInProcess(servers.source, servers.target, { PIPELINE_NAME: name, SYNC_DB: DB, TARGET_PORT: String(proxy.endpoint.port) }, { logger });
    try {
      const pipeline = await running.pipeline;
      await servers.source.query(`INSERT INTO ${DB}.t VALUES (1, 'before')`);
      await running.caughtUp();
      const checkpoint = await storedCheckpoint(servers.target.endpoint(), name);
      const applied = pipeline.stats().mutationsApplied;
      const holder = await lockHolder(name);
      expect(holder).not.toBeNull();

      proxy.refuseNew();
      await servers.target.query(`KILL ${holder}`);
      await servers.source.query(`INSERT INTO ${DB}.t VALUES (2, 'while lost')`);
      await waitForWriteChance(pipeline, proxy);
      expect(await targetRow(2)).toBeUndefined();
      expect(pipeline.stats().mutationsApplied).toBe(applied);
      expect(await storedCheckpoint(servers.target.endpoint(), name)).toEqual(checkpoint);
      expect(await lockHolder(name)).toBeNull();
      // Every failed attempt is logged with its error.
      const failures = lines.filter((l) => /attempt \d+ to take it again failed/.test(l.msg));
      expect(failures.length).toBeGreaterThanOrEqual(2);
      expect(failures.map((l) => l.attempt)).toEqual(failures.map((_, i) => i + 1));
      for (const f of failures) expect(f.err).toMatch(/ECONNRESET|PROTOCOL_CONNECTION_LOST|closed/);

      proxy.allowNew();
      await running.caughtUp();
      expect(await targetRow(2)).toEqual({ v: 'while lost' });
      expect(lines.some((l) => /^pipeline lock taken again after \d+ attempt\(s\): writes resume$/.test(l.msg))).toBe(true);
      const newHolder = await lockHolder(name);
      expect(newHolder).not.toBeNull();
      expect(newHolder).not.toBe(holder);
      await running.stop();
      await assertSameData(servers.source, servers.target, DB);
    } finally {
      await running.stop().catch(() => undefined);
      await proxy.close();
    }
  });

  it('when another connection takes the lock meanwhile, nothing more is written and the daemon stops with PIPELINE_LOCKED', async () => {
    const proxy = await startTcpProxy(servers.target.endpoint());
    const { lines, logger } = captureLogs();
    const name = 'fence-takeover';
    const running = await startInProcess(servers.source, servers.target, { PIPELINE_NAME: name, SYNC_DB: DB, TARGET_PORT: String(proxy.endpoint.port) }, { logger });
    const thief = await servers.target.connect();
    try {
      const pipeline = await running.pipeline;
      await servers.source.query(`INSERT INTO ${DB}.t VALUES (10, 'before')`);
      await running.caughtUp();
      const checkpoint = await storedCheckpoint(servers.target.endpoint(), name);
      const holder = await lockHolder(name);

      proxy.refuseNew();
      await servers.target.query(`KILL ${holder}`);
      // Waits until the server has released the killed connection's lock, then holds it.
      const [rows] = await thief.query('SELECT GET_LOCK(?, 10) AS got, CONNECTION_ID() AS id', [`binlog-sync:${name}`]);
      const { got, id: thiefId } = (rows as { got: number; id: number }[])[0]!;
      expect(got).toBe(1);
      await servers.source.query(`INSERT INTO ${DB}.t VALUES (11, 'not ours')`);
      await waitForWriteChance(pipeline, proxy);
      expect(await targetRow(11)).toBeUndefined();
      expect(await storedCheckpoint(servers.target.endpoint(), name)).toEqual(checkpoint);

      proxy.allowNew();
      const err = await stopError(running);
      expect(err).toBeInstanceOf(BinlogSyncError);
      expect((err as BinlogSyncError).code).toBe('PIPELINE_LOCKED');
      expect((err as BinlogSyncError).message).toContain(`held by connection ${thiefId}`);
      expect(await targetRow(11)).toBeUndefined();
      expect(await storedCheckpoint(servers.target.endpoint(), name)).toEqual(checkpoint);
      expect(
        lines.some((l) => l.level === 50 && /to take it again failed \(pipeline "fence-takeover" is already running: .* \[PIPELINE_LOCKED\]\): not retriable, stopping$/.test(l.msg)),
      ).toBe(true);
    } finally {
      await running.stop().catch(() => undefined);
      await thief.end().catch(() => thief.destroy());
      await proxy.close();
    }
  });

  it('when the lock cannot be taken again for a reason retrying cannot fix, the daemon stops with that error', async () => {
    // A target user of its own, whose password changes while the lock is lost: access denied is final.
    await servers.target.query("CREATE USER 'fence'@'%' IDENTIFIED BY 'first'; GRANT ALL PRIVILEGES ON *.* TO 'fence'@'%'");
    const proxy = await startTcpProxy(servers.target.endpoint());
    const { lines, logger } = captureLogs();
    const name = 'fence-denied';
    const vars = { PIPELINE_NAME: name, SYNC_DB: DB, TARGET_PORT: String(proxy.endpoint.port), TARGET_USER: 'fence', TARGET_PASSWORD: 'first' };
    const running = await startInProcess(servers.source, servers.target, vars, { logger });
    try {
      await running.pipeline;
      await servers.source.query(`INSERT INTO ${DB}.t VALUES (20, 'before')`);
      await running.caughtUp();
      proxy.refuseNew();
      await servers.target.query(`KILL ${await lockHolder(name)}`);
      await servers.target.query("ALTER USER 'fence'@'%' IDENTIFIED BY 'second'");
      const refused = proxy.refused;
      await waitFor(() => proxy.refused > refused, { what: 'an attempt to take the lock again' });
      proxy.allowNew();
      const err = await stopError(running);
      expect(err).toBeInstanceOf(BinlogSyncError);
      expect((err as BinlogSyncError).code).toBe('TARGET_CONNECTION');
      expect((err as BinlogSyncError).message).toMatch(/Access denied/);
      const last = lines.filter((l) => /to take it again failed/.test(l.msg));
      expect(last.at(-1)?.msg).toMatch(/Access denied.*: not retriable, stopping/);
      expect(last.slice(0, -1).every((l) => /retrying in \d+ ms/.test(l.msg))).toBe(true);
    } finally {
      await running.stop().catch(() => undefined);
      await proxy.close();
      await servers.target.query("DROP USER 'fence'@'%'");
    }
  });
});
