// Self-tests of the test harness: the servers it starts, the digest that every replication test relies
// on (it must see a one-byte difference anywhere), and the determinism of the workload.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServerPair, startSingleServer, type ServerPair, type TestServer } from '../support/servers.js';
import { assertSameData, databaseDigest, tableDigest } from '../support/digest.js';
import { createWorkloadSchema, runWorkload, WORKLOAD_TABLES } from '../support/workload.js';

const DB = 'harness_digest';

const SCHEMA = `CREATE TABLE ${DB}.t (
  id INT NOT NULL PRIMARY KEY,
  b BLOB NULL,
  s VARCHAR(20) NULL,
  ts TIMESTAMP(6) NULL DEFAULT NULL,
  f FLOAT NULL,
  d DOUBLE NULL,
  n DECIMAL(30,10) NULL,
  bits BIT(13) NULL,
  j JSON NULL,
  u BIGINT UNSIGNED NULL
)`;

// The same rows go to both servers; each test then changes the target and expects to see it.
const ROWS = `INSERT INTO ${DB}.t VALUES
  (1, X'00010203', '', '2024-03-31 01:30:00.000001', 0.1, 0.30000000000000004, -12345678901234567890.0123456789, b'1010101010101', '{"a": [1, 2.5, null]}', 18446744073709551615),
  (2, X'DEADBEEF00FF', 'héllo 🚀', '1970-01-01 00:00:01.000000', -3.4e38, 5e-324, 0.0000000001, b'0', '{}', 9007199254740993),
  (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`;

let pair: ServerPair;
let source: TestServer;
let target: TestServer;

async function reset(): Promise<void> {
  for (const s of [source, target]) {
    await s.query(`DROP DATABASE IF EXISTS ${DB}`);
    await s.query(`CREATE DATABASE ${DB}`);
    await s.query(SCHEMA);
    await s.query(`SET time_zone = '+00:00'; ${ROWS}`);
  }
}

async function expectDifference(pattern: RegExp): Promise<void> {
  const [a, b] = await Promise.all([tableDigest(source, `${DB}.t`), tableDigest(target, `${DB}.t`)]);
  expect(b.digest).not.toBe(a.digest);
  await expect(assertSameData(source, target, DB)).rejects.toThrow(pattern);
}

beforeAll(async () => {
  pair = await startServerPair();
  source = pair.source;
  target = pair.target;
});

afterAll(async () => {
  await pair?.stop();
});

describe('servers', () => {
  it('source logs full row images with metadata; target has no binlog', async () => {
    const [s] = await source.query<Record<string, unknown>>(
      'SELECT @@log_bin AS log_bin, @@binlog_format AS fmt, @@binlog_row_image AS img, @@binlog_row_metadata AS meta, @@server_id AS id',
    );
    expect(s).toMatchObject({ log_bin: 1, fmt: 'ROW', img: 'FULL', meta: 'FULL' });
    if (pair.mode !== 'env') {
      const [t] = await target.query<Record<string, unknown>>('SELECT @@log_bin AS log_bin, @@server_id AS id');
      expect(t?.log_bin).toBe(0);
      expect(t?.id).not.toBe(s?.id);
    }
  });

  it('endpoint user has ALL PRIVILEGES over TCP, root works', async () => {
    const grants = await source.query<Record<string, string>>('SHOW GRANTS');
    expect(Object.values(grants[0] ?? {}).join(' ')).toMatch(/GRANT ALL PRIVILEGES ON \*\.\*/);
    await expect(source.rootQuery('SELECT 1 AS one')).resolves.toBeDefined();
  });

  it('kill and restart keep committed data', async (ctx) => {
    if (!source.supports.kill) ctx.skip();
    await source.query('CREATE DATABASE IF NOT EXISTS harness_kill');
    await source.query('CREATE TABLE IF NOT EXISTS harness_kill.k (id INT PRIMARY KEY)');
    await source.query('INSERT INTO harness_kill.k VALUES (1), (2), (3)');
    await source.kill();
    await expect(source.query('SELECT 1')).rejects.toThrow();
    await source.restart();
    const rows = await source.query<{ n: number }>('SELECT COUNT(*) AS n FROM harness_kill.k');
    expect(Number(rows[0]?.n)).toBe(3);
    await source.query('DROP DATABASE harness_kill');
  });

  it('a frozen server keeps the connection open but does not answer', async (ctx) => {
    if (!target.supports.freeze) ctx.skip();
    const c = await target.connect();
    try {
      await target.freeze();
      await expect(c.query({ sql: 'SELECT 1', timeout: 800 })).rejects.toThrow(/timeout/i);
    } finally {
      await target.thaw();
      c.destroy();
    }
    await expect(target.query('SELECT 1 AS one')).resolves.toEqual([{ one: 1 }]);
  });

  it('unsupported operations throw a clear error', async (ctx) => {
    if (source.supports.kill) ctx.skip();
    await expect(source.kill()).rejects.toThrow(/not supported/);
  });

  it('startSingleServer: one server with custom arguments', async (ctx) => {
    if (!source.supports.serverArgs) ctx.skip();
    const one = await startSingleServer({ label: 'single', binlog: false, extraArgs: ['--max-connections=77'] });
    try {
      const [r] = await one.query<Record<string, unknown>>('SELECT @@log_bin AS log_bin, @@max_connections AS mc');
      expect(r).toMatchObject({ log_bin: 0, mc: 77 });
    } finally {
      await one.stop();
    }
  });
});

describe('digest', () => {
  beforeAll(reset);

  it('equal data gives equal digests, for every type', async () => {
    const [a, b] = await Promise.all([databaseDigest(source, DB), databaseDigest(target, DB)]);
    expect([...a.keys()]).toEqual(['t']);
    expect(a.get('t')?.rows).toBe(3);
    expect(b).toEqual(a);
    await assertSameData(source, target, [DB]);
  });

  it('sees one byte changed in a BLOB', async () => {
    await reset();
    await target.query(`UPDATE ${DB}.t SET b = X'DEADBEEF00FE' WHERE id = 2`);
    await expectDifference(/harness_digest\.t: source 3 rows, target 3 rows.*key \(id=2\)[\s\S]*b: source 0xDEADBEEF00FF \(6 bytes\) \| target 0xDEADBEEF00FE/);
  });

  it("sees NULL vs ''", async () => {
    await reset();
    await target.query(`UPDATE ${DB}.t SET s = NULL WHERE id = 1`);
    await expectDifference(/key \(id=1\)[\s\S]*s: source "" \| target NULL/);
  });

  it('sees a TIMESTAMP one microsecond off, and ignores the session and server time zones', async () => {
    await reset();
    await target.query(`SET time_zone = '+00:00'; UPDATE ${DB}.t SET ts = '2024-03-31 01:30:00.000002' WHERE id = 1`);
    await expectDifference(/ts: source 2024-03-31 01:30:00\.000001 \| target 2024-03-31 01:30:00\.000002/);

    // The same instant written in another time zone is the same data.
    await target.query(`SET time_zone = '+05:30'; UPDATE ${DB}.t SET ts = '2024-03-31 07:00:00.000001' WHERE id = 1`);
    await target.query(`SET GLOBAL time_zone = '-07:00'`).catch(() => undefined);
    try {
      await assertSameData(source, target, DB);
    } finally {
      await target.query(`SET GLOBAL time_zone = 'SYSTEM'`).catch(() => undefined);
    }
  });

  it('sees a missing row and an extra row', async () => {
    await reset();
    await target.query(`DELETE FROM ${DB}.t WHERE id = 3`);
    await expectDifference(/source 3 rows, target 2 rows \(1 missing on target, 0 extra on target, 0 changed\)[\s\S]*id=3[\s\S]*row only on source/);
    await reset();
    await target.query(`INSERT INTO ${DB}.t (id) VALUES (4)`);
    await expectDifference(/target 4 rows \(0 missing on target, 1 extra on target[\s\S]*row only on target/);
  });

  it('sees the last bit of a DOUBLE and of a FLOAT, a DECIMAL digit, a BIT, JSON text and a big BIGINT', async () => {
    const cases: [string, RegExp][] = [
      [`UPDATE ${DB}.t SET d = 0.30000000000000010 WHERE id = 1`, /d: source 0\.30000000000000004 \| target 0\.3000000000000001/],
      [`UPDATE ${DB}.t SET f = f + 1e-8 WHERE id = 1`, /f: source 0\.10000000149011612 \| target 0\.10000000894069672/],
      [`UPDATE ${DB}.t SET n = n - 0.0000000001 WHERE id = 1`, /n: source -12345678901234567890\.0123456789 \| target -12345678901234567890\.0123456790/],
      [`UPDATE ${DB}.t SET bits = b'1010101010100' WHERE id = 1`, /bits: source 5461 \| target 5460/],
      [`UPDATE ${DB}.t SET j = '{"a":[1,2.5,null]}' WHERE id = 1`, /j: source "\{\\"a\\": \[1, 2\.5, null\]\}" \| target "\{\\"a\\":\[1,2\.5,null\]\}"/],
      [`UPDATE ${DB}.t SET u = u - 1 WHERE id = 2`, /u: source 9007199254740993 \| target 9007199254740992/],
    ];
    for (const [sql, pattern] of cases) {
      await reset();
      await target.query(sql);
      await expectDifference(pattern);
    }
  });

  it('reports a missing table and different columns', async () => {
    await reset();
    await target.query(`ALTER TABLE ${DB}.t ADD COLUMN extra INT NULL`);
    await source.query(`CREATE TABLE ${DB}.only_source (id INT PRIMARY KEY)`);
    await expect(assertSameData(source, target, DB)).rejects.toThrow(
      /only_source: missing on the target[\s\S]*harness_digest\.t: .*columns differ/,
    );
  });
});

describe('workload', () => {
  const WL = 'harness_workload';

  it('is deterministic for a seed: the same transactions on two servers give the same data', async () => {
    for (const s of [source, target]) {
      const c = await s.connect();
      try {
        await createWorkloadSchema(c, WL);
      } finally {
        await c.end();
      }
    }
    const opts = { db: WL, transactions: 400, concurrency: 3, seed: 42 };
    const [a, b] = await Promise.all([runWorkload(source.endpoint(), opts), runWorkload(target.endpoint(), opts)]);
    const { durationMs: _da, retries: _ra, ...countsA } = a;
    const { durationMs: _db, retries: _rb, ...countsB } = b;
    expect(countsB).toEqual(countsA);
    expect(a.committed + a.rolledBack).toBe(400);
    for (const k of ['inserts', 'updates', 'keyChanges', 'deletes', 'swaps', 'rolledBack'] as const) {
      expect(a[k], k).toBeGreaterThan(0);
    }
    const digests = await databaseDigest(source, WL);
    expect([...digests.keys()].sort()).toEqual([...WORKLOAD_TABLES].sort());
    for (const d of digests.values()) expect(d.rows).toBeGreaterThan(0);
    await assertSameData(source, target, WL);

    // Another seed on the target only: now they differ.
    await runWorkload(target.endpoint(), { ...opts, transactions: 30, seed: 7 });
    await expect(assertSameData(source, target, WL)).rejects.toThrow(/harness_workload\.wl_/);
  });

  it('runs for a duration', async () => {
    const c = await source.connect();
    try {
      await createWorkloadSchema(c, 'harness_duration');
    } finally {
      await c.end();
    }
    const counts = await runWorkload(source.endpoint(), { db: 'harness_duration', durationMs: 500, concurrency: 2, seed: 3 });
    expect(counts.committed).toBeGreaterThan(0);
    expect(counts.durationMs).toBeGreaterThanOrEqual(500);
  });
});
