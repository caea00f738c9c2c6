/**
 * Runs the built CLI (`dist/src/cli/main.js`) as a child process, as a user would, against the test
 * servers, with config/test-pipeline.yaml. Output goes to a log file (read it on failure).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import type { ServerEndpoint } from '../../src/local/mariadb-server.js';
import type { BinlogPosition } from '../../src/core/position.js';
import { binlogHead } from '../../src/local/binlog-head.js';
import { connectionEnv } from '../../src/local/pipeline-env.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = join(ROOT, 'dist/src/cli/main.js');
export const TEST_PIPELINE = join(ROOT, 'config/test-pipeline.yaml');

export function pipelineEnv(source: ServerEndpoint, target: ServerEndpoint, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...connectionEnv(source, target),
    LOG_FORMAT: 'json',
    ...extra,
  };
}

export interface CliRun {
  readonly proc: ChildProcess;
  readonly exited: Promise<number | null>;
  /** Resolves once the daemon logged that it is running (its signal handlers are in place); rejects if it exits first. */
  readonly running: Promise<void>;
  output(): string;
}

/**
 * Every daemon a test started that has not exited. A test that fails or times out before stopping its
 * daemons would leave them running (found: publishers of a timed-out Kafka test still running after
 * the suite); the files' afterAll hooks kill what is left.
 */
const startedClis = new Set<ChildProcess>();

/** SIGKILLs every daemon started by `startCli` that has not exited (for afterAll hooks). */
export function killStartedClis(): void {
  for (const p of startedClis) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  startedClis.clear();
}

export function startCli(args: string[], env: Record<string, string>, logFile: string): CliRun {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
  const log = createWriteStream(logFile, { flags: 'a' });
  const proc = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  startedClis.add(proc);
  proc.once('exit', () => startedClis.delete(proc));
  proc.stdout!.pipe(log, { end: false });
  proc.stderr!.pipe(log, { end: false });
  // 'close' comes once the child's stdout and stderr have ended; the empty write calls back once
  // everything before it is in the log file, so output() then has all of it.
  const exited = new Promise<number | null>((resolve) =>
    proc.once('close', (code) => {
      log.write('', () => resolve(code));
    }),
  );
  const running = new Promise<void>((resolve, reject) => {
    let seen = '';
    const onData = (d: Buffer): void => {
      seen = (seen + d.toString()).slice(-4096);
      if (seen.includes('"msg":"starting"')) {
        proc.stdout!.off('data', onData);
        resolve();
      }
    };
    proc.stdout!.on('data', onData);
    void exited.then((code) => reject(new Error(`binlog-sync exited (${code}) before it was running`)));
  });
  running.catch(() => undefined);
  return { proc, exited, running, output: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '') };
}

/** Runs a CLI command to completion; returns its exit code, stdout and stderr. */
export function runCli(args: string[], env: Record<string, string>, timeoutMs = 120_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`binlog-sync ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    proc.once('exit', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
  });
}

export async function sourceHead(source: ServerEndpoint): Promise<BinlogPosition> {
  const c = await mysql.createConnection(source);
  try {
    return await binlogHead(c);
  } finally {
    await c.end();
  }
}

export async function storedCheckpoint(target: ServerEndpoint, pipeline: string): Promise<BinlogPosition | null> {
  const c = await mysql.createConnection(target);
  try {
    const [rows] = await c.query<mysql.RowDataPacket[]>(
      'SELECT binlog_file, binlog_pos FROM _binlog_sync.checkpoints WHERE pipeline = ?',
      [pipeline],
    );
    const r = rows[0];
    return r ? { file: String(r.binlog_file), pos: Number(r.binlog_pos) } : null;
  } catch (err) {
    if ((err as { errno?: number }).errno === 1146 || (err as { errno?: number }).errno === 1049) return null;
    throw err;
  } finally {
    await c.end();
  }
}

/** Waits until the stored checkpoint reaches the source's current head. */
export async function waitForCatchUp(source: ServerEndpoint, target: ServerEndpoint, pipeline: string, timeoutMs = 90_000): Promise<BinlogPosition> {
  const head = await sourceHead(source);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const cp = await storedCheckpoint(target, pipeline).catch(() => null);
    if (cp && (cp.file > head.file || (cp.file === head.file && cp.pos >= head.pos))) return cp;
    if (Date.now() > deadline) throw new Error(`not caught up after ${timeoutMs} ms: checkpoint ${cp ? `${cp.file}:${cp.pos}` : 'none'}, head ${head.file}:${head.pos}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
