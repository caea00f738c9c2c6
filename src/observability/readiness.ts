/**
 * `/readyz`: the daemon is ready when its pipeline runs, its binlog connection is open and data (an
 * event or a heartbeat) keeps arriving, and changes waiting for the target get committed. Pure: the
 * health monitor (`health-monitor.ts`) gathers the input.
 */

export interface ReadinessInput {
  /** The pipeline has started and is not stopping. */
  readonly running: boolean;
  /** A binlog dump is open. */
  readonly sourceConnected: boolean;
  /** We paused the socket (the pipeline is full): no data is then expected. */
  readonly sourcePaused: boolean;
  /** Since binlog data last arrived; null before any. */
  readonly msSinceSourceData: number | null;
  /** The source's silence limit (source.silentAfterMs): heartbeats come several times within it. */
  readonly silentAfterMs: number;
  /** Mutations read and not yet committed on the target. */
  readonly pendingMutations: number;
  /** How long `pendingMutations` have waited with no lane batch committed (see ApplyProgressWatch). */
  readonly msWithoutApplyProgress: number;
}

export interface Readiness {
  readonly ready: boolean;
  /** Why not, one sentence each (empty when ready). */
  readonly reasons: readonly string[];
}

export function judgeReadiness(i: ReadinessInput): Readiness {
  const reasons: string[] = [];
  const limit = i.silentAfterMs;
  if (!i.running) reasons.push('the pipeline is not running (starting, or stopping)');
  else {
    if (!i.sourceConnected) reasons.push('no binlog connection to the source (connecting or reconnecting)');
    else if (!i.sourcePaused && i.msSinceSourceData !== null && i.msSinceSourceData > limit) {
      reasons.push(`no binlog data from the source for ${seconds(i.msSinceSourceData)} (not even a heartbeat; source.silentAfterMs is ${seconds(limit)})`);
    }
    if (i.pendingMutations > 0 && i.msWithoutApplyProgress > limit) {
      reasons.push(`${i.pendingMutations} changes waiting and none committed on the target for ${seconds(i.msWithoutApplyProgress)}`);
    }
  }
  return { ready: reasons.length === 0, reasons };
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

/**
 * How long pending changes have waited without any lane batch committing. Fed a reading now and then
 * (the monitor's tick); progress, or nothing pending, resets it.
 */
export class ApplyProgressWatch {
  private applied = -1;
  private since = 0;

  observe(nowMs: number, mutationsApplied: number, pending: number): number {
    if (pending === 0 || mutationsApplied !== this.applied) {
      this.applied = mutationsApplied;
      this.since = nowMs;
    }
    return nowMs - this.since;
  }
}
