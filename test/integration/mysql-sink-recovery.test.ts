/**
 * A target crash in the middle of the stream: applyBatch keeps retrying (one log line per retry) while
 * the server is down and succeeds by itself once it is back, on fresh connections.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { LocalMariaDb } from '../../src/local/mariadb-server.js';
import type { Mutation, Row, TableKeys } from '../../src/core/event.js';
import { TargetError } from '../../src/core/errors.js';
import { mutationRowId } from '../../src/core/key.js';
import { MySqlCheckpointStore, MySqlSink } from '../../connectors/mysql-sink/index.js';
import { waitFor } from '../support/wait-for.js';
import { captureLogs } from '../support/log-capture.js';

const T: TableKeys = { table: { schema: 'app', name: 't' }, primaryKey: ['id'], uniqueKeys: [] };
const upsert = (row: Row): Mutation => ({ op: 'upsert', table: T.table, keys: T, key: [row.id ?? null], rowId: mutationRowId({ table: T.table, key: [row.id ?? null] }), row, uniqueTokens: [], txSeq: 1, timestampMs: 0, bytes: 100, oldKey: null, txStart: { file: 'mysql-bin.000001', pos: 4 }, index: 0 });

let target: LocalMariaDb;
const { lines, logger } = captureLogs('warn');

beforeAll(async () => {
  target = await LocalMariaDb.start({ label: 'sink-recovery', serverId: 22, binlog: false });
  await target.rootQuery('CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB;');
});

afterAll(async () => {
  await target?.stop();
});

/** Retry log lines so far (one per failed attempt). */
function retries(): number {
  return lines.filter((l) => /retrying/.test(l.msg)).length;
}

async function count(): Promise<number> {
  const c = await mysql.createConnection(target.endpoint());
  try {
    const [rows] = await c.query('SELECT COUNT(*) AS n FROM app.t');
    return (rows as { n: number }[])[0]!.n;
  } finally {
    await c.end();
  }
}

it('retries while the target is killed and succeeds after it restarts', async () => {
  const sink = new MySqlSink({ ...target.endpoint(), poolSize: 2, logger, retry: { initialMs: 50, maxMs: 400, factor: 2 }, connectTimeoutMs: 2000 });
  try {
    await sink.applyBatch([upsert({ id: 1, v: 'before' })]);
    await target.kill();

    let settled = false;
    const retriesBefore = retries();
    const pending = sink.applyBatch([upsert({ id: 2, v: 'during' }), upsert({ id: 3, v: 'during' })]).finally(() => {
      settled = true;
    });
    // Backoff is capped at maxMs (400 ms): three retries come within a few seconds.
    await waitFor(() => retries() >= retriesBefore + 3, { what: 'three retries while the target is down', timeoutMs: 10_000 });
    expect(settled).toBe(false);
    expect(lines.at(-1)?.msg).toMatch(/ECONNREFUSED|PROTOCOL_CONNECTION_LOST|ECONNRESET/);

    await target.restart();
    await pending;
    expect(await count()).toBe(3);
    // The pool keeps working after recovery.
    await sink.applyBatch([upsert({ id: 4, v: 'after' })]);
    expect(await count()).toBe(4);
  } finally {
    await sink.close();
  }
});

it('close() ends a retry loop with a retriable TARGET_CONNECTION error', async () => {
  const sink = new MySqlSink({ ...target.endpoint(), poolSize: 1, logger, retry: { initialMs: 50, maxMs: 200, factor: 2 }, connectTimeoutMs: 2000 });
  await target.kill();
  try {
    const retriesBefore = retries();
    const pending = sink.applyBatch([upsert({ id: 9, v: 'never' })]).catch((e: unknown) => e);
    await waitFor(() => retries() > retriesBefore, { what: 'the apply to be retrying' });
    await sink.close();
    const err = await pending;
    expect(err).toBeInstanceOf(TargetError);
    expect((err as TargetError).code).toBe('TARGET_CONNECTION');
    expect((err as TargetError).retriable).toBe(true);
  } finally {
    await target.restart();
  }
  expect(await count()).toBe(4);
});

it('the checkpoint store also rides out a target restart', async () => {
  const store = new MySqlCheckpointStore({ ...target.endpoint(), logger, retry: { initialMs: 50, maxMs: 400, factor: 2 }, connectTimeoutMs: 2000 });
  try {
    await store.save('p', { position: { file: 'mysql-bin.000001', pos: 4 }, sourceTimestampMs: 1 });
    await target.kill();
    const retriesBefore = retries();
    const saving = store.save('p', { position: { file: 'mysql-bin.000002', pos: 1234 }, sourceTimestampMs: 2 });
    await waitFor(() => retries() > retriesBefore, { what: 'the save to be retrying' });
    await target.restart();
    await saving;
    expect(await store.load('p')).toEqual({ position: { file: 'mysql-bin.000002', pos: 1234 }, sourceTimestampMs: 2 });
  } finally {
    await store.close();
  }
});
