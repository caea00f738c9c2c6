/**
 * The common frame of a test file that runs the built CLI against one server pair: the servers
 * (with the test's tables created on both sides), a directory for logs and pipeline files, and the
 * cleanup (CLIs still running are killed, servers stopped, the directory removed).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { killStartedClis } from './pipeline-process.js';
import { startServerPair, type ServerPair } from './servers.js';

export interface CliSuite {
  /** Set in beforeAll. */
  readonly servers: ServerPair;
  readonly dir: string;
}

export interface CliSuiteSetup {
  /** Database created on both servers, with `tables` (CREATE TABLE statements, run on both). */
  readonly db: string;
  readonly tables: readonly string[];
  /** Statements run on the source only, after the tables (e.g. tables the pipeline does not sync). */
  readonly sourceOnly?: readonly string[];
}

/** Registers the suite's beforeAll/afterAll; the returned object's `servers` is set once they ran. */
export function cliSuite(prefix: string, setup: CliSuiteSetup): CliSuite {
  const suite = { servers: undefined as unknown as ServerPair, dir: mkdtempSync(join(tmpdir(), `binlog-sync-${prefix}-`)) };
  beforeAll(async () => {
    suite.servers = await startServerPair();
    for (const s of [suite.servers.source, suite.servers.target]) {
      await s.query(`CREATE DATABASE ${setup.db}`);
      for (const sql of setup.tables) await s.query(sql);
    }
    for (const sql of setup.sourceOnly ?? []) await suite.servers.source.query(sql);
  });
  afterAll(async () => {
    killStartedClis();
    await suite.servers?.stop();
    rmSync(suite.dir, { recursive: true, force: true });
  });
  return suite;
}
