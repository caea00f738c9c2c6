/**
 * Binlog retention guard: will the source purge the binlog file the checkpoint is in before the
 * pipeline has read past it? Pure; the daemon's health monitor and `status` feed it what the source
 * says (`SHOW BINARY LOGS`, `binlog_expire_logs_seconds` / `expire_logs_days`).
 *
 * The model (MariaDB and MySQL alike): at a rotation (and at start) the server purges every binlog file
 * whose last write is older than the expiry; the file being written is never purged. No SQL statement
 * tells when a file was last written, so the guard uses a lower bound: the checkpoint's file was
 * written at least up to the checkpoint's source time (the commit the checkpoint follows is in it, or
 * in an earlier file). The earliest the file can go is therefore `checkpoint time + expiry`: the
 * headroom may be larger than computed, never smaller, so a warning can come early, never late.
 */
import type { BinlogPosition } from '../core/position.js';
import type { BinlogFile } from './binlog-files.js';

export interface RetentionInput {
  readonly nowMs: number;
  /** Seconds a binlog file is kept after its last write; null when the server never purges by age. */
  readonly expireSeconds: number | null;
  /** The files on the server, oldest first (SHOW BINARY LOGS). */
  readonly files: readonly BinlogFile[];
  readonly head: BinlogPosition;
  readonly checkpoint: { readonly position: BinlogPosition; readonly sourceTimestampMs: number } | null;
  /** Binlog bytes per second the pipeline has recently moved its checkpoint by; null when unknown (not running). */
  readonly bytesPerSecond: number | null;
}

export type RetentionRisk = 'none' | 'ok' | 'at-risk' | 'purged';

export interface RetentionVerdict {
  readonly risk: RetentionRisk;
  /** Seconds until the checkpoint's file may be purged at the earliest (lower bound); null when it never is. */
  readonly headroomSeconds: number | null;
  /** Seconds to read past the checkpoint's file at `bytesPerSecond`; null when unknown. */
  readonly catchUpSeconds: number | null;
  /** One sentence for operators (log, status). */
  readonly message: string;
}

/** Warn this long before the earliest purge at least, and never with less than a tenth of the expiry left. */
const MIN_MARGIN_SECONDS = 15 * 60;

export function judgeRetention(i: RetentionInput): RetentionVerdict {
  const cp = i.checkpoint;
  if (!cp) return { risk: 'none', headroomSeconds: null, catchUpSeconds: null, message: 'no checkpoint yet' };
  const where = `${cp.position.file}:${cp.position.pos}`;
  const at = i.files.findIndex((f) => f.file === cp.position.file);
  if (at < 0) {
    const oldest = i.files[0]?.file ?? 'none';
    return {
      risk: 'purged',
      headroomSeconds: 0,
      catchUpSeconds: null,
      message: `the checkpoint ${where} is in a binlog file the source no longer has (oldest: ${oldest}): the pipeline cannot continue from it; see "binlog purged" in the README's runbook`,
    };
  }
  if (cp.position.file === i.head.file) {
    return { risk: 'ok', headroomSeconds: i.expireSeconds, catchUpSeconds: 0, message: `the checkpoint is in the binlog file being written (${i.head.file}), which the server does not purge` };
  }
  if (i.expireSeconds === null) {
    return { risk: 'ok', headroomSeconds: null, catchUpSeconds: null, message: 'the source does not expire binlogs by age (binlog_expire_logs_seconds and expire_logs_days are 0)' };
  }
  const headroom = Math.max(0, Math.round((cp.sourceTimestampMs + i.expireSeconds * 1000 - i.nowMs) / 1000));
  const bytesLeft = Math.max(0, i.files[at]!.size - cp.position.pos);
  const catchUp = i.bytesPerSecond !== null && i.bytesPerSecond > 0 ? Math.ceil(bytesLeft / i.bytesPerSecond) : null;
  const margin = Math.max(MIN_MARGIN_SECONDS, Math.round(i.expireSeconds / 10));
  const oldest = at === 0 ? ' (the oldest file, next to be purged)' : '';
  const needs = catchUp === null ? (i.bytesPerSecond === 0 ? 'the checkpoint is not moving' : 'the read rate is unknown') : `reading past it takes about ${duration(catchUp)} at the current rate`;
  const atRisk = catchUp === null ? headroom < margin : headroom < catchUp + margin;
  return {
    risk: atRisk ? 'at-risk' : 'ok',
    headroomSeconds: headroom,
    catchUpSeconds: catchUp,
    message: atRisk
      ? `the checkpoint ${where}${oldest} may be purged by the source in ${duration(headroom)} (expiry ${duration(i.expireSeconds)}), and ${needs}: ` +
        'raise binlog_expire_logs_seconds on the source, or let the pipeline catch up (more sink.lanes, a faster target); once purged, the tables must be copied again'
      : `the checkpoint ${where}${oldest} is kept at least ${duration(headroom)} more (expiry ${duration(i.expireSeconds)}); ${needs}`,
  };
}

function duration(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${Math.round(seconds / 360) / 10} h`;
  return `${Math.round(seconds / 8640) / 10} days`;
}

/** The risk as the metric says it: 0 ok (or nothing to judge), 1 at risk, 2 purged. */
export function riskLevel(risk: RetentionRisk): 0 | 1 | 2 {
  return risk === 'purged' ? 2 : risk === 'at-risk' ? 1 : 0;
}
