/** Starts `pipeline-child.js` with a spec, optionally under `node --cpu-prof`, and collects its result. */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onCleanup } from './cleanup.js';
import { RESULT_PREFIX, SPEC_ENV, type ChildMessage, type ChildResult, type ChildSpec, type ParentMessage } from './child-spec.js';

const CHILD_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'pipeline-child.js');

export interface ChildRun {
  /** Resolves once the child reports that it is reading. */
  readonly running: Promise<void>;
  readonly result: Promise<ChildResult>;
  send(message: ParentMessage): void;
}

/** Extra `node` options for every child (e.g. `--max-old-space-size=192`), set once by main. */
let childNodeArgs: readonly string[] = [];
export function setChildNodeArgs(args: readonly string[]): void {
  childNodeArgs = args;
}

/** A child that crashed, was killed or ended without a result; with its peak RSS as last seen from outside. */
export class ChildFailed extends Error {
  constructor(
    message: string,
    /** VmHWM read from /proc every 500 ms while it ran (0 if never read). */
    readonly peakRssBytes: number,
  ) {
    super(message);
    this.name = 'ChildFailed';
  }
}

/** VmHWM of a process, 0 once it is gone. */
function peakRssOf(pid: number | undefined): number {
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export interface ChildOptions {
  readonly cpuProfDir?: string;
  /** Kill the child (SIGKILL) and fail once it has run this long: a stuck pipeline must not hang the bench. */
  readonly timeoutMs?: number;
}

export function startChild(spec: ChildSpec, options: ChildOptions = {}): ChildRun {
  const args = [...childNodeArgs, ...(options.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`] : []), CHILD_SCRIPT];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, [SPEC_ENV]: JSON.stringify(spec) },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const unregister = onCleanup(`${spec.mode} child ${child.pid ?? '?'}`, async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  // Sampled from outside too, so that a child killed by an out-of-memory error still reports how high it got.
  let outsidePeak = 0;
  const sampler = setInterval(() => (outsidePeak = Math.max(outsidePeak, peakRssOf(child.pid))), 500);
  let timedOut = false;
  const timer = options.timeoutMs
    ? setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, options.timeoutMs)
    : null;
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    if (stderr.length > 200_000) stderr = stderr.slice(-100_000);
  });
  let markRunning: () => void = () => {};
  const running = new Promise<void>((resolve) => (markRunning = resolve));
  child.on('message', (m: ChildMessage) => {
    if (m.type === 'running') markRunning();
  });
  const result = new Promise<ChildResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      unregister();
      if (timer) clearTimeout(timer);
      clearInterval(sampler);
      const line = stdout.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
      if (code === 0 && line) {
        resolve(JSON.parse(line.slice(RESULT_PREFIX.length)) as ChildResult);
      } else {
        const tail = stderr.trim().split('\n').slice(-25).join('\n');
        const why = timedOut ? `was killed after ${Math.round(options.timeoutMs! / 1000)} s without finishing` : `exited with ${signal ?? `code ${code}`}${line ? '' : ' without a result'}`;
        reject(new ChildFailed(`${spec.mode} child ${why}:\n${tail}`, outsidePeak));
      }
    });
  });
  // A child that fails before it runs must not leave `running` pending forever.
  result.then(markRunning, markRunning);
  return {
    running,
    result,
    send: (message) => {
      if (child.connected) child.send(message);
    },
  };
}

export function runChild(spec: ChildSpec, options: ChildOptions = {}): Promise<ChildResult> {
  return startChild(spec, options).result;
}
