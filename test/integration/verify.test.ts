/**
 * `binlog-sync verify` against real servers: it finds exactly the differences injected into the
 * target (and nothing else), stays quiet on equal tables while a workload writes and the pipeline syncs
 * it, and its exit codes and --json shape through the built CLI.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPipelineConfig } from '../../src/config/load.js';
import type { PipelineConfig } from '../../src/config/schema.js';
import { openCheckpointReader } from '../../src/assembly/index.js';
import { createLogger } from '../../src/core/log.js';
import { formatVerifyText, verifyExitCode } from '../../src/verify/report.js';
import { verifyPipeline, type VerifyOptions, type VerifyResult } from '../../src/verify/verify-pipeline.js';
import type { TableVerdict } from '../../src/verify/table-verifier.js';
import { MySqlCheckpointStore } from '../../connectors/mysql-sink/index.js';
import { freePort } from '../../src/local/mariadb-server.js';
import { startServerPair, type ServerPair } from '../support/servers.js';
import { ALL_TYPES_COLUMNS, ALL_TYPES_ROWS } from '../support/all-types.js';
import { pipelineEnv, runCli, sourceHead, TEST_PIPELINE } from '../support/pipeline-process.js';
import { startInProcess } from '../support/in-process.js';
import { createWorkloadSchemaOnPair, runWorkload, WORKLOAD_TABLES } from '../support/workload.js';
import { waitFor } from '../support/wait-for.js';

/** Runs verify in this process with the test pipeline file, reading the pipeline's checkpoint as the CLI does. */
async function verify(config: PipelineConfig, options: Omit<VerifyOptions, 'readApplied'> = {}): Promise<VerifyResult> {
  const checkpoints = openCheckpointReader(config, createLogger({ level: 'silent' }));
  try {
    return await verifyPipeline(config, { ...options, readApplied: () => checkpoints.position() });
  } finally {
    await checkpoints.close();
  }
}

const tableOf = (r: VerifyResult, name: string): TableVerdict => {
  const t = r.tables.find((v) => v.table === name);
  if (!t) throw new Error(`no verdict for ${name} in ${r.tables.map((v) => v.table).join(', ')}`);
  return t;
};
/** The listed keys of a kind, as their exact values. */
const keysOf = (t: TableVerdict, kind: 'missing' | 'extra' | 'different' | 'stillChanging'): (readonly (string | null)[])[] => t[kind].keys.map((k) => k.key);
const hex = (s: string, encoding: BufferEncoding = 'utf8'): string => Buffer.from(s, encoding).toString('hex').toUpperCase();

describe('verify finds exactly the injected differences', () => {
  const DB = 'vfy';
  let servers: ServerPair;
  let env: Record<string, string>;
  let config: PipelineConfig;

  beforeAll(async () => {
    servers = await startServerPair();
    const ddl = [
      `CREATE DATABASE ${DB}`,
      `CREATE DATABASE ${DB}_other`,
      `CREATE TABLE ${DB}.items (id INT PRIMARY KEY, name VARCHAR(40) NULL, note VARCHAR(40) NULL, data BLOB NULL, amount DECIMAL(10,2) NOT NULL)`,
      `CREATE TABLE ${DB}.ci_keys (k VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci PRIMARY KEY, v INT NOT NULL)`,
      `CREATE TABLE ${DB}.latin (k VARCHAR(12) CHARACTER SET latin1 COLLATE latin1_swedish_ci PRIMARY KEY, v INT NOT NULL)`,
      `CREATE TABLE ${DB}.pairs (a INT NOT NULL, b VARCHAR(10) NOT NULL, c DATETIME(6) NOT NULL, v DOUBLE NULL, PRIMARY KEY (a, b))`,
      `CREATE TABLE ${DB}.all_types (${ALL_TYPES_COLUMNS})`,
      `CREATE TABLE ${DB}_other.items (id INT PRIMARY KEY, v INT)`,
    ];
    const data = [
      `INSERT INTO ${DB}.items SELECT seq, CONCAT('item ', seq), IF(seq % 7 = 0, NULL, CONCAT('note ', seq)), IF(seq % 5 = 0, NULL, REPEAT(CHAR(seq % 256 USING binary), 1 + seq % 50)), seq / 100 FROM ${DB}.seq_1_to_3000`,
      `UPDATE ${DB}.items SET note = NULL WHERE id = 200`,
      `UPDATE ${DB}.items SET data = REPEAT(x'00ff', 5000) WHERE id = 400`,
      `INSERT INTO ${DB}.ci_keys SELECT CONCAT('key', seq), seq FROM ${DB}.seq_1_to_1500`,
      // Every key starts with a non-ASCII latin1 byte, so every chunk boundary is one.
      `INSERT INTO ${DB}.latin SELECT CONCAT(IF(seq % 2 = 0, _latin1 x'E9', _latin1 x'FC'), seq), seq FROM ${DB}.seq_1_to_1200`,
      `INSERT INTO ${DB}.pairs SELECT seq % 37, CONCAT('b', seq), TIMESTAMP'2024-01-01 00:00:00' + INTERVAL seq SECOND + INTERVAL seq MICROSECOND, seq / 3 FROM ${DB}.seq_1_to_2000`,
      // The rows' TIMESTAMP literals are written for +05:30; zero dates need a non-strict session.
      `SET time_zone = '+05:30', sql_mode = ''; INSERT INTO ${DB}.all_types VALUES ${ALL_TYPES_ROWS}`,
      `INSERT INTO ${DB}_other.items VALUES (1, 1), (2, 2)`,
    ];
    for (const s of [servers.source, servers.target]) for (const sql of [...ddl, ...data]) await s.query(sql);
    // The differences, all on the target.
    for (const sql of [
      `DELETE FROM ${DB}.items WHERE id = 17`,
      `INSERT INTO ${DB}.items VALUES (-1, 'before the first', NULL, NULL, 0), (5000, 'after the last', NULL, NULL, 0)`,
      `UPDATE ${DB}.items SET name = 'changed' WHERE id = 100`,
      `UPDATE ${DB}.items SET note = '' WHERE id = 200`, // NULL on the source
      `UPDATE ${DB}.items SET data = CONCAT(LEFT(data, 1), x'7f', SUBSTRING(data, 3)) WHERE id = 301`,
      `UPDATE ${DB}.items SET data = CONCAT(LEFT(data, 9000), x'01', SUBSTRING(data, 9002)) WHERE id = 400`, // a long BLOB: hashed, not hexed
      `UPDATE ${DB}.ci_keys SET k = 'KEY7' WHERE k = 'key7'`, // the same row under _ci, other bytes
      `UPDATE ${DB}.ci_keys SET k = 'key8 ' WHERE k = 'key8'`, // the same row under PAD SPACE
      `UPDATE ${DB}.latin SET v = -1 WHERE k = CONCAT(_latin1 x'FC', '555')`,
      `UPDATE ${DB}.pairs SET c = c + INTERVAL 1 MICROSECOND WHERE a = 1 AND b = 'b1000'`,
      `UPDATE ${DB}_other.items SET v = 99 WHERE id = 1`, // not synced: must not be reported
    ]) {
      await servers.target.query(sql);
    }
    env = pipelineEnv(servers.source.endpoint(), servers.target.endpoint(), { PIPELINE_NAME: 'verify-diff', SYNC_DB: DB });
    config = await loadPipelineConfig(TEST_PIPELINE, { ...process.env, ...env });
    // No pipeline runs here: its checkpoint at the source head says it has applied everything.
    const store = new MySqlCheckpointStore({ ...servers.target.endpoint() });
    try {
      await store.save('verify-diff', { position: await sourceHead(servers.source.endpoint()), sourceTimestampMs: Date.now() });
    } finally {
      await store.close();
    }
  });

  afterAll(async () => {
    await servers?.stop();
  });

  it('reports each injected difference by its key, in chunks of 200 rows, and every other table equal', async () => {
    const r = await verify(config, { chunkSize: 200 });
    expect(r.tables.map((t) => t.table).sort()).toEqual([`${DB}.all_types`, `${DB}.ci_keys`, `${DB}.items`, `${DB}.latin`, `${DB}.pairs`]);
    expect(r.tables.filter((t) => t.error !== undefined)).toEqual([]);
    expect(r.shortfall).toBeNull();
    expect(r.tables.every((t) => t.confirmed)).toBe(true);

    const items = tableOf(r, `${DB}.items`);
    // 15 chunks of 200 rows, and the (empty) rest after the source's last key, where target id 5000 is.
    expect(items).toMatchObject({ sourceRows: 3000, targetRows: 3001, chunks: 16 });
    expect(keysOf(items, 'missing')).toEqual([['17']]);
    expect(keysOf(items, 'extra').sort()).toEqual([['-1'], ['5000']]);
    expect(keysOf(items, 'different').sort()).toEqual([['100'], ['200'], ['301'], ['400']]);
    expect(items.stillChanging.count).toBe(0);

    const ci = tableOf(r, `${DB}.ci_keys`);
    expect(ci.missing.count + ci.extra.count).toBe(0);
    expect(ci.different.keys.map((k) => [k.key, k.targetKey]).sort()).toEqual([
      [[hex('key7')], [hex('KEY7')]],
      [[hex('key8')], [hex('key8 ')]],
    ]);

    const latin = tableOf(r, `${DB}.latin`);
    expect(latin).toMatchObject({ sourceRows: 1200, targetRows: 1200, chunks: 7, missing: { count: 0 }, extra: { count: 0 } });
    expect(keysOf(latin, 'different')).toEqual([[hex('ü555', 'latin1')]]);

    const pairs = tableOf(r, `${DB}.pairs`);
    expect(pairs).toMatchObject({ sourceRows: 2000, targetRows: 2000, chunks: 11, missing: { count: 0 }, extra: { count: 0 } });
    expect(keysOf(pairs, 'different')).toEqual([['1', hex('b1000')]]);

    const types = tableOf(r, `${DB}.all_types`);
    expect(types).toMatchObject({ sourceRows: 4, targetRows: 4, rechecked: 0, missing: { count: 0 }, extra: { count: 0 }, different: { count: 0 } });
    expect(verifyExitCode(r)).toBe(1);

    const text = formatVerifyText(r);
    expect(text).toContain(`missing on the target (1): id=17`);
    expect(text).toContain(`different (2): k="key7" (target: k="KEY7"), k="key8" (target: k="key8 ")`);
    expect(text).toContain(`different (1): (a=1, b="b1000")`);
    expect(text).toContain(`different (1): k="ü555"`);
    expect(text).toContain(`different (4): id=100, id=200, id=301, id=400`);
  });

  it('finds the same with one chunk per table and with chunks of one row', async () => {
    for (const chunkSize of [100_000, 1]) {
      const r = await verify(config, { chunkSize, tables: [`${DB}.items`, `${DB}.ci_keys`] });
      const items = tableOf(r, `${DB}.items`);
      expect(items.chunks).toBe(chunkSize === 1 ? 3001 : 1);
      expect(keysOf(items, 'missing')).toEqual([['17']]);
      expect(keysOf(items, 'extra').sort()).toEqual([['-1'], ['5000']]);
      expect(keysOf(items, 'different').sort()).toEqual([['100'], ['200'], ['301'], ['400']]);
      expect(tableOf(r, `${DB}.ci_keys`).different.count).toBe(2);
    }
  });

  it('the built CLI: exit 1 and the --json shape when tables differ', async () => {
    const run = await runCli(['verify', '--config', TEST_PIPELINE, '--json', '--chunk-size', '500'], env);
    expect(run.code, run.stderr).toBe(1);
    const doc = JSON.parse(run.stdout) as {
      pipeline: string;
      equal: boolean;
      chunkSize: number;
      confirmed: boolean;
      shortfall: unknown;
      tables: { table: string; status: string; keyColumns: { name: string; encoding: string }[]; missing: { count: number; keys: { values: string[]; display: string }[] }; different: { count: number } }[];
      total: { tables: number; equal: number; different: number; missingKeys: number; extraKeys: number; differentKeys: number };
    };
    expect(doc).toMatchObject({ pipeline: 'verify-diff', equal: false, chunkSize: 500, confirmed: true, shortfall: null });
    expect(doc.total).toMatchObject({ tables: 5, equal: 1, different: 4, missingKeys: 1, extraKeys: 2, differentKeys: 8 });
    const items = doc.tables.find((t) => t.table === `${DB}.items`)!;
    expect(items.status).toBe('different');
    expect(items.keyColumns).toEqual([{ name: 'id', type: 'int', encoding: 'text' }]);
    expect(items.missing).toEqual({ count: 1, keys: [{ values: ['17'], display: 'id=17' }] });
    expect(doc.tables.find((t) => t.table === `${DB}.all_types`)?.status).toBe('equal');
  });

  it('the built CLI: exit 0 for equal tables, 2 for a table the pipeline does not sync, a bad flag or an unreachable server', async () => {
    const equal = await runCli(['verify', '--config', TEST_PIPELINE, '--tables', `${DB}.all_types`], env);
    expect(equal.code, equal.stderr).toBe(0);
    expect(equal.stdout).toMatch(new RegExp(`${DB}\\.all_types\\s+equal\\s+source 4 rows, target 4 rows, 1 chunk`));
    expect(equal.stdout).toMatch(/^total: 1 table: 1 equal, 0 different; 4 source rows, 4 target rows; 0 missing, 0 extra, 0 different;/m);

    const unsynced = await runCli(['verify', '--config', TEST_PIPELINE, '--tables', `${DB}_other.items`], env);
    expect(unsynced.code).toBe(2);
    expect(unsynced.stderr).toContain(`--tables names ${DB}_other.items, which the pipeline does not sync`);

    const badFlag = await runCli(['verify', '--config', TEST_PIPELINE, '--chunk-size', 'lots'], env);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toContain('--chunk-size must be a whole number ≥ 1, got "lots"');

    const unreachable = await runCli(['verify', '--config', TEST_PIPELINE], { ...env, TARGET_PORT: String(await freePort()) });
    expect(unreachable.code).toBe(2);
    expect(unreachable.stderr).toMatch(/cannot query the target|ECONNREFUSED/);
  });

  it('says the differences are not confirmed when the pipeline has no checkpoint to wait for', async () => {
    const run = await runCli(['verify', '--config', TEST_PIPELINE, '--tables', `${DB}.pairs`], { ...env, PIPELINE_NAME: 'verify-never-ran' });
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toMatch(/different \(1\): \(a=1, b="b1000"\)/);
    expect(run.stdout).toContain('(not confirmed)');
    expect(run.stdout).toContain('the pipeline "verify-never-ran" has no checkpoint on the target, so verify could not wait for it');
    expect(run.stdout).toContain('That is not proof of a difference');
  });
});

describe('verify rechecks a difference after the pipeline has applied past the source position', () => {
  const DB = 'vrecheck';
  let servers: ServerPair;
  let config: PipelineConfig;
  const head = () => sourceHead(servers.source.endpoint());
  const v = async (server: 'source' | 'target', id: number) => Number((await servers[server].query<{ v: number }>(`SELECT v FROM ${DB}.t WHERE id = ?`, [id]))[0]?.v);

  beforeAll(async () => {
    servers = await startServerPair();
    for (const s of [servers.source, servers.target]) {
      await s.query(`CREATE DATABASE ${DB}`);
      await s.query(`CREATE TABLE ${DB}.t (id INT PRIMARY KEY, v INT NOT NULL)`);
      await s.query(`INSERT INTO ${DB}.t SELECT seq, seq FROM ${DB}.seq_1_to_100`);
    }
    const env = pipelineEnv(servers.source.endpoint(), servers.target.endpoint(), { PIPELINE_NAME: 'verify-recheck', SYNC_DB: DB });
    config = await loadPipelineConfig(TEST_PIPELINE, { ...process.env, ...env });
  });

  afterAll(async () => {
    await servers?.stop();
  });

  it('finds the chunk equal once the pipeline has caught up with a change the target lacked at first', async () => {
    await servers.source.query(`UPDATE ${DB}.t SET v = -42 WHERE id = 42`);
    let applied = 0;
    // Stands in for the pipeline: asked for its position, it applies the change and reports the head.
    const readApplied = async () => {
      if (applied++ === 0) await servers.target.query(`UPDATE ${DB}.t SET v = -42 WHERE id = 42`);
      return head();
    };
    const r = await verifyPipeline(config, { readApplied, chunkSize: 30 });
    expect(applied).toBeGreaterThan(0);
    expect(tableOf(r, `${DB}.t`)).toMatchObject({ rechecked: 1, confirmed: true, missing: { count: 0 }, extra: { count: 0 }, different: { count: 0 }, stillChanging: { count: 0 } });
    expect(verifyExitCode(r)).toBe(0);
  });

  it('reports a key whose source value moves in every round as still changing, not as a difference', async () => {
    await servers.source.query(`UPDATE ${DB}.t SET v = 1000 WHERE id = 7`);
    // Each wait for the pipeline sees the position before a new change of row 7 on the source.
    const readApplied = async () => {
      const position = await head();
      await servers.source.query(`UPDATE ${DB}.t SET v = v + 1 WHERE id = 7`);
      return position;
    };
    const r = await verifyPipeline(config, { readApplied, chunkSize: 30 });
    const t = tableOf(r, `${DB}.t`);
    expect(keysOf(t, 'stillChanging')).toEqual([['7']]);
    expect(t).toMatchObject({ confirmed: true, different: { count: 0 }, missing: { count: 0 }, extra: { count: 0 } });
    expect(verifyExitCode(r)).toBe(0);
    expect(formatVerifyText(r)).toContain('still changing on the source (not counted as differences) (1): id=7');
    expect(await v('source', 7)).toBeGreaterThan(1000);
    await servers.target.query(`UPDATE ${DB}.t SET v = ? WHERE id = 7`, [await v('source', 7)]);
  });

  it('reports a difference as not confirmed when the pipeline stays behind the source position', async () => {
    await servers.target.query(`UPDATE ${DB}.t SET v = 0 WHERE id = 99`);
    const behind = await head();
    await servers.source.query(`UPDATE ${DB}.t SET v = 99 WHERE id = 98`); // a change the pipeline has not applied
    const r = await verifyPipeline(config, { readApplied: async () => behind, chunkSize: 30, waitMs: 200 });
    // Row 98 differs only because the pipeline is behind: that is why such a report is not proof.
    expect(keysOf(tableOf(r, `${DB}.t`), 'different')).toEqual([['98'], ['99']]);
    expect(tableOf(r, `${DB}.t`).confirmed).toBe(false);
    expect(r.shortfall).toMatchObject({ applied: behind });
    expect(formatVerifyText(r)).toContain(`the pipeline had not applied up to the source position ${r.shortfall!.wanted.file}:${r.shortfall!.wanted.pos} within 0 s (its checkpoint: ${behind.file}:${behind.pos})`);
    expect(verifyExitCode(r)).toBe(1);
  });
});

describe('verify under live writes', () => {
  const DB = 'vlive';
  let servers: ServerPair;

  beforeAll(async () => {
    servers = await startServerPair();
    await createWorkloadSchemaOnPair(servers, DB);
  });

  afterAll(async () => {
    await servers?.stop();
  });

  it('stays quiet while a workload writes and the pipeline syncs it, then finds a difference made on the target', async () => {
    // From the head: the schema's DDL before it is not the pipeline's business (it would warn about it).
    const vars = { PIPELINE_NAME: 'verify-live', SYNC_DB: DB, START: 'latest' };
    const env = pipelineEnv(servers.source.endpoint(), servers.target.endpoint(), vars);
    const config = await loadPipelineConfig(TEST_PIPELINE, { ...process.env, ...env });
    const running = await startInProcess(servers.source, servers.target, vars);
    const stopWorkload = new AbortController();
    try {
      await running.pipeline;
      const workload = runWorkload(servers.source.endpoint(), { db: DB, durationMs: 120_000, concurrency: 4, seed: 12, signal: stopWorkload.signal });
      workload.catch(() => undefined);
      const rows = async (): Promise<number> => Number((await servers.source.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${DB}.wl_types`))[0]?.n);
      await waitFor(async () => (await rows()) >= 300, { what: 'the workload to write 300 wl_types rows', timeoutMs: 60_000 });

      for (let run = 0; run < 2; run++) {
        const r = await verify(config, { chunkSize: 50, waitMs: 30_000 });
        expect(r.tables.map((t) => t.table).sort()).toEqual(WORKLOAD_TABLES.map((t) => `${DB}.${t}`).sort());
        for (const t of r.tables) {
          expect(t.error, t.table).toBeUndefined();
          expect({ table: t.table, missing: t.missing.keys, extra: t.extra.keys, different: t.different.keys }).toEqual({ table: t.table, missing: [], extra: [], different: [] });
          expect(t.confirmed, t.table).toBe(true);
        }
        // The workload deletes rows too: the table holds about as many as when verify began.
        expect(tableOf(r, `${DB}.wl_types`).sourceRows).toBeGreaterThan(200);
        expect(verifyExitCode(r), formatVerifyText(r)).toBe(0);
      }
      expect(stopWorkload.signal.aborted).toBe(false); // the workload ran through both verifications

      stopWorkload.abort();
      await workload;
      await running.caughtUp();
      // A change only the target has, while the pipeline keeps running.
      const [row] = await servers.target.query<{ id: number }>(`SELECT id FROM ${DB}.wl_users ORDER BY id LIMIT 1`);
      await servers.target.query(`UPDATE ${DB}.wl_users SET balance = balance + 1 WHERE id = ?`, [row!.id]);
      const r = await verify(config, { chunkSize: 50 });
      const users = tableOf(r, `${DB}.wl_users`);
      expect(keysOf(users, 'different')).toEqual([[String(row!.id)]]);
      expect(users.missing.count + users.extra.count + users.stillChanging.count).toBe(0);
      expect(users.confirmed).toBe(true);
      expect(verifyExitCode(r)).toBe(1);
    } finally {
      stopWorkload.abort();
      await running.stop();
    }
  });
});
