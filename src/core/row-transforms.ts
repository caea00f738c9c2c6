/**
 * Routing and transforms between the source's changes and the target (`routes`, `tables` and
 * `keyless` in the pipeline file), applied to every mutation just before it is partitioned, binlog
 * changes and snapshot rows alike. Pure.
 *
 * Per mutation: the table is renamed to its route's target, and with it the row identity, so that
 * rows of two merged shards with equal keys are one target row, ordered in one lane; columns outside
 * `columns.include` / inside `columns.exclude` are dropped; `mask` replaces a column's value by the
 * SHA-256 (hex) of its bytes or by NULL; and `filter` decides whether the row belongs on the target.
 * An upsert whose row fails the filter becomes a delete of its key: a row that an UPDATE moves out of
 * the filter leaves the target, one it moves in is written whole, and a change that is outside
 * before and after (`relevant` is false) is not handed on at all. The target thus holds exactly the
 * source rows that pass, whatever order or how often changes are replayed.
 */
import { createHash } from 'node:crypto';
import type { ChangeEvent, Mutation, Row, SqlValue, TableKeys, TableRef } from './event.js';
import { tableKey } from './event.js';
import { BinlogSyncError } from './errors.js';
import { RowFilter, RowFilterError } from './row-filter.js';
import { globPartToRegExp } from './table-filter.js';
import { TableRoutes, type RouteRule } from './table-routes.js';

export type MaskKind = 'hash' | 'null';
export type KeylessMode = 'refuse' | 'full-row';

/** One entry of `tables` (keys are source `db.table` globs; the first matching entry applies). */
export interface TableSettings {
  readonly columns?: { readonly include?: readonly string[] | undefined; readonly exclude?: readonly string[] | undefined } | undefined;
  /** Column (glob) → how its values are masked. */
  readonly mask?: Readonly<Record<string, MaskKind>> | undefined;
  readonly filter?: string | undefined;
  readonly keyless?: KeylessMode | undefined;
}

export interface TransformSettings {
  readonly routes: readonly RouteRule[];
  readonly tables: Readonly<Record<string, TableSettings>>;
  readonly keyless: KeylessMode;
}

/** SHA-256 of a value's bytes as 64 hex digits (numbers by their text): stable across runs and hosts. */
export function hashValue(v: Exclude<SqlValue, null>): string {
  const h = createHash('sha256');
  if (Buffer.isBuffer(v)) h.update(v);
  else h.update(String(v), 'utf8');
  return h.digest('hex');
}

function configError(field: string, table: string, message: string): BinlogSyncError {
  return new BinlogSyncError('CONFIG_INVALID', `pipeline file, ${field} (table ${table}): ${message}`, { details: { field, table } });
}

/** What applies to one source table (built once per table and key set). */
export interface TablePlan {
  readonly source: TableRef;
  readonly target: TableRef;
  /** The target's keys: the source's, on the target table, without unique keys on dropped columns. */
  readonly keys: TableKeys;
  /** The `tables` entry that applies (for messages), or null. */
  readonly entry: string | null;
  readonly keep: (column: string) => boolean;
  readonly masks: ReadonlyMap<string, MaskKind>;
  readonly filter: RowFilter | null;
  /** Nothing to do: same name, every column as it is, no filter. */
  readonly identity: boolean;
}

export class RowTransforms {
  private readonly routes: TableRoutes;
  private readonly entries: readonly { readonly pattern: string; readonly re: RegExp; readonly settings: TableSettings; readonly filter: RowFilter | null }[];
  private readonly plans = new WeakMap<TableKeys, TablePlan>();
  /** Plans whose columns were checked against a row image (filter and mask columns exist). */
  private readonly checked = new WeakSet<TablePlan>();

  constructor(readonly settings: TransformSettings) {
    this.routes = new TableRoutes(settings.routes);
    this.entries = Object.entries(settings.tables).map(([pattern, s]) => {
      let filter: RowFilter | null = null;
      if (s.filter !== undefined) {
        try {
          filter = new RowFilter(s.filter);
        } catch (err) {
          if (err instanceof RowFilterError) throw new BinlogSyncError('CONFIG_INVALID', `pipeline file, tables."${pattern}".filter: ${err.message}`, { cause: err });
          throw err;
        }
      }
      return { pattern, re: globPartToRegExp(pattern), settings: s, filter };
    });
  }

  /** Whether there is anything to do at all (no routes and no table settings: the pipeline skips us). */
  get active(): boolean {
    return !this.routes.empty || this.entries.some((e) => e.settings.columns !== undefined || e.settings.mask !== undefined || e.filter !== null);
  }

  target(source: TableRef): TableRef {
    return this.routes.target(source);
  }

  mayMerge(source: TableRef): boolean {
    return this.routes.mayMerge(source);
  }

  merges(tables: readonly TableRef[]): Map<string, TableRef[]> {
    return this.routes.merges(tables);
  }

  private entryFor(table: TableRef): (typeof this.entries)[number] | undefined {
    const key = tableKey(table);
    return this.entries.find((e) => e.re.test(key));
  }

  /** Whether the target's copy of `table` differs from the source's by more than its rows (another name, columns, values, a filter). */
  transformed(table: TableRef): boolean {
    const to = this.routes.target(table);
    if (to.schema !== table.schema || to.name !== table.name) return true;
    const s = this.entryFor(table)?.settings;
    return s !== undefined && (s.columns !== undefined || s.mask !== undefined || s.filter !== undefined);
  }

  /** `keyless` for a table: its `tables` entry's, else the global one. */
  keyless(table: TableRef): KeylessMode {
    return this.entryFor(table)?.settings.keyless ?? this.settings.keyless;
  }

  /** Which of a table's columns reach the target (`columns.include` / `exclude`). */
  keeps(table: TableRef, column: string): boolean {
    return this.keeperOf(this.entryFor(table))(column);
  }

  private keeperOf(entry: (typeof this.entries)[number] | undefined): (column: string) => boolean {
    const include = entry?.settings.columns?.include?.map(globPartToRegExp);
    const exclude = entry?.settings.columns?.exclude?.map(globPartToRegExp) ?? [];
    return (c) => (include === undefined || include.some((re) => re.test(c))) && !exclude.some((re) => re.test(c));
  }

  plan(keys: TableKeys): TablePlan {
    let p = this.plans.get(keys);
    if (p) return p;
    const source = keys.table;
    const name = tableKey(source);
    const entry = this.entryFor(source);
    const target = this.routes.target(source);
    const keep = this.keeperOf(entry);
    const where = entry ? `tables."${entry.pattern}"` : '';
    for (const c of keys.primaryKey) {
      if (!keep(c)) {
        const field = entry?.settings.columns?.include && !entry.settings.columns.include.some((g) => globPartToRegExp(g).test(c)) ? 'columns.include' : 'columns.exclude';
        throw configError(`${where}.${field}`, name, `${c} is a key column (${keys.primaryKey.join(', ')}): the target needs it to find rows. Keep it, or exclude the table.`);
      }
    }
    const masks = new Map<string, MaskKind>();
    for (const [glob, kind] of Object.entries(entry?.settings.mask ?? {})) {
      const re = globPartToRegExp(glob);
      for (const c of keys.primaryKey) {
        if (re.test(c)) throw configError(`${where}.mask."${glob}"`, name, `${c} is a key column (${keys.primaryKey.join(', ')}): masking it (${kind}) would lose or change the key the target finds rows by. Mask other columns only.`);
      }
      masks.set(glob, kind);
    }
    const uniqueKeys = keys.uniqueKeys.filter((cols) => cols.every(keep));
    const renamed = target.schema !== source.schema || target.name !== source.name;
    const targetKeys: TableKeys = Object.freeze({ ...keys, table: target, uniqueKeys: Object.freeze(uniqueKeys) });
    const identity = !renamed && entry === undefined;
    p = Object.freeze({ source, target, keys: identity ? keys : targetKeys, entry: entry?.pattern ?? null, keep, masks, filter: entry?.filter ?? null, identity });
    this.plans.set(keys, p);
    return p;
  }

  /** Whether a binlog change matters to the target: false when its row is outside the filter before and after. */
  relevant(ev: ChangeEvent): boolean {
    const p = this.plan(ev.keys);
    if (!p.filter) return true;
    this.check(p, (ev.after ?? ev.before)!);
    return (ev.before !== null && p.filter.passes(ev.before)) || (ev.after !== null && p.filter.passes(ev.after));
  }

  /** The mutation as the target gets it. */
  apply(m: Mutation): Mutation {
    const p = this.plan(m.keys);
    if (p.identity) return m;
    // A delete's row may be its key alone (a snapshot's delete of a key only the target holds):
    // the column check waits for a full row.
    if (m.op !== 'delete') this.check(p, m.row);
    const out = m.op !== 'delete' && p.filter !== null && !p.filter.passes(m.row);
    const row = this.project(p, m.row);
    const renamed = p.target !== p.source;
    const from = tableKey(p.source) + '\u0000';
    const to = tableKey(p.target) + '\u0000';
    const rename = (id: string): string => (renamed && id.startsWith(from) ? to + id.slice(from.length) : id);
    const base = {
      ...m,
      table: p.target,
      keys: p.keys,
      rowId: rename(m.rowId),
      uniqueTokens: renamed ? m.uniqueTokens.map(rename) : m.uniqueTokens,
      row,
    };
    if (!out) return base;
    // The row is not (or no longer) one the filter lets through: the target must not hold it.
    if (m.op === 'update') return { ...base, op: 'delete', key: m.oldKey ?? m.key, oldKey: null };
    return { ...base, op: 'delete' };
  }

  private project(p: TablePlan, row: Row): Row {
    const out: Record<string, SqlValue> = {};
    for (const c in row) {
      if (!p.keep(c)) continue;
      const v = row[c] ?? null;
      const kind = p.masks.size > 0 ? maskOf(p, c) : null;
      out[c] = kind === 'null' ? null : kind === 'hash' && v !== null ? hashValue(v) : v;
    }
    return out;
  }

  /**
   * Throws what `apply` would throw for a table with these keys and columns (a key column excluded or
   * masked, a filter or mask column the table lacks): preflight reports it before anything runs.
   */
  validate(keys: TableKeys, columns: readonly string[]): void {
    this.checkColumns(this.plan(keys), columns);
  }

  /** Filter and mask columns must be the table's: checked once per table, on its first row. */
  private check(p: TablePlan, row: Row): void {
    if (this.checked.has(p)) return;
    this.checkColumns(p, Object.keys(row));
    this.checked.add(p);
  }

  private checkColumns(p: TablePlan, columns: readonly string[]): void {
    const name = tableKey(p.source);
    const where = `tables."${p.entry ?? ''}"`;
    for (const c of p.filter?.columns ?? []) {
      if (!columns.includes(c)) throw configError(`${where}.filter`, name, `the filter reads column ${c}, which the table does not have (columns: ${columns.join(', ')})`);
    }
    for (const glob of p.masks.keys()) {
      const re = globPartToRegExp(glob);
      if (!columns.some((c) => re.test(c))) throw configError(`${where}.mask."${glob}"`, name, `no column matches (columns: ${columns.join(', ')})`);
    }
  }
}

const maskMemo = new WeakMap<TablePlan, Map<string, MaskKind | null>>();

/** How a column of a table is masked (its first matching `mask` glob), or null. */
export function maskOf(p: TablePlan, column: string): MaskKind | null {
  let memo = maskMemo.get(p);
  if (!memo) maskMemo.set(p, (memo = new Map()));
  const known = memo.get(column);
  if (known !== undefined) return known;
  let kind: MaskKind | null = null;
  for (const [glob, k] of p.masks) {
    if (globPartToRegExp(glob).test(column)) {
      kind = k;
      break;
    }
  }
  memo.set(column, kind);
  return kind;
}
