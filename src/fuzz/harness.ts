/**
 * One differential fuzz run: three throwaway MariaDB servers (the source, a native replica, the
 * pipeline's target), a random schema created on all three (the source's copy not logged, so both
 * followers start from the same empty binlog position), a random workload on the source while the
 * pipeline runs as a child process that is killed with SIGKILL and restarted at random moments, then
 * the judgement: every table of the target must equal the native replica's by the full-row digest
 * (in the `rows` profile again after `replay` of the whole range over it), or, for the stop profiles,
 * the pipeline must have stopped with the specific error, its checkpoint before the event, and the
 * target must equal the replica stopped at that checkpoint.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { comparePositions, formatPosition, type BinlogPosition } from '../core/position.js';
import { LocalMariaDb, type ServerEndpoint } from '../local/mariadb-server.js';
import { binlogHead } from '../local/binlog-head.js';
import { connectionEnv } from '../local/pipeline-env.js';
import { assertSameData } from '../verify/digest.js';
import { NativeReplica } from './native-replica.js';
import { FUZZ_PIPELINE, readLog, startCommand, startPipeline, storedCheckpoint, type PipelineRun } from './pipeline-process.js';
import { FuzzRandom } from './random.js';
import { generateSchema, schemaDdl, type FuzzSchema } from './schema.js';
import { judgeRunning, judgeStop, judgeTriggerRefusal, lastLines } from './verdict.js';
import { FUZZ_PROFILES, runFuzzWorkload, type FuzzProfile, type WorkloadResult } from './workload.js';

export interface FuzzOptions {
  readonly seed: number;
  readonly durationMs: number;
  /** `auto`: drawn from the seed. */
  readonly profile: FuzzProfile | 'auto';
  /** kill -9 restarts of the pipeline during the workload. */
  readonly kills: number;
  readonly sessions: number;
  readonly log?: (line: string) => void;
}

export interface FuzzReport {
  readonly seed: number;
  readonly profile: FuzzProfile;
  readonly ok: boolean;
  readonly problems: readonly string[];
  readonly schema: FuzzSchema;
  readonly workload: WorkloadResult | null;
  readonly kills: number;
  /** The command that runs this case again. */
  readonly repro: string;
  /** The pipeline's log (kept when the run failed). */
  readonly logFile: string;
}

export const DB = 'fz';
const PIPELINE = 'fuzz';

/** The profile a seed gets under `auto`: mostly full differential runs. */
export function profileForSeed(seed: number): FuzzProfile {
  return new FuzzRandom(seed).fork('profile').weighted<FuzzProfile>([
    [5, 'rows'],
    [2, 'statement-apply'],
    [1.5, 'statement-stop'],
    [1.5, 'row-image'],
  ]);
}

async function withConnection<T>(endpoint: ServerEndpoint, fn: (c: mysql.Connection) => Promise<T>): Promise<T> {
  const c = await mysql.createConnection({ ...endpoint, multipleStatements: false });
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => c.destroy());
  }
}

async function createSchema(endpoint: ServerEndpoint, statements: readonly string[], logged: boolean): Promise<void> {
  await withConnection(endpoint, async (c) => {
    if (!logged) await c.query('SET SESSION sql_log_bin = 0');
    for (const sql of statements) {
      try {
        await c.query(sql);
      } catch (err) {
        throw new Error(`fuzz schema statement refused (${(err as Error).message}):\n${sql}`, { cause: err });
      }
    }
  });
}

export function reproCommand(o: { seed: number; durationMs: number; profile: FuzzProfile; kills: number; sessions: number }): string {
  return `npm run fuzz -- --seed ${o.seed} --minutes ${+(o.durationMs / 60_000).toFixed(3)} --profile ${o.profile} --kills ${o.kills} --sessions ${o.sessions}`;
}

async function waitForExitOrCheckpoint(run: PipelineRun, target: ServerEndpoint, head: BinlogPosition, timeoutMs: number): Promise<'exited' | 'caught-up' | 'timeout'> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void run.exited.then(() => (exited = true));
  for (;;) {
    if (exited) return 'exited';
    const cp = await storedCheckpoint(target, PIPELINE).catch(() => null);
    if (cp && comparePositions(cp, head) >= 0) return 'caught-up';
    if (Date.now() > deadline) return 'timeout';
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** What the runs in progress have started, so an interrupted fuzzer (Ctrl-C, SIGTERM) can stop it. */
const inProgress = new Set<() => Promise<void>>();

/** Stops the servers and pipelines of every run in progress; for the CLI's signal handlers. */
export async function stopRunsInProgress(): Promise<void> {
  const stops = [...inProgress];
  inProgress.clear();
  await Promise.allSettled(stops.map((stop) => stop()));
}

export async function runFuzz(o: FuzzOptions): Promise<FuzzReport> {
  const say = o.log ?? ((line: string) => console.log(`[fuzz] ${line}`));
  const profile = o.profile === 'auto' ? profileForSeed(o.seed) : o.profile;
  if (!FUZZ_PROFILES.includes(profile)) throw new Error(`unknown fuzz profile ${profile}: one of ${FUZZ_PROFILES.join(', ')}`);
  const root = new FuzzRandom(o.seed);
  const schema = generateSchema(root.fork('schema'), { db: DB, triggers: profile !== 'statement-apply' });
  const repro = reproCommand({ ...o, profile });
  const dir = mkdtempSync(join(tmpdir(), `binlog-sync-fuzz-${o.seed}-`));
  const logFile = join(dir, 'pipeline.log');
  const problems: string[] = [];
  let workload: WorkloadResult | null = null;
  let kills = 0;
  say(`seed ${o.seed}, profile ${profile}: ${schema.tables.length} tables, ${schema.tables.reduce((n, t) => n + t.columns.length, 0)} columns, ${schema.triggers.length} triggers; ${o.sessions} sessions for ${(o.durationMs / 1000).toFixed(0)} s, ${o.kills} kill -9`);

  // Started together; if one fails to start, the others are stopped before the error goes on.
  const started = await Promise.allSettled([
    LocalMariaDb.start({ label: 'fuzz-source', serverId: 1, binlog: true, durable: false }),
    LocalMariaDb.start({ label: 'fuzz-replica', serverId: 2, binlog: false, durable: false }),
    LocalMariaDb.start({ label: 'fuzz-target', serverId: 3, binlog: false, durable: false }),
  ]);
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.allSettled(started.map((r) => (r.status === 'fulfilled' ? r.value.stop() : undefined)));
    throw failed.reason;
  }
  const servers = started.map((r) => (r as PromiseFulfilledResult<LocalMariaDb>).value) as [LocalMariaDb, LocalMariaDb, LocalMariaDb];
  const [source, replicaServer, targetServer] = servers;
  const src = source.endpoint();
  const tgt = targetServer.endpoint();
  let replica: NativeReplica | null = null;
  let run: PipelineRun | null = null;
  const stopAll = async (): Promise<void> => {
    if (run && run.exitCode() === undefined) {
      run.proc.kill('SIGKILL');
      await run.exited;
    }
    await replica?.close();
    await Promise.allSettled(servers.map((s) => s.stop()));
  };
  inProgress.add(stopAll);
  try {
    const ddl = schemaDdl(schema);
    await createSchema(src, ddl, false);
    await createSchema(replicaServer.endpoint(), ddl, true);
    await createSchema(tgt, ddl, true);
    const start = await withConnection(src, binlogHead);
    const env: Record<string, string> = {
      PIPELINE_NAME: PIPELINE,
      ...connectionEnv(src, tgt),
      SYNC_DB: DB,
      START_FILE: start.file,
      START_POS: String(start.pos),
      STATEMENT_EVENTS: profile === 'statement-apply' ? 'apply' : 'stop',
    };

    // A target seeded from a dump has the source's triggers: run must refuse and name each one.
    if (schema.triggers.length > 0) {
      const refused = startPipeline(env, logFile);
      const killTimer = setTimeout(() => refused.proc.kill('SIGKILL'), 60_000);
      const exitCode = await refused.exited;
      clearTimeout(killTimer);
      problems.push(...judgeTriggerRefusal(schema.triggers.map((t) => ({ db: DB, name: t.name })), { exitCode, output: readLog(logFile) }));
      await withConnection(tgt, async (c) => {
        for (const t of schema.triggers) await c.query(`DROP TRIGGER \`${DB}\`.\`${t.name}\``);
      });
    }

    replica = await NativeReplica.configure(replicaServer.endpoint(), src, start);
    const stopProfile = profile === 'statement-stop' || profile === 'row-image';
    // The stop profiles' replica waits: it replays up to the pipeline's final checkpoint later.
    if (!stopProfile) await replica.start();

    run = startPipeline(env, logFile);
    const ac = new AbortController();
    const workloadDone = runFuzzWorkload(src, { schema, durationMs: o.durationMs, sessions: o.sessions, profile, random: root.fork('workload'), signal: ac.signal });
    const killRandom = root.fork('kills');
    const killAt = Array.from({ length: o.kills }, () => o.durationMs * (0.05 + 0.9 * killRandom.float())).sort((a, b) => a - b);
    const began = Date.now();
    let finished = false;
    const workloadSettled = workloadDone.then(
      () => (finished = true),
      () => (finished = true),
    );
    for (const at of killAt) {
      while (!finished && Date.now() - began < at) await new Promise((r) => setTimeout(r, 50));
      if (finished) break;
      if (run.exitCode() !== undefined) break; // stopped by design (or failed): judged below
      run.proc.kill('SIGKILL');
      await run.exited;
      kills++;
      run = startPipeline(env, logFile);
    }
    await workloadSettled;
    workload = await workloadDone;
    const head = await withConnection(src, binlogHead);
    const w = workload.stats;
    say(
      `workload: ${w.committed} committed, ${w.rolledBack} rolled back, ${w.statements} statements (${w.keyChanges} key changes, ${w.swaps} unique swaps, ${w.largeValues} large values, ${w.statementFormatTx} statement-format transactions, XA: ${w.xaCommitted} committed, ${w.xaRolledBack} rolled back, ${w.xaOnePhase} one phase; ${w.bulkInserts} bulk inserts, ${w.rotations} binlog rotations); refused by the server: ${[...w.refused].map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}; source head ${formatPosition(head)}`,
    );
    if (process.env.FUZZ_VERBOSE) for (const [code, message] of w.refusedExample) say(`  e.g. ${code}: ${message}`);

    if (stopProfile) {
      const change = workload.change;
      if (!change) {
        problems.push('the workload found no row for its session change (an empty schema?)');
      } else {
        say(`session change: ${change.setting}, ${change.sql} (binlog ${formatPosition(change.before)}..${formatPosition(change.after)})`);
        const state = await waitForExitOrCheckpoint(run, tgt, head, 180_000);
        if (state !== 'exited') {
          problems.push(`the pipeline did not stop after ${change.setting} (${state === 'caught-up' ? 'it caught up past the change' : 'still running after 180 s'})`);
        } else {
          const exitCode = await run.exited;
          const checkpoint = await storedCheckpoint(tgt, PIPELINE);
          const stop = judgeStop(change, { exitCode, output: readLog(logFile) }, checkpoint);
          problems.push(...stop.problems);
          // A restart stops at the same event again (the checkpoint did not move past it).
          const again = startPipeline(env, logFile);
          const againState = await waitForExitOrCheckpoint(again, tgt, head, 120_000);
          if (againState !== 'exited') problems.push(`after a restart the pipeline did not stop again at the same event (${againState})`);
          else {
            const second = judgeStop(change, { exitCode: await again.exited, output: readLog(logFile) }, await storedCheckpoint(tgt, PIPELINE));
            if (second.position && stop.position && comparePositions(second.position, stop.position) !== 0) {
              problems.push(`after a restart it stopped at ${formatPosition(second.position)}, not at ${formatPosition(stop.position)}`);
            }
          }
          run = again;
          const upTo = checkpoint ?? start;
          say(`pipeline stopped at ${stop.position ? formatPosition(stop.position) : '?'} with checkpoint ${formatPosition(upTo)}; replaying the native replica up to the checkpoint`);
          if (comparePositions(upTo, start) > 0) {
            await replica.start(upTo);
            await replica.waitFor(upTo, { stopped: true });
          }
          await compare(replicaServer.endpoint(), tgt, problems);
        }
      }
    } else {
      const state = await waitForExitOrCheckpoint(run, tgt, head, 300_000);
      const checkpoint = await storedCheckpoint(tgt, PIPELINE).catch(() => null);
      problems.push(...judgeRunning(state === 'exited' ? { exitCode: await run.exited, output: readLog(logFile) } : null, checkpoint, head));
      await replica.waitFor(head);
      if (state === 'caught-up') await compare(replicaServer.endpoint(), tgt, problems);
      // A clean stop: drain, final checkpoint, exit 0.
      if (run.exitCode() === undefined) {
        run.proc.kill('SIGTERM');
        const code = await run.exited;
        if (code !== 0) problems.push(`SIGTERM: the pipeline exited ${String(code)}, not 0: ${lastLines(readLog(logFile), 6)}`);
      }
      // Replaying everything from the start over the synced target must converge to the same state.
      // (Not after statement-format changes: a replay from before one that ran is refused by design.)
      if (profile === 'rows' && state === 'caught-up' && problems.length === 0) {
        const replay = startCommand(['replay', '--config', FUZZ_PIPELINE, '--from', formatPosition(start)], env, logFile);
        const killTimer = setTimeout(() => replay.proc.kill('SIGKILL'), 300_000);
        const code = await replay.exited;
        clearTimeout(killTimer);
        if (code !== 0) problems.push(`replay --from ${formatPosition(start)} exited ${String(code)}, not 0: ${lastLines(readLog(logFile), 6)}`);
        else {
          say('replayed the whole range over the target; comparing again');
          await compare(replicaServer.endpoint(), tgt, problems, 'after replay --from the start: ');
        }
      }
    }
    // The reference itself: the native replica against the source (a difference there is the workload's doing, not the pipeline's).
    if (!stopProfile) {
      await assertSameData(src, replicaServer.endpoint(), DB, { source: 'source', target: 'native replica' }).catch((err: unknown) =>
        say(`note: the native replica differs from the source too (statement-format non-determinism?):\n${(err as Error).message}`),
      );
    }
  } catch (err) {
    problems.push(`the fuzz run failed: ${(err as Error).stack ?? String(err)}`);
  } finally {
    inProgress.delete(stopAll);
    // FUZZ_KEEP=1 keeps the servers of a failed run for a look (stop them with kill; their data is under /tmp).
    if (problems.length > 0 && process.env.FUZZ_KEEP) {
      if (run && run.exitCode() === undefined) {
        run.proc.kill('SIGKILL');
        await run.exited;
      }
      await replica?.close();
      say(`kept for inspection: source ${src.port}, native replica ${replicaServer.port}, target ${tgt.port} (user ${src.user}/${src.password})`);
    } else await stopAll();
  }
  const ok = problems.length === 0;
  if (ok) rmSync(dir, { recursive: true, force: true });
  return { seed: o.seed, profile, ok, problems, schema, workload, kills, repro, logFile };
}

async function compare(replica: ServerEndpoint, target: ServerEndpoint, problems: string[], context = ''): Promise<void> {
  try {
    await assertSameData(replica, target, DB, { source: 'native replica', target: 'pipeline target' });
  } catch (err) {
    problems.push(`${context}${(err as Error).message}`);
  }
}
