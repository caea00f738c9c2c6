/**
 * The pipeline under test as a user runs it: the built CLI (`dist/src/cli/main.js run --config
 * config/fuzz.yaml`) in a child process, which the fuzzer can kill -9 and start again. Output goes
 * to a log file that the report points to on failure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mysql from 'mysql2/promise';
import type { BinlogPosition } from '../core/position.js';

/** The project root: the nearest folder above this module with a package.json (works from src/ and dist/). */
function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('binlog-sync fuzz: cannot find the project root (package.json)');
    dir = up;
  }
  return dir;
}

export const ROOT = projectRoot();
export const CLI = join(ROOT, 'dist/src/cli/main.js');
export const FUZZ_PIPELINE = join(ROOT, 'config/fuzz.yaml');

export interface PipelineRun {
  readonly proc: ChildProcess;
  /** The exit code (null: killed by a signal), once the output is all in the log. */
  readonly exited: Promise<number | null>;
  exitCode(): number | null | undefined;
}

/** `binlog-sync run` with the fuzz pipeline file. */
export function startPipeline(env: Record<string, string>, logFile: string, args: readonly string[] = []): PipelineRun {
  return startCommand(['run', '--config', FUZZ_PIPELINE, ...args], env, logFile);
}

/** Any CLI command (e.g. `replay --config … --from …`), its output appended to `logFile`. */
export function startCommand(args: readonly string[], env: Record<string, string>, logFile: string): PipelineRun {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm run fuzz does)`);
  const log = createWriteStream(logFile, { flags: 'a' });
  const proc = spawn(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    env: { ...process.env, LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout!.pipe(log, { end: false });
  proc.stderr!.pipe(log, { end: false });
  let code: number | null | undefined;
  const exited = new Promise<number | null>((resolve) =>
    proc.once('close', (c) => {
      code = c;
      log.end(() => resolve(c));
    }),
  );
  return { proc, exited, exitCode: () => code };
}

export const readLog = (logFile: string): string => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');

export async function storedCheckpoint(target: mysql.ConnectionOptions, pipeline: string): Promise<BinlogPosition | null> {
  const c = await mysql.createConnection(target);
  try {
    const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT binlog_file, binlog_pos FROM _binlog_sync.checkpoints WHERE pipeline = ?', [pipeline]);
    const r = rows[0];
    return r ? { file: String(r.binlog_file), pos: Number(r.binlog_pos) } : null;
  } catch (err) {
    const errno = (err as { errno?: number }).errno;
    if (errno === 1146 || errno === 1049) return null;
    throw err;
  } finally {
    await c.end();
  }
}
