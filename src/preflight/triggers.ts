/**
 * Triggers on the target's synced tables. Rows that triggers wrote on the source are already in the
 * binlog, and every change the pipeline applies fires the target's own triggers again: their effects
 * arrive twice (an AFTER INSERT counter counts each insert two times; a BEFORE trigger that rewrites
 * NEW.* changes the copied row). A native row-based replica does not run triggers for row events
 * (MariaDB `slave_run_triggers_for_rbr=NO`), so a target seeded with mysqldump, which copies the
 * source's triggers, is what makes this easy to get wrong.
 *
 * Visibility: MariaDB lists a table's triggers to a user with any privilege on it other than SELECT;
 * the target user writes the synced tables, so it sees theirs. (MySQL shows them only with the TRIGGER
 * privilege.)
 */
import type { PreflightCheck } from './report.js';
import { qualifiedName, quoteIdent, rows, type Queryable, type TableName } from './sql.js';

export interface TableTrigger {
  /** The trigger's database (always its table's). */
  readonly db: string;
  readonly name: string;
  /** The table it fires on. */
  readonly table: TableName;
  /** `BEFORE` | `AFTER`. */
  readonly timing: string;
  /** `INSERT` | `UPDATE` | `DELETE`. */
  readonly event: string;
}

/** The triggers defined on `tables`, ordered by table, then by name. */
export async function readTriggers(conn: Queryable, tables: readonly TableName[]): Promise<TableTrigger[]> {
  if (tables.length === 0) return [];
  const wanted = new Set(tables.map(qualifiedName));
  return (
    await rows(
      conn,
      `SELECT TRIGGER_SCHEMA AS db, TRIGGER_NAME AS name, ACTION_TIMING AS timing, EVENT_MANIPULATION AS event,
              EVENT_OBJECT_SCHEMA AS tableDb, EVENT_OBJECT_TABLE AS tbl
         FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA IN (?)
        ORDER BY EVENT_OBJECT_SCHEMA, EVENT_OBJECT_TABLE, TRIGGER_NAME`,
      [[...new Set(tables.map((t) => t.db))]],
    )
  )
    .map((r) => ({
      db: String(r.db),
      name: String(r.name),
      table: { db: String(r.tableDb), table: String(r.tbl) },
      timing: String(r.timing),
      event: String(r.event),
    }))
    .filter((t) => wanted.has(qualifiedName(t.table)));
}

export function dropTriggerStatement(t: TableTrigger): string {
  return `DROP TRIGGER ${quoteIdent(t.db)}.${quoteIdent(t.name)};`;
}

const TWICE =
  'rows a trigger writes on the source are already in the binlog, and each change the pipeline applies fires the target trigger again, so its effects are applied twice (a native row-based replica does not run triggers for row events)';

/** Refuses triggers on synced target tables unless `target.allowTriggers` accepts them (then a warning). */
export function targetTriggersCheck(triggers: readonly TableTrigger[], allowed: boolean): PreflightCheck {
  const id = 'target.triggers';
  const title = 'Target tables without triggers';
  if (triggers.length === 0) return { id, title, status: 'ok', detail: 'no triggers on the synced tables' };
  const listed = triggers.map((t) => `${t.db}.${t.name}: ${t.timing} ${t.event} ON ${qualifiedName(t.table)}`);
  const drops = triggers.map(dropTriggerStatement);
  const n = triggers.length === 1 ? 'a trigger' : `${triggers.length} triggers`;
  if (allowed) {
    return {
      id,
      title,
      status: 'warn',
      detail: [`${n} on synced tables, kept because target.allowTriggers is true: their effects will be applied twice (${TWICE})`, ...listed].join('\n'),
      fix: `On the target:\n${drops.join('\n')}`,
    };
  }
  return {
    id,
    title,
    status: 'fail',
    detail: [`${n} on synced tables: ${TWICE}`, ...listed].join('\n'),
    fix: [`On the target:`, ...drops, `Or keep ${triggers.length === 1 ? 'it' : 'them'} and accept the double effects: in the pipeline file, target.allowTriggers: true`].join('\n'),
  };
}
