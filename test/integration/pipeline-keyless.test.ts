/**
 * Tables without a primary key, through the built CLI and config/keyless.yaml on real servers:
 * `keyless: refuse` names them and stops; `full-row` applies inserts of identical rows, updates and
 * deletes of one of several identical rows, NULLs, under kill -9 restarts, and the target ends with
 * the same multiset of rows as the source (each distinct row the same number of times).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServerPair, type ServerPair, type TestServer } from '../support/servers.js';
import { killStartedClis, pipelineEnv, ROOT, runCli, startCli, waitForCatchUp } from '../support/pipeline-process.js';

const CONFIG = join(ROOT, 'config/keyless.yaml');
let servers: ServerPair;
const logDir = mkdtempSync(join(tmpdir(), 'binlog-sync-keyless-'));

beforeAll(async () => {
  servers = await startServerPair();
  await servers.source.query('CREATE DATABASE logs');
  await servers.source.query('CREATE TABLE logs.events (at INT NOT NULL, kind VARCHAR(10) COLLATE utf8mb4_general_ci, payload TEXT, score DECIMAL(6,2)) DEFAULT CHARSET=utf8mb4');
});

afterAll(async () => {
  killStartedClis();
  await servers?.stop();
  if (!process.env.BINLOG_SYNC_KEEP_TEST_LOGS) rmSync(logDir, { recursive: true, force: true });
});

/** Each distinct row with how many times the table holds it. */
const MULTISET = (table: string): string =>
  `SELECT at, kind, HEX(payload) AS payload, score, COUNT(*) AS copies FROM ${table} GROUP BY at, kind, HEX(payload), score ORDER BY at, kind, payload, score`;

async function multiset(server: TestServer, table: string): Promise<string[]> {
  return (await server.query<Record<string, unknown>>(MULTISET(table))).map((r) => JSON.stringify(Object.values(r)));
}

function random(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
}

/** Writes that make and touch identical rows: few distinct values, so duplicates are common. */
async function writeSome(src: TestServer, rnd: (n: number) => number, count: number): Promise<void> {
  const c = await src.connect({ multipleStatements: true });
  const value = (): string => `(${rnd(20)}, ${rnd(4) === 0 ? 'NULL' : `'${['a', 'B', 'c'][rnd(3)]}'`}, ${rnd(3) === 0 ? 'NULL' : `'p${rnd(3)}'`}, ${rnd(3)}.50)`;
  const where = (): string => `at = ${rnd(20)}`;
  try {
    for (let i = 0; i < count; i++) {
      const op = rnd(10);
      let sql: string;
      if (op < 4) sql = `INSERT INTO logs.events VALUES ${value()}, ${value()}`;
      else if (op < 5) sql = `INSERT INTO logs.events SELECT * FROM logs.events WHERE ${where()} LIMIT 2`; // exact copies
      else if (op < 7) sql = `UPDATE logs.events SET score = score + 1, kind = IF(kind IS NULL, 'n', kind) WHERE ${where()} LIMIT 1`;
      else if (op < 8) sql = `UPDATE logs.events SET payload = NULL WHERE ${where()}`; // several rows, some already NULL
      else sql = `DELETE FROM logs.events WHERE ${where()} LIMIT 1`;
      await c.query(rnd(3) === 0 ? `START TRANSACTION; ${sql}; ${sql}; COMMIT` : sql);
    }
  } finally {
    await c.end();
  }
}

describe('tables without a primary key (config/keyless.yaml)', () => {
  it('keyless: refuse names the table and what to do', async () => {
    const env = pipelineEnv(servers.source.endpoint(), servers.target.endpoint(), { PIPELINE_NAME: 'keyless-refuse', KEYLESS: 'refuse' });
    const r = await runCli(['check', '--config', CONFIG], env);
    const out = r.stdout + r.stderr;
    expect(r.code).toBe(3);
    expect(out).toContain('logs.events has no PRIMARY KEY');
    expect(out).toContain('keyless: full-row');
  }, 120_000);

  it('full-row keeps identical rows as many as on the source, through updates, deletes and kill -9', async () => {
    const src = servers.source;
    const env = pipelineEnv(src.endpoint(), servers.target.endpoint(), { PIPELINE_NAME: 'keyless', CHECKPOINT_INTERVAL_MS: '300' });
    const rnd = random(5);
    await writeSome(src, rnd, 150);
    for (let round = 1; round <= 3; round++) {
      const run = startCli(['run', '--config', CONFIG], env, join(logDir, `run-${round}.log`));
      try {
        await run.running;
        await writeSome(src, rnd, 250);
        // kill -9 while it applies: a restart resumes from the checkpoint and the keyless table's
        // changes already applied past it are skipped by their marks (applied in the same transaction).
        run.proc.kill('SIGKILL');
        await run.exited;
      } finally {
        if (run.proc.exitCode === null) run.proc.kill('SIGKILL');
      }
    }
    const last = startCli(['run', '--config', CONFIG], env, join(logDir, 'run-last.log'));
    try {
      await last.running;
      await writeSome(src, rnd, 100);
      await waitForCatchUp(src.endpoint(), servers.target.endpoint(), 'keyless', 180_000);
      const expected = await multiset(src, 'logs.events');
      // Identical rows exist, so the comparison counts copies, not only distinct rows.
      expect(expected.some((r) => !r.endsWith(',1]'))).toBe(true);
      expect(await multiset(servers.target, 'logs.events')).toEqual(expected);
      last.proc.kill('SIGTERM');
      expect(await last.exited).toBe(0);
    } finally {
      if (last.proc.exitCode === null) last.proc.kill('SIGKILL');
    }
  }, 420_000);
});
