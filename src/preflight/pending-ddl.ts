/**
 * Resuming under `schemaChanges: apply`, the target may differ from the source's definitions of today
 * for a good reason: the binlog between the checkpoint and the head holds the DDL that made the
 * source's tables what they are now (the pipeline stopped before it, with `schemaChanges: stop`, or
 * was killed around it), and the pipeline runs it on the target in its place in the stream. So the
 * checks that compare table definitions warn instead of failing then; a target that is wrong for
 * another reason still stops the pipeline, at the first change it cannot apply, with that change's
 * table, key and statement.
 */
import type { PreflightCheck } from './report.js';

/** The checks a pending DDL can explain (columns, keys). */
const DEFINITION_CHECKS: ReadonlySet<string> = new Set(['target.tables', 'target.keys']);

export function allowPendingSchemaChanges(check: PreflightCheck, resumingUnderApply: boolean): PreflightCheck {
  if (!resumingUnderApply || check.status !== 'fail' || !DEFINITION_CHECKS.has(check.id)) return check;
  return {
    ...check,
    status: 'warn',
    detail: `${check.detail}\n(resuming with schemaChanges: apply: DDL in the binlog after the checkpoint may make these equal, and is applied in its place; a change the target cannot take stops the pipeline there)`,
  };
}
