/**
 * CPU time of another process from /proc (Linux): the Kafka broker's, over a Kafka run. The broker
 * shares the bench machine's cores with the publisher, the sink worker and both servers, so its cost
 * per row belongs beside theirs; a JVM started for the bench also spends its first minutes compiling
 * (threads "C1/C2 CompilerThread"), which a long-running broker has done long before, so that part is
 * reported apart.
 */
import { readFile, readdir } from 'node:fs/promises';

export interface ProcessCpu {
  /** User + system time of every thread, ms. */
  readonly totalMs: number;
  /** Of it, the JIT compiler threads'. */
  readonly jitMs: number;
}

/** /proc reports times in USER_HZ ticks, 100 a second on Linux whatever the kernel's own HZ. */
const TICK_MS = 10;
const JIT_THREAD = /^C[12] CompilerThre/;

/** CPU time so far of the processes `pids` (threads that ended before are not counted: sample before and after). */
export async function processCpu(pids: readonly number[]): Promise<ProcessCpu> {
  let totalMs = 0;
  let jitMs = 0;
  for (const pid of pids) {
    const tasks = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
    for (const tid of tasks) {
      const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8').catch(() => null);
      if (!stat) continue;
      const ms = threadTicks(stat) * TICK_MS;
      totalMs += ms;
      if (JIT_THREAD.test(threadName(stat))) jitMs += ms;
    }
  }
  return { totalMs, jitMs };
}

export function cpuSince(before: ProcessCpu, after: ProcessCpu): ProcessCpu {
  return { totalMs: Math.max(0, after.totalMs - before.totalMs), jitMs: Math.max(0, after.jitMs - before.jitMs) };
}

/** utime + stime of a /proc/…/stat line: fields 14 and 15, counted after the parenthesised name (which may hold spaces). */
export function threadTicks(stat: string): number {
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

export function threadName(stat: string): string {
  return stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
}
