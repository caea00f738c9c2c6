/**
 * The fuzzer's judgement of what the pipeline did, apart from the data itself (which the digests
 * compare): pure functions over the pipeline's exit code, output and stored checkpoint, each
 * returning the problems found (empty: as expected).
 */
import { comparePositions, formatPosition, type BinlogPosition } from '../core/position.js';
import type { SessionChange } from './workload.js';

/** The error code the pipeline must stop with for each kind of session change. */
export const STOP_CODES: Readonly<Record<SessionChange['kind'], string>> = {
  statement: 'SOURCE_STATEMENT_EVENT',
  'row-image': 'SOURCE_PARTIAL_ROW_IMAGE',
};

export interface PipelineOutcome {
  /** null: killed by a signal. */
  readonly exitCode: number | null;
  readonly output: string;
}

/** With triggers on the synced target tables, `run` must refuse to start and name every one with its DROP statement. */
export function judgeTriggerRefusal(triggers: readonly { db: string; name: string }[], run: PipelineOutcome): string[] {
  if (triggers.length === 0) return [];
  const problems: string[] = [];
  if (run.exitCode !== 3) problems.push(`with triggers on the target, run exited ${String(run.exitCode)} instead of refusing to start (exit 3)`);
  for (const t of triggers) {
    const drop = `DROP TRIGGER \`${t.db}\`.\`${t.name}\``;
    if (!run.output.includes(drop)) problems.push(`the refusal does not give "${drop}" for target trigger ${t.db}.${t.name}`);
  }
  return problems;
}

/**
 * The position the pipeline's fatal error names (`binlog-sync: … at mysql-bin.000001:1234 … [CODE]`;
 * the message may span lines, the code ends it).
 */
export function stopPosition(output: string, code: string): BinlogPosition | null {
  const end = output.lastIndexOf(`[${code}]`);
  if (end < 0) return null;
  const start = output.lastIndexOf('binlog-sync: ', end);
  const m = /\bat ([^\s:"]+):(\d+)/.exec(output.slice(Math.max(0, start), end));
  return m ? { file: m[1]!, pos: Number(m[2]) } : null;
}

export interface StopJudgement {
  readonly problems: string[];
  readonly position: BinlogPosition | null;
}

/**
 * A stop profile: the pipeline must have exited on its own (not killed, not 0) with the change's
 * specific error, naming a position inside the change's binlog range, with the stored checkpoint
 * before that position.
 */
export function judgeStop(change: SessionChange, run: PipelineOutcome, checkpoint: BinlogPosition | null): StopJudgement {
  const code = STOP_CODES[change.kind];
  const problems: string[] = [];
  if (run.exitCode === 0 || run.exitCode === null) {
    problems.push(`after ${change.setting} (${change.sql} between ${formatPosition(change.before)} and ${formatPosition(change.after)}) the pipeline did not stop with an error (exit ${String(run.exitCode)})`);
  }
  const position = stopPosition(run.output, code);
  if (!position) {
    problems.push(`the pipeline's output has no ${code} error naming a position (after ${change.setting} on ${change.table})`);
    return { problems, position };
  }
  if (comparePositions(position, change.before) < 0 || comparePositions(position, change.after) > 0) {
    problems.push(`${code} names ${formatPosition(position)}, outside the change's range ${formatPosition(change.before)}..${formatPosition(change.after)}`);
  }
  if (checkpoint && comparePositions(checkpoint, position) >= 0) {
    problems.push(`the checkpoint ${formatPosition(checkpoint)} is not before the ${code} event at ${formatPosition(position)}: a restart would skip it`);
  }
  return { problems, position };
}

/** A profile without a stop: the pipeline was still running when the source's head was reached. */
export function judgeRunning(run: PipelineOutcome | null, checkpoint: BinlogPosition | null, head: BinlogPosition): string[] {
  if (run) return [`the pipeline exited (${String(run.exitCode)}) before it caught up: ${lastLines(run.output, 8)}`];
  if (!checkpoint || comparePositions(checkpoint, head) < 0) return [`the checkpoint ${checkpoint ? formatPosition(checkpoint) : '(none)'} did not reach the source's head ${formatPosition(head)}`];
  return [];
}

export function lastLines(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}
