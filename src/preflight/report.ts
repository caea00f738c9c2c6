/**
 * What `binlog-sync check` shows and `run` refuses to start without: one line per check, each with what
 * was found and, when something is wrong, the exact thing to run or change.
 */
import { PreflightError } from '../core/errors.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface PreflightCheck {
  /** Stable id for tests and scripts, e.g. `source.binlog-format`. */
  readonly id: string;
  readonly title: string;
  readonly status: CheckStatus;
  /** What was found. */
  readonly detail: string;
  /** What to do about it: statements or settings that can be pasted as they are. */
  readonly fix?: string;
}

export interface PreflightReport {
  readonly checks: readonly PreflightCheck[];
  /** At least one check failed: the pipeline must not start. Warnings do not count. */
  readonly hasHardFailure: boolean;
  /** The source tables the pipeline would copy (`db.table`, sorted); empty if the source was unreachable. */
  readonly tables: readonly string[];
}

export function makeReport(checks: readonly PreflightCheck[], tables: readonly string[]): PreflightReport {
  return Object.freeze({
    checks: Object.freeze([...checks]),
    hasHardFailure: checks.some((c) => c.status === 'fail'),
    tables: Object.freeze([...tables]),
  });
}

const MARK: Record<CheckStatus, string> = { ok: '✓', warn: '!', fail: '✗' };

function indent(text: string, by: string): string {
  return text
    .split('\n')
    .map((l) => (l === '' ? l : by + l))
    .join('\n');
}

/** A checklist: `✓ title — detail`, `!` for warnings, `✗` for failures with the fix indented below. */
export function formatPreflightReport(report: PreflightReport): string {
  const lines: string[] = [];
  for (const c of report.checks) {
    const [first = '', ...rest] = c.detail.split('\n');
    lines.push(`${MARK[c.status]} ${c.title}: ${first}`);
    if (rest.length > 0) lines.push(indent(rest.join('\n'), '    '));
    if (c.fix !== undefined && c.status !== 'ok') {
      lines.push('    fix:');
      lines.push(indent(c.fix, '      '));
    }
  }
  const fails = report.checks.filter((c) => c.status === 'fail').length;
  const warns = report.checks.filter((c) => c.status === 'warn').length;
  lines.push(
    '',
    fails > 0
      ? `${fails} check${fails === 1 ? '' : 's'} failed${warns > 0 ? `, ${warns} warning${warns === 1 ? '' : 's'}` : ''}: fix ${fails === 1 ? 'it' : 'them'} before running the pipeline.`
      : `All checks passed${warns > 0 ? ` with ${warns} warning${warns === 1 ? '' : 's'}` : ''}.`,
  );
  return lines.join('\n');
}

/** Throws `PREFLIGHT_FAILED` with the whole checklist when a check failed (what `run` does first). */
export function assertPreflightPassed(report: PreflightReport): void {
  if (report.hasHardFailure) {
    throw new PreflightError('PREFLIGHT_FAILED', `preflight checks failed:\n${formatPreflightReport(report)}`, {
      details: { failed: report.checks.filter((c) => c.status === 'fail').map((c) => c.id) },
    });
  }
}
