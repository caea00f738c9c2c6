/**
 * The checkpoint is bound to the source's identity (server_id + gtid_domain_id on MariaDB) and its GTID
 * position. Pointed at another server, the pipeline continues there only by that GTID position, and
 * only when the server holds exactly the transactions up to it; otherwise it refuses to start.
 *
 * A primary (A) with a native replica (B: GTID replication, log_slave_updates, gtid_strict_mode) and the
 * pipeline's target (T). Counters are incremented by statement-format UPDATEs run on the target as
 * statements (source.statementEvents: apply), so a transaction applied twice, or skipped, shows in the
 * counters and in the digest against the new primary.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServerPair, startSingleServer, type ServerPair, type TestServer } from '../support/servers.js';
import { assertSameData, databaseDigest } from '../support/digest.js';
import { startInProcess } from '../support/in-process.js';
import { captureLogs } from '../support/log-capture.js';
import { killStartedClis, pipelineEnv, runCli, sourceHead, startCli, storedCheckpoint, TEST_PIPELINE, waitForCatchUp } from '../support/pipeline-process.js';
import { waitFor } from '../support/wait-for.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { comparePositions } from '../../src/core/position.js';
import { sameGtidPosition } from '../../src/core/gtid-position.js';

/** What a server that may take over needs: its own binlog of what it replicates, in GTID order. */
const GTID_ARGS = ['--log-slave-updates', '--gtid-strict-mode=1'];
const COUNTERS = 5;

let servers: ServerPair;
let primary: TestServer;
let target: TestServer;
let replica: TestServer;
let unrelated: TestServer;
const others: TestServer[] = [];
const dir = mkdtempSync(join(tmpdir(), 'binlog-sync-identity-'));

async function one<T>(server: TestServer, sql: string, params: readonly unknown[] = []): Promise<T> {
  return (await server.query<Record<string, unknown>>(sql, params))[0] as T;
}

async function serverId(server: TestServer): Promise<number> {
  return Number((await one<{ id: number }>(server, 'SELECT @@server_id AS id')).id);
}

interface CheckpointRow {
  binlog_file: string;
  binlog_pos: number;
  source_server_id: number | null;
  source_domain_id: number | null;
  source_server_uuid: string | null;
  gtid_pos: string | null;
}

async function checkpointRow(pipeline: string): Promise<CheckpointRow | undefined> {
  return one<CheckpointRow | undefined>(
    target,
    'SELECT binlog_file, binlog_pos, source_server_id, source_domain_id, source_server_uuid, gtid_pos FROM _binlog_sync.checkpoints WHERE pipeline = ?',
    [pipeline],
  );
}

async function createSchema(db: string, on: readonly TestServer[]): Promise<void> {
  for (const s of on) {
    await s.query(`CREATE DATABASE ${db}`);
    await s.query(`CREATE TABLE ${db}.items (id INT PRIMARY KEY, v VARCHAR(40) NOT NULL, n INT NOT NULL)`);
    await s.query(`CREATE TABLE ${db}.counters (id INT PRIMARY KEY, n BIGINT NOT NULL)`);
  }
}

/**
 * Writes on `server`: rows (inserts, updates, deletes) in ROW format, and a counter increment per
 * round, in STATEMENT format unless `rowsOnly`. Returns the next round number.
 */
async function writeRounds(server: TestServer, db: string, from: number, rounds: number, rowsOnly = false): Promise<number> {
  const rows = await server.connect();
  const statements = await server.connect();
  try {
    if (!rowsOnly) await statements.query("SET SESSION binlog_format = 'STATEMENT'");
    for (let i = from; i < from + rounds; i++) {
      await rows.query('BEGIN');
      await rows.query(`INSERT INTO ${db}.items VALUES (?, ?, 0)`, [i, `v${i}`]);
      await rows.query(`UPDATE ${db}.items SET n = n + 1, v = CONCAT(v, '+') WHERE id = ?`, [i - 1]);
      if (i % 4 === 0) await rows.query(`DELETE FROM ${db}.items WHERE id = ?`, [i - 3]);
      await rows.query('COMMIT');
      await statements.query(`UPDATE ${db}.counters SET n = n + 1 WHERE id = ${(i % COUNTERS) + 1}`);
    }
    return from + rounds;
  } finally {
    await Promise.all([rows.end(), statements.end()]);
  }
}

async function gtidBinlogPos(server: TestServer): Promise<string> {
  return String((await one<{ p: string }>(server, 'SELECT @@GLOBAL.gtid_binlog_pos AS p')).p);
}

beforeAll(async () => {
  servers = await startServerPair({ sourceArgs: GTID_ARGS });
  primary = servers.source;
  target = servers.target;
  replica = await startSingleServer({ label: 'replica', binlog: true, extraArgs: GTID_ARGS });
  // The replica's binlog holds only what it replicates (its own start-up GTIDs would conflict in strict mode).
  const a = primary.endpoint();
  await replica.query(
    `RESET MASTER; SET GLOBAL gtid_slave_pos = ''; CHANGE MASTER TO MASTER_HOST = '${a.host}', MASTER_PORT = ${a.port}, ` +
      `MASTER_USER = '${a.user}', MASTER_PASSWORD = '${a.password}', MASTER_USE_GTID = slave_pos; START SLAVE`,
  );
});

afterAll(async () => {
  killStartedClis();
  await Promise.allSettled([servers?.stop(), replica?.stop(), ...others.map((s) => s.stop())]);
  rmSync(dir, { recursive: true, force: true });
});

describe('a checkpoint bound to the source', () => {
  it('an old-format checkpoint row (no identity columns) keeps working and records the server at its next save', async () => {
    const db = 'legacy';
    await createSchema(db, [primary, target]);
    const start = await sourceHead(primary.endpoint());
    // The table as binlog-sync's first version created it, with a row it wrote.
    await target.query('CREATE DATABASE IF NOT EXISTS _binlog_sync');
    await target.query(`CREATE TABLE _binlog_sync.checkpoints (
      pipeline VARCHAR(191) NOT NULL PRIMARY KEY, binlog_file VARCHAR(255) NOT NULL, binlog_pos BIGINT UNSIGNED NOT NULL,
      gtid VARCHAR(255) NULL, source_ts_ms BIGINT NOT NULL, updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)) ENGINE=InnoDB`);
    await target.query('INSERT INTO _binlog_sync.checkpoints (pipeline, binlog_file, binlog_pos, gtid, source_ts_ms) VALUES (?, ?, ?, NULL, ?)', [db, start.file, start.pos, Date.now()]);
    await writeRounds(primary, db, 1, 20);

    const { lines, logger } = captureLogs();
    const running = await startInProcess(primary, target, { PIPELINE_NAME: db, SYNC_DB: db, STATEMENT_EVENTS: 'apply' }, { logger });
    await running.caughtUp();
    await running.stop();
    await assertSameData(primary, target, db);
    expect(lines.filter((l) => /does not say which server it belongs to/.test(l.msg)), 'logged once').toHaveLength(1);
    expect(lines.find((l) => l.msg === 'starting')).toMatchObject({ origin: 'checkpoint' });
    const row = await checkpointRow(db);
    expect(row).toMatchObject({ source_server_id: await serverId(primary), source_domain_id: 0, source_server_uuid: null });
    // The GTID position it recorded is the server's own at that place.
    const there = await one<{ p: string | null }>(primary, 'SELECT BINLOG_GTID_POS(?, ?) AS p', [row!.binlog_file, row!.binlog_pos]);
    expect(row!.gtid_pos).toBe(there.p);
    expect(row!.gtid_pos).toMatch(/^0-\d+-\d+$/);
  });

  it('continues on a promoted replica by the checkpoint\'s GTID position, with nothing skipped or applied twice', async () => {
    const db = 'failover';
    const name = 'failover';
    await createSchema(db, [primary, target]);
    const counters = Array.from({ length: COUNTERS }, (_, i) => `(${i + 1}, 0)`).join(',');
    await primary.query(`INSERT INTO ${db}.counters VALUES ${counters}`);
    await target.query(`INSERT INTO ${db}.counters VALUES ${counters}`);
    const env = { PIPELINE_NAME: name, SYNC_DB: db, STATEMENT_EVENTS: 'apply', START: 'latest' };
    // Servers number their binlog files each on their own. With the primary's ahead, every place in the
    // replica's binlog compares before the primary's: what the target recorded by the primary's
    // positions (the statements it ran) would hide the replica's changes if it were kept.
    await primary.query('FLUSH BINARY LOGS; FLUSH BINARY LOGS');

    // Sync from the primary under writes, and stop while it still writes.
    const onPrimary = await startInProcess(primary, target, env);
    const pipelineOnA = await onPrimary.pipeline; // started: `latest` is pinned
    let round = await writeRounds(primary, db, 1, 10);
    let writing = true;
    const writer = (async () => {
      while (writing) round = await writeRounds(primary, db, round, 5);
    })();
    await waitFor(() => (pipelineOnA.stats().statements >= 20 ? true : null), { what: 'the pipeline to apply 20 statements from the primary', timeoutMs: 60_000 });
    await onPrimary.stop();
    writing = false;
    await writer;
    round = await writeRounds(primary, db, round, 30); // the target has none of these
    const stored = await checkpointRow(name);
    const primaryId = await serverId(primary);
    expect(stored).toMatchObject({ source_server_id: primaryId, source_domain_id: 0 });
    expect(stored!.gtid_pos).toMatch(new RegExp(`^0-${primaryId}-\\d+$`));
    expect(await gtidBinlogPos(primary), 'the primary moved on after the pipeline stopped').not.toBe(stored!.gtid_pos);

    // The replica takes over: it has everything the primary wrote, the primary goes away, it is written to.
    const last = await gtidBinlogPos(primary);
    await waitFor(async () => (await gtidBinlogPos(replica)) === last, { what: `the replica to replicate up to ${last}`, timeoutMs: 60_000 });
    await primary.kill();
    await replica.query('STOP SLAVE; RESET SLAVE ALL');
    round = await writeRounds(replica, db, round, 25);

    const { lines, logger } = captureLogs();
    const onReplica = await startInProcess(replica, target, env, { logger });
    const replicaId = await serverId(replica);
    // Caught up: the checkpoint names the replica and its head (the primary's file names would compare after the replica's).
    const head = await sourceHead(replica.endpoint());
    const caughtUp = waitFor(
      async () => {
        const row = await checkpointRow(name);
        return row?.source_server_id === replicaId && comparePositions({ file: row.binlog_file, pos: row.binlog_pos }, head) >= 0;
      },
      { what: `the checkpoint to reach the new primary's head ${head.file}:${head.pos}`, timeoutMs: 90_000 },
    );
    await Promise.race([caughtUp, onReplica.result.then(() => Promise.reject(new Error('the pipeline ended before catching up')))]);
    await onReplica.stop();

    const moved = lines.find((l) => l.msg.startsWith('the source is another server'));
    expect(moved?.msg).toMatch(
      new RegExp(
        `^the source is another server: the checkpoint ${stored!.binlog_file}:${stored!.binlog_pos} of MariaDB server_id ${primaryId} \\(gtid_domain_id 0\\) is GTID position "${stored!.gtid_pos}", ` +
          `which MariaDB server_id ${replicaId} \\(gtid_domain_id 0\\) holds; continuing there at mysql-bin\\.\\d+:\\d+$`,
      ),
    );
    expect(lines.find((l) => l.msg === 'starting')).toMatchObject({ origin: 'moved' });
    // The place it continued at is the replica's own for that GTID position: exactly what the target had.
    const [file, pos] = String(moved!.position).split(':');
    expect((await one<{ p: string }>(replica, 'SELECT BINLOG_GTID_POS(?, ?) AS p', [file, Number(pos)])).p).toBe(stored!.gtid_pos);

    await assertSameData(replica, target, db, { source: 'new primary', target: 'target' });
    const total = await one<{ n: number }>(target, `SELECT SUM(n) AS n FROM ${db}.counters`);
    expect(Number(total.n), 'one increment per round, each applied once').toBe(round - 1);
    expect(await checkpointRow(name)).toMatchObject({ source_server_id: replicaId, source_domain_id: 0 });
  });

  it('refuses another server that does not hold the checkpoint\'s transactions, with the target and checkpoint untouched', async () => {
    const db = 'failover';
    const name = 'failover';
    const stored = (await checkpointRow(name))!;
    const replicaId = await serverId(replica);
    expect(stored.source_server_id).toBe(replicaId);

    // An unrelated server, and one that shares the replica's server_id: both with binlogs beyond the checkpoint's file:pos.
    unrelated = await startSingleServer({ label: 'unrelated', binlog: true });
    const twin = await startSingleServer({ label: 'twin', binlog: true, serverId: replicaId });
    others.push(unrelated, twin);
    for (const s of [unrelated, twin]) {
      await createSchema(db, [s]);
      // Many small transactions: the checkpoint's offset is likely an event boundary there too.
      // Written until its head passes the checkpoint's offset: how far that is depends on what the earlier tests wrote.
      let head = await sourceHead(s.endpoint());
      for (let i = 0; head.pos <= stored.binlog_pos && i < 400; i++) {
        await s.query(`INSERT INTO ${db}.items SELECT seq, REPEAT('x', 30), 0 FROM ${db}.seq_${i * 100 + 1}_to_${i * 100 + 100}`);
        head = await sourceHead(s.endpoint());
      }
      expect(head.file).toBe(stored.binlog_file);
      expect(head.pos).toBeGreaterThan(stored.binlog_pos);
    }
    await target.query(`CREATE TABLE IF NOT EXISTS ${db}.marker (id INT PRIMARY KEY)`);
    const before = await databaseDigest(target, db);

    const cases: [TestServer, RegExp][] = [
      [unrelated, /its binlog lacks .* of the checkpoint's GTID position/],
      // Where the checkpoint's offset falls inside an event there, the server knows no GTID position for it.
      [twin, /it has the same identity, but its binlog (at \S+ is at GTID position "[^"]*" where the checkpoint recorded|has no event group boundary at)/],
    ];
    for (const [server, reason] of cases) {
      const env = pipelineEnv(server.endpoint(), target.endpoint(), { PIPELINE_NAME: name, SYNC_DB: db, STATEMENT_EVENTS: 'apply' });
      const refused = await runCli(['run', '--config', TEST_PIPELINE], env);
      expect(refused.code, refused.stdout + refused.stderr).toBe(1);
      const error = refused.stderr;
      expect(error).toContain('[SOURCE_CHANGED]');
      expect(error).toContain(
        `binlog-sync: the checkpoint of "${name}" (${stored.binlog_file}:${stored.binlog_pos}, GTID position "${stored.gtid_pos}") belongs to MariaDB server_id ${replicaId} (gtid_domain_id 0), ` +
          `but the source at 127.0.0.1:${server.endpoint().port} is MariaDB server_id ${await serverId(server)} (gtid_domain_id 0), and it cannot continue there`,
      );
      expect(error).toMatch(reason);
      expect(error).toContain('binlog-sync run --reset-to FILE:POS --yes');
      expect(await databaseDigest(target, db)).toEqual(before);
      expect(await checkpointRow(name)).toEqual(stored);
    }

    // `status` says the same before anyone starts.
    const status = await runCli(['status', '--config', TEST_PIPELINE, '--json'], pipelineEnv(unrelated.endpoint(), target.endpoint(), { PIPELINE_NAME: name, SYNC_DB: db }));
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      checkpoint: { server: `MariaDB server_id ${replicaId} (gtid_domain_id 0)`, gtidPos: stored.gtid_pos },
      source: `MariaDB server_id ${await serverId(unrelated)} (gtid_domain_id 0)`,
      continuity: { kind: 'discontinuous' },
      lagBytes: null,
    });

    // The remedy for a re-copied target: --reset-to declares a place of the new server, and records it.
    const head = await sourceHead(unrelated.endpoint());
    const env = pipelineEnv(unrelated.endpoint(), target.endpoint(), { PIPELINE_NAME: name, SYNC_DB: db, STATEMENT_EVENTS: 'apply' });
    const reset = startCli(['run', '--config', TEST_PIPELINE, '--reset-to', `${head.file}:${head.pos}`, '--yes'], env, join(dir, 'reset.log'));
    await reset.running;
    await waitForCatchUp(unrelated.endpoint(), target.endpoint(), name);
    reset.proc.kill('SIGTERM');
    expect(await reset.exited, reset.output()).toBe(0);
    const after = await checkpointRow(name);
    const gtidThere = await one<{ p: string }>(unrelated, 'SELECT BINLOG_GTID_POS(?, ?) AS p', [head.file, head.pos]);
    expect(after).toMatchObject({ binlog_file: head.file, binlog_pos: head.pos, source_server_id: await serverId(unrelated), source_domain_id: 0, gtid_pos: gtidThere.p });
    expect(await storedCheckpoint(target.endpoint(), name)).toEqual(head);
  });

  it('stops with SOURCE_CHANGED when another server answers at the same address while it runs', async () => {
    const db = 'proxied';
    const name = 'proxied';
    await createSchema(db, [replica, target]);
    await createSchema(db, [unrelated]);
    const proxy = await startTcpProxy(replica.endpoint());
    try {
      // The pipeline reads the replica through the proxy (startInProcess only needs the endpoint).
      const behindProxy = { ...replica, endpoint: () => proxy.endpoint } as TestServer;
      const running = await startInProcess(behindProxy, target, { PIPELINE_NAME: name, SYNC_DB: db, START: 'latest', STATEMENT_EVENTS: 'apply' });
      await running.pipeline;
      await writeRounds(replica, db, 1, 10);
      await running.caughtUp();
      const stored = await checkpointRow(name);
      const before = await databaseDigest(target, db);

      // A failover behind the address: the reader reconnects, and finds another server there.
      proxy.retarget(unrelated.endpoint());
      await writeRounds(unrelated, db, 1, 10);
      const error = await running.result.then(
        () => null,
        (err: unknown) => err as { code?: string; message?: string },
      );
      expect(error?.code).toBe('SOURCE_CHANGED');
      expect(error?.message).toMatch(
        new RegExp(`^the source at 127\\.0\\.0\\.1:${proxy.endpoint.port} is now MariaDB server_id ${await serverId(unrelated)} \\(gtid_domain_id 0\\), but this run reads the binlog of MariaDB server_id ${await serverId(replica)} \\(gtid_domain_id 0\\)`),
      );
      expect(await databaseDigest(target, db)).toEqual(before);
      expect(await checkpointRow(name)).toEqual(stored);
    } finally {
      await proxy.close();
    }
  });

  // Row changes only: a checkpoint stored with a statement-format change lies inside its transaction,
  // where no GTID position names a place (none is recorded there).
  it('records each checkpoint\'s GTID position as the server computes it (rotations, DDL, XA, two domains), and kill -9 restarts continue', async () => {
    const db = 'tracking';
    const name = 'tracking';
    const server = replica; // the promoted one: its binlog holds two servers' GTIDs in domain 0
    await createSchema(db, [server, target]);
    const env = pipelineEnv(server.endpoint(), target.endpoint(), { PIPELINE_NAME: name, SYNC_DB: db, START: 'latest', STATEMENT_EVENTS: 'apply' });
    const log = join(dir, 'tracking.log');
    const checked = new Set<string>();
    /** Every checkpoint seen is at the server's own GTID position for its place. */
    const checkStored = async (): Promise<void> => {
      const row = await checkpointRow(name);
      if (!row || checked.has(`${row.binlog_file}:${row.binlog_pos}`)) return;
      const there = await one<{ p: string | null }>(server, 'SELECT BINLOG_GTID_POS(?, ?) AS p', [row.binlog_file, row.binlog_pos]);
      // The same position; the server lists domains in its own order.
      expect(row.gtid_pos !== null && there.p !== null && sameGtidPosition(row.gtid_pos, there.p), `stored ${row.gtid_pos} at ${row.binlog_file}:${row.binlog_pos}, the server says ${there.p}`).toBe(true);
      checked.add(`${row.binlog_file}:${row.binlog_pos}`);
    };
    let round = 1;
    let xa = 0;
    for (let restart = 0; restart < 3; restart++) {
      const cli = startCli(['run', '--config', TEST_PIPELINE], env, log);
      await cli.running;
      const c = await server.connect();
      try {
        round = await writeRounds(server, db, round, 5, true);
        await checkStored();
        await c.query('SET SESSION gtid_domain_id = 1'); // a second domain in the GTID position
        await c.query(`INSERT INTO ${db}.items VALUES (?, 'domain 1', 0)`, [100_000 + round]);
        await c.query('SET SESSION gtid_domain_id = DEFAULT');
        await server.query('FLUSH BINARY LOGS');
        await server.query(`CREATE DATABASE IF NOT EXISTS ${db}_ddl`); // DDL groups (on tables the pipeline does not sync)
        await server.query(`CREATE TABLE ${db}_ddl.t${restart} (id INT PRIMARY KEY)`);
        xa++;
        await c.query(`XA START 'x${xa}'`);
        await c.query(`INSERT INTO ${db}.items VALUES (?, 'xa', 0)`, [200_000 + xa]);
        await c.query(`XA END 'x${xa}'`);
        await c.query(`XA PREPARE 'x${xa}'`);
        round = await writeRounds(server, db, round, 5, true);
        await checkStored();
        await c.query(`XA COMMIT 'x${xa}'`);
        round = await writeRounds(server, db, round, 5, true);
      } finally {
        await c.end();
      }
      await waitForCatchUp(server.endpoint(), target.endpoint(), name);
      await checkStored();
      cli.proc.kill('SIGKILL');
      await cli.exited;
    }
    const last = startCli(['run', '--config', TEST_PIPELINE], env, log);
    await last.running;
    await waitForCatchUp(server.endpoint(), target.endpoint(), name);
    last.proc.kill('SIGTERM');
    expect(await last.exited, last.output()).toBe(0);
    await checkStored();
    expect(checked.size).toBeGreaterThanOrEqual(4);
    expect((await checkpointRow(name))!.gtid_pos).toMatch(/^0-\d+-\d+,1-\d+-\d+$/);
    const starts = last.output().split('\n').filter((l) => l.includes('"msg":"starting"'));
    expect(starts.map((l) => (JSON.parse(l) as { origin: string }).origin)).toEqual(['pinned', 'checkpoint', 'checkpoint', 'checkpoint']);
    await assertSameData(server, target, db);
  });
});
