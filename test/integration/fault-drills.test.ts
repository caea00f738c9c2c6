/**
 * Fault drills beyond pipeline-recovery.test.ts (which kills and restarts each server and freezes the
 * source): network faults through a misbehaving proxy between the pipeline and each server (a stall,
 * slowness; connections cut mid-packet on both sides), repeated binlog rotation under load, a
 * target that turns read-only (retried until it is writable again) and a privilege revoked on the
 * target (the pipeline stops naming it; after the grant a restart resumes). Every drill runs under a
 * concurrent workload and ends with the target equal to the source (ordered digest of every table).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerPair, TestServer } from '../support/servers.js';
import { startServerPair } from '../support/servers.js';
import { assertSameData } from '../support/digest.js';
import { createWorkloadSchemaOnPair, runWorkload, WORKLOAD_TABLES } from '../support/workload.js';
import { startInProcess, type RunningPipeline } from '../support/in-process.js';
import { storedCheckpoint } from '../support/pipeline-process.js';
import { waitFor } from '../support/wait-for.js';
import { captureLogs, type LogLine } from '../support/log-capture.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { BinlogSyncError } from '../../src/core/errors.js';

let servers: ServerPair;

beforeAll(async () => {
  servers = await startServerPair();
});

afterAll(async () => {
  await servers?.stop();
});

/** Bytes a connection carried from the source before it counts as the binlog stream (metadata reads carry far less). */
const BINLOG_STREAM_BYTES = 64 * 1024;

/** The server as the pipeline sees it: through the proxy. */
function via(proxy: FaultProxy): TestServer {
  return { endpoint: () => proxy.endpoint } as TestServer;
}

interface Drill {
  readonly running: RunningPipeline;
  readonly lines: LogLine[];
  /** Waits until the pipeline applied `n` more changes than now. */
  progresses(what: string, n?: number): Promise<void>;
  /** Whether a log line since `from` matches. */
  logged(re: RegExp, from: number): boolean;
  /** Stops the workload, waits for catch-up, stops the pipeline and compares every table. */
  finish(): Promise<void>;
}

const created = new Set<string>();

/** The workload tables in `db` on both servers, once. */
async function createSchema(db: string): Promise<void> {
  if (created.has(db)) return;
  created.add(db);
  await createWorkloadSchemaOnPair(servers, db);
}

async function startDrill(db: string, source: TestServer, target: TestServer, vars: Record<string, string> = {}): Promise<Drill> {
  await createSchema(db);
  // Debug: the source drill waits for 'binlog session started'.
  const { lines, logger } = captureLogs('debug');
  const running = await startInProcess(source, target, { PIPELINE_NAME: db.replace(/_/g, '-'), SYNC_DB: db, ...vars }, { logger });
  const pipeline = await running.pipeline;
  const applied = (): number => pipeline.stats().mutationsApplied;
  const stop = new AbortController();
  const load = runWorkload(servers.source.endpoint(), { db, durationMs: 10 * 60_000, concurrency: 2, seed: db.length, signal: stop.signal });
  return {
    running,
    lines,
    progresses: async (what, n = 50) => {
      const from = applied();
      await waitFor(() => applied() >= from + n, { what, timeoutMs: 90_000 });
    },
    logged: (re, from) => lines.slice(from).some((l) => re.test(l.msg) || re.test(l.err ?? '')),
    finish: async () => {
      stop.abort();
      await load;
      await running.caughtUp(120_000);
      await running.stop();
      await assertSameData(servers.source, servers.target, db);
    },
  };
}

/** The drills' common end: the pipeline still applies through a slow network, then ends equal. */
async function slowThenFinish(d: Drill, proxy: FaultProxy): Promise<void> {
  proxy.slow(20);
  await d.progresses('the pipeline to apply changes through a slow network');
  proxy.heal();
  await d.finish();
}

describe('fault drills', () => {
  it('between the pipeline and the source: a stall past the watchdog, drops mid-packet, slowness', async () => {
    const proxy = await startFaultProxy(servers.source.endpoint());
    try {
      const d = await startDrill('drill_src', via(proxy), servers.target, { SILENT_AFTER_MS: '2000' });
      await d.progresses('the pipeline to apply the workload');

      const mark = d.lines.length;
      proxy.stall();
      await waitFor(() => d.lines.slice(mark).some((l) => l.code === 'SOURCE_SILENT'), { what: 'the daemon to declare the stalled source silent', timeoutMs: 90_000 });
      proxy.heal();
      await d.progresses('the pipeline to apply changes after the stall');

      // The binlog stream cut mid-packet, three times: the reader notices, reconnects after the last
      // transaction it handed on, and goes on. Only a connection that carried a good deal (the binlog
      // stream, not an idle metadata one) is cut, and the next cut waits for the new stream to carry
      // as much: the proxy spares connections opened after a cut was asked for.
      for (let i = 0; i < 3; i++) {
        const mark = d.lines.length;
        await proxy.dropMidPacket(BINLOG_STREAM_BYTES);
        await waitFor(() => d.logged(/binlog connection lost/, mark), { what: `the daemon to notice drop ${i + 1}`, timeoutMs: 60_000 });
        proxy.heal();
        await waitFor(() => d.logged(/binlog session started/, mark), { what: `the binlog session to start again after drop ${i + 1}`, timeoutMs: 60_000 });
        await d.progresses(`the pipeline to apply changes after drop ${i + 1}`, 300);
      }
      expect(proxy.dropped).toBeGreaterThanOrEqual(3);

      await slowThenFinish(d, proxy);
    } finally {
      await proxy.close();
    }
  });

  it('between the pipeline and the target: a stall, drops mid-packet, slowness', async () => {
    const proxy = await startFaultProxy(servers.target.endpoint());
    try {
      const d = await startDrill('drill_tgt', servers.source, via(proxy));
      const pipeline = await d.running.pipeline;
      await d.progresses('the pipeline to apply the workload');

      proxy.stall();
      // Nothing can commit while the target's answers are held.
      await new Promise((r) => setTimeout(r, 500));
      const during = pipeline.stats().mutationsApplied;
      await new Promise((r) => setTimeout(r, 3000));
      expect(pipeline.stats().mutationsApplied).toBe(during);
      proxy.heal();
      await d.progresses('the pipeline to apply changes after the stall');

      for (let i = 0; i < 3; i++) {
        const mark = d.lines.length;
        await proxy.dropMidPacket();
        await waitFor(() => d.logged(/Connection lost|pipeline lock lost|ECONNRESET|PROTOCOL_CONNECTION_LOST/, mark), { what: `the daemon to notice drop ${i + 1} and retry` });
        proxy.heal();
        await d.progresses(`the pipeline to apply changes after drop ${i + 1}`);
      }
      expect(proxy.dropped).toBeGreaterThanOrEqual(3);

      await slowThenFinish(d, proxy);
    } finally {
      await proxy.close();
    }
  });

  it('FLUSH BINARY LOGS over and over under load', async () => {
    const d = await startDrill('drill_flush', servers.source, servers.target);
    await d.progresses('the pipeline to apply the workload');
    const before = await storedCheckpoint(servers.target.endpoint(), 'drill-flush');
    for (let i = 0; i < 30; i++) {
      await servers.source.query('FLUSH BINARY LOGS');
      await new Promise((r) => setTimeout(r, 100));
    }
    await d.progresses('the pipeline to apply changes after the rotations');
    await d.finish();
    const after = await storedCheckpoint(servers.target.endpoint(), 'drill-flush');
    // At least 30 binlog files later.
    expect(Number(after!.file.split('.').pop()) - Number(before!.file.split('.').pop())).toBeGreaterThanOrEqual(30);
  });

  describe('with a sink user without admin privileges', () => {
    // A user with DML privileges only, as for a pipeline whose DDL the operator applies by hand: the
    // schema setup's DROP/CREATE TABLE is in the binlog, and `schemaChanges: apply` would need DROP.
    const user = { TARGET_USER: 'drill_sink', TARGET_PASSWORD: 'drill-pass', SCHEMA_CHANGES: 'ignore' };

    beforeAll(async () => {
      // No SUPER / READ ONLY ADMIN: read_only applies to it. Table privileges per database, so that a
      // REVOKE reaches its open connections at their next statement.
      await servers.target.rootQuery(
        `CREATE USER drill_sink@'%' IDENTIFIED BY 'drill-pass'; CREATE USER drill_sink@localhost IDENTIFIED BY 'drill-pass';` +
          `GRANT ALL ON _binlog_sync.* TO drill_sink@'%'; GRANT ALL ON _binlog_sync.* TO drill_sink@localhost;` +
          `GRANT SELECT ON *.* TO drill_sink@'%'; GRANT SELECT ON *.* TO drill_sink@localhost;`,
      );
    });

    async function grantTables(db: string, privileges: string): Promise<void> {
      const sql = WORKLOAD_TABLES.flatMap((t) => [`GRANT ${privileges} ON ${db}.${t} TO drill_sink@'%'`, `GRANT ${privileges} ON ${db}.${t} TO drill_sink@localhost`]);
      await servers.target.rootQuery(sql.join(';'));
    }

    it('the target turns read-only: the pipeline retries, and recovers once it is writable', async () => {
      const db = 'drill_ro';
      await createSchema(db);
      await grantTables(db, 'INSERT, UPDATE, DELETE');
      const d = await startDrill(db, servers.source, servers.target, user);
      const pipeline = await d.running.pipeline;
      await d.progresses('the pipeline to apply the workload');
      const mark = d.lines.length;
      await servers.target.rootQuery('SET GLOBAL read_only = 1');
      try {
        await waitFor(() => d.logged(/read-only|read_only/, mark), { what: 'the sink to retry against the read-only target', timeoutMs: 60_000 });
        // A batch whose commit was under way may still land; after that nothing can.
        await new Promise((r) => setTimeout(r, 1000));
        const during = pipeline.stats().mutationsApplied;
        await new Promise((r) => setTimeout(r, 2000));
        expect(pipeline.stats().mutationsApplied).toBe(during);
        expect(pipeline.stopping).toBe(false);
      } finally {
        await servers.target.rootQuery('SET GLOBAL read_only = 0');
      }
      await d.progresses('the pipeline to apply changes once the target is writable');
      await d.finish();
    });

    it('a privilege revoked on the target: the pipeline stops naming it, and resumes equal after the grant', async () => {
      const db = 'drill_grant';
      const vars = { ...user, PIPELINE_NAME: 'drill-grant', SYNC_DB: db };
      await createSchema(db);
      await grantTables(db, 'INSERT, UPDATE, DELETE');
      const { lines, logger } = captureLogs('warn');
      const first = await startInProcess(servers.source, servers.target, vars, { logger });
      await first.pipeline;
      await runWorkload(servers.source.endpoint(), { db, transactions: 200, concurrency: 2, seed: 3 });
      await first.caughtUp(90_000);
      await servers.target.rootQuery(WORKLOAD_TABLES.map((t) => `REVOKE INSERT, UPDATE ON ${db}.${t} FROM drill_sink@'%', drill_sink@localhost`).join(';'));
      await runWorkload(servers.source.endpoint(), { db, transactions: 100, concurrency: 2, seed: 4 });
      const err = await first.result.then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(BinlogSyncError);
      expect((err as BinlogSyncError).message).toMatch(/command denied to user 'drill_sink'[\s\S]*grant the target user INSERT, UPDATE, DELETE on the table/);
      expect(lines.some((l) => /pipeline stopping on an error that retrying cannot fix/.test(l.msg))).toBe(true);

      await grantTables(db, 'INSERT, UPDATE, DELETE');
      await runWorkload(servers.source.endpoint(), { db, transactions: 100, concurrency: 2, seed: 5 });
      const again = await startInProcess(servers.source, servers.target, vars);
      await again.pipeline;
      await again.caughtUp(90_000);
      await again.stop();
      await assertSameData(servers.source, servers.target, db);
    });
  });
});
