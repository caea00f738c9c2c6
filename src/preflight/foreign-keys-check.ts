/**
 * The target must have the source's foreign keys among the synced tables, and no others. The rows
 * that ON DELETE / ON UPDATE CASCADE, SET NULL or SET DEFAULT change on the source are not in the
 * binlog (MariaDB, MySQL before 9.x): as on a native replica, only the target's own foreign keys,
 * with the same rules, make those changes there. Refused:
 * - a source foreign key the target lacks (unless `target.allowMissingForeignKeys`: then a warning,
 *   since cascades do not happen on the target and it drifts);
 * - one whose rules differ on the target, and a target foreign key the source does not have: the
 *   target would cascade, or reject, changes differently from the source;
 * - a foreign key with one side synced and the other not: a synced child of a table that is not
 *   synced, or a synced parent whose child, changed by the parent's cascades, is not synced.
 * Foreign keys are matched by their columns and tables, not by name; RESTRICT equals NO ACTION.
 */
import type { Connection } from 'mysql2/promise';
import type { PipelineConfig, SourceConfig } from '../config/schema.js';
import { TableFilter } from '../core/table-filter.js';
import {
  changesChildRows,
  describeForeignKey,
  foreignKeyDefinition,
  readForeignKeys,
  sameRule,
  type ForeignKey,
} from './foreign-keys.js';
import type { PreflightCheck } from './report.js';
import { qualifiedName, type SourceTable, type TableName } from './source-checks.js';
import { quoteIdent, rows } from './sql.js';

export type ForeignKeyDifference =
  /** A synced child references a table that is not synced. */
  | { readonly kind: 'parent-not-synced'; readonly fk: ForeignKey }
  /** A synced parent's cascades change a child table that is not synced. */
  | { readonly kind: 'child-not-synced'; readonly fk: ForeignKey }
  | { readonly kind: 'missing'; readonly fk: ForeignKey }
  | { readonly kind: 'rules-differ'; readonly fk: ForeignKey; readonly target: ForeignKey }
  /** A target foreign key (`fk` is the target's) that the source does not have. */
  | { readonly kind: 'extra'; readonly fk: ForeignKey };

/** Same tables and the same column pairs (in any order; column names case-insensitively). */
function structure(fk: ForeignKey): string {
  const pairs = fk.childColumns.map((c, i) => `${c.toLowerCase()}=${(fk.parentColumns[i] ?? '').toLowerCase()}`).sort();
  return `${qualifiedName(fk.child)}\u0000${qualifiedName(fk.parent)}\u0000${pairs.join(',')}`;
}

const cascades = (fk: ForeignKey): boolean => changesChildRows(fk.onDelete) || changesChildRows(fk.onUpdate);

/**
 * `synced`: the pipeline's tables (`db.table`); `onTarget`: those of them that exist on the target
 * (a foreign key of a table the target lacks is left to the table check, whose CREATE TABLE has it).
 */
export function compareForeignKeys(
  source: readonly ForeignKey[],
  target: readonly ForeignKey[],
  synced: ReadonlySet<string>,
  onTarget: ReadonlySet<string>,
): ForeignKeyDifference[] {
  const isSynced = (t: TableName) => synced.has(qualifiedName(t));
  const relevant = (fk: ForeignKey) => isSynced(fk.child) || isSynced(fk.parent);
  const unmatched = target.filter(relevant);
  const diffs: ForeignKeyDifference[] = [];
  for (const fk of source.filter(relevant)) {
    const at = unmatched.findIndex((t) => structure(t) === structure(fk));
    const twin = at >= 0 ? unmatched.splice(at, 1)[0] : undefined;
    if (!isSynced(fk.parent)) {
      diffs.push({ kind: 'parent-not-synced', fk });
      continue;
    }
    if (!isSynced(fk.child)) {
      // A RESTRICT key of an unsynced child only ever stops the source: nothing goes unlogged.
      if (cascades(fk)) diffs.push({ kind: 'child-not-synced', fk });
      continue;
    }
    if (!onTarget.has(qualifiedName(fk.child)) || !onTarget.has(qualifiedName(fk.parent))) continue;
    if (!twin) diffs.push({ kind: 'missing', fk });
    else if (!sameRule(fk.onDelete, twin.onDelete) || !sameRule(fk.onUpdate, twin.onUpdate)) diffs.push({ kind: 'rules-differ', fk, target: twin });
  }
  for (const fk of unmatched) diffs.push({ kind: 'extra', fk });
  return diffs;
}

function rulesText(fk: ForeignKey): string {
  return `ON DELETE ${fk.onDelete} ON UPDATE ${fk.onUpdate}`;
}

/** `ON DELETE CASCADE and ON UPDATE SET NULL`: the rules that change child rows, or '' when none does. */
function actingRules(fk: ForeignKey): string {
  return [
    ...(changesChildRows(fk.onDelete) ? [`ON DELETE ${fk.onDelete}`] : []),
    ...(changesChildRows(fk.onUpdate) ? [`ON UPDATE ${fk.onUpdate}`] : []),
  ].join(' and ');
}

/** `are deleted` / `change their key` / both: when the acting rules fire. */
function whenParentRows(fk: ForeignKey): string {
  return [...(changesChildRows(fk.onDelete) ? ['are deleted'] : []), ...(changesChildRows(fk.onUpdate) ? ['change their key'] : [])].join(' or ');
}

function explain(d: ForeignKeyDifference, allowMissing: boolean): string {
  const fk = d.fk;
  const [child, parent] = [qualifiedName(fk.child), qualifiedName(fk.parent)];
  const named = `foreign key ${fk.name} ${describeForeignKey(fk)}`;
  const unlogged = cascades(fk) ? `the ${child} rows its ${actingRules(fk)} changes when ${parent} rows ${whenParentRows(fk)} are not in the binlog` : '';
  switch (d.kind) {
    case 'parent-not-synced':
      return `${child} is synced but ${parent}, which its ${named} (${rulesText(fk)}) references, is not: ${
        cascades(fk) ? `${unlogged}, and only a synced ${parent} would make those changes on the target` : `on the target it would check ${child} against rows the pipeline does not copy`
      }`;
    case 'child-not-synced':
      return `${parent} is synced but ${child} is not, and its ${named} (${rulesText(fk)}) acts on it: ${unlogged}`;
    case 'missing':
      return `${named} (${rulesText(fk)}) is missing on the target: ${
        cascades(fk) ? `${unlogged}, so without it the target keeps them unchanged and drifts` : 'the target does not check it, so the tables no longer hold to the same rules'
      }${allowMissing ? ' (accepted by target.allowMissingForeignKeys)' : ''}`;
    case 'rules-differ':
      return `${named} is ${rulesText(fk)} on the source, ${rulesText(d.target)} on the target${d.target.name === fk.name ? '' : ` (as ${d.target.name})`}: the target would cascade or reject changes differently from the source`;
    case 'extra':
      return `${named} (${rulesText(fk)}) on the target is not on the source: the target would cascade or reject changes the source allowed`;
  }
}

function alterTable(t: TableName): string {
  return `ALTER TABLE ${quoteIdent(t.db)}.${quoteIdent(t.table)}`;
}

/** How to sync both tables of a foreign key, or neither: the pipeline file edits. */
function syncBothOrNeither(fk: ForeignKey, source: SourceConfig, synced: ReadonlySet<string>): string {
  const [inside, outside] = synced.has(qualifiedName(fk.child)) ? [fk.child, fk.parent] : [fk.parent, fk.child];
  const excludedBy = source.exclude.filter((p) => new TableFilter([p]).matches(outside.db, outside.table));
  const include =
    excludedBy.length > 0
      ? `remove ${excludedBy.map((p) => JSON.stringify(p)).join(', ')} from source.exclude (it excludes ${qualifiedName(outside)})`
      : `add "${qualifiedName(outside)}" to source.include`;
  return `In the pipeline file, sync ${qualifiedName(fk.child)} and ${qualifiedName(fk.parent)} both or neither: ${include}, or add "${qualifiedName(inside)}" to source.exclude.`;
}

function fixOf(d: ForeignKeyDifference, source: SourceConfig, synced: ReadonlySet<string>): string[] {
  const fk = d.fk;
  switch (d.kind) {
    case 'missing':
      return [`${alterTable(fk.child)} ADD ${foreignKeyDefinition(fk)};`];
    case 'rules-differ':
      return [`${alterTable(fk.child)} DROP FOREIGN KEY ${quoteIdent(d.target.name)};`, `${alterTable(fk.child)} ADD ${foreignKeyDefinition(fk)};`];
    case 'extra':
      return [`${alterTable(fk.child)} DROP FOREIGN KEY ${quoteIdent(fk.name)};`];
    case 'parent-not-synced':
    case 'child-not-synced':
      return [syncBothOrNeither(fk, source, synced)];
  }
}

export async function targetForeignKeysCheck(
  source: Connection,
  target: Connection,
  tables: readonly SourceTable[],
  config: PipelineConfig,
): Promise<PreflightCheck> {
  const id = 'target.foreign-keys';
  const title = 'Target foreign keys match the source';
  const schemas = [...new Set(tables.map((t) => t.db))];
  const synced = new Set(tables.map(qualifiedName));
  const [onSource, onTargetKeys, targetTables] = await Promise.all([
    readForeignKeys(source, schemas),
    readForeignKeys(target, schemas),
    rows(target, `SELECT TABLE_SCHEMA AS db, TABLE_NAME AS tbl FROM information_schema.TABLES WHERE TABLE_SCHEMA IN (?)`, [schemas]),
  ]);
  const onTarget = new Set(targetTables.map((r) => `${String(r.db)}.${String(r.tbl)}`).filter((t) => synced.has(t)));
  const allow = config.target.allowMissingForeignKeys;
  const diffs = compareForeignKeys(onSource, onTargetKeys, synced, onTarget);
  const within = onSource.filter((fk) => synced.has(qualifiedName(fk.child)) && synced.has(qualifiedName(fk.parent))).length;
  if (diffs.length === 0) {
    return {
      id,
      title,
      status: 'ok',
      detail: within > 0 ? `the target has the source's ${within} foreign key${within === 1 ? '' : 's'} among the synced tables, with the same rules, and no others` : 'no foreign keys among the synced tables, on either side',
    };
  }
  const refused = diffs.filter((d) => d.kind !== 'missing' || !allow);
  const detail = diffs.map((d) => explain(d, allow));
  const oneSided = (d: ForeignKeyDifference) => d.kind === 'parent-not-synced' || d.kind === 'child-not-synced';
  const sql = diffs.filter((d) => !oneSided(d)).flatMap((d) => fixOf(d, config.source, synced));
  // Several foreign keys between the same two tables need the one edit.
  const pipelineFile = [...new Set(diffs.filter(oneSided).flatMap((d) => fixOf(d, config.source, synced)))];
  const fix = [
    ...(sql.length > 0 ? ['On the target (adding a foreign key fails if the rows already there break it):', ...sql] : []),
    ...pipelineFile,
    ...(!allow && diffs.some((d) => d.kind === 'missing') ? ['Or accept that cascades will not happen on the target: in the pipeline file, target.allowMissingForeignKeys: true'] : []),
  ].join('\n');
  if (refused.length === 0) {
    return {
      id,
      title,
      status: 'warn',
      detail: [`target.allowMissingForeignKeys accepts ${diffs.length} missing foreign key${diffs.length === 1 ? '' : 's'}: cascades will not happen on the target, and it will drift`, ...detail].join('\n'),
      fix,
    };
  }
  return { id, title, status: 'fail', detail: detail.join('\n'), fix };
}
