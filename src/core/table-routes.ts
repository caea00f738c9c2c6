/**
 * `routes` of the pipeline file: which target table a source table's rows go to. Each rule maps a
 * source `db.table` glob to a target `db.table`; every `*` or `?` in `to` stands for what the
 * wildcard at the same place (counted from the left) in `from` matched, so `src_db.*` → `dst_db.*`
 * renames a database and `shop_*.orders` → `all_shops.orders` merges shards. The first rule that
 * matches wins; a table no rule matches keeps its name. Pure.
 */
import type { TableRef } from './event.js';

export interface RouteRule {
  readonly from: string;
  readonly to: string;
}

export class RouteError extends Error {
  override readonly name = 'RouteError';
}

interface CompiledRoute {
  readonly rule: RouteRule;
  readonly from: RegExp;
  /** `to` split at its wildcards: parts.length - 1 wildcards. */
  readonly parts: readonly string[];
  /** `to` keeps fewer wildcards than `from` has: several source tables can land in one target table. */
  readonly merging: boolean;
}

const PATTERN = /^[^.\s]+\.[^.\s]+$/;

function compile(rule: RouteRule, index: number): CompiledRoute {
  if (!PATTERN.test(rule.from)) throw new RouteError(`routes[${index}].from: ${JSON.stringify(rule.from)} is not a db.table pattern (e.g. "shop_*.orders")`);
  if (!PATTERN.test(rule.to)) throw new RouteError(`routes[${index}].to: ${JSON.stringify(rule.to)} is not a db.table name or pattern (e.g. "all_shops.orders" or "dst.*")`);
  let re = '';
  let wildcards = 0;
  for (const ch of rule.from) {
    if (ch === '*' || ch === '?') {
      // A wildcard never crosses the dot: `*` in the database part matches a database name only.
      re += ch === '*' ? '([^.]*)' : '([^.])';
      wildcards++;
    } else re += ch.replace(/[\\^$+.()|{}[\]]/g, '\\$&');
  }
  const parts = rule.to.split(/[*?]/);
  if (parts.length - 1 > wildcards) {
    throw new RouteError(
      `routes[${index}].to: ${JSON.stringify(rule.to)} has ${parts.length - 1} wildcards but from ${JSON.stringify(rule.from)} has ${wildcards}: each * in "to" takes what the * at the same place in "from" matched`,
    );
  }
  return { rule, from: new RegExp(`^${re}$`), parts, merging: parts.length - 1 < wildcards };
}

export class TableRoutes {
  private readonly routes: readonly CompiledRoute[];
  private readonly memo = new Map<string, TableRef>();

  constructor(rules: readonly RouteRule[]) {
    this.routes = rules.map(compile);
  }

  get empty(): boolean {
    return this.routes.length === 0;
  }

  /** The target table of a source table (itself when no rule matches). */
  target(source: TableRef): TableRef {
    const key = `${source.schema}.${source.name}`;
    const known = this.memo.get(key);
    if (known) return known;
    let out: TableRef = source;
    for (const r of this.routes) {
      const m = r.from.exec(key);
      if (!m) continue;
      let name = r.parts[0]!;
      for (let i = 1; i < r.parts.length; i++) name += m[i]! + r.parts[i]!;
      const dot = name.indexOf('.');
      const schema = name.slice(0, dot);
      const table = name.slice(dot + 1);
      if (schema === '' || table === '' || table.includes('.')) {
        throw new RouteError(`routes: ${key} maps to ${JSON.stringify(name)} by ${JSON.stringify(r.rule.from)} → ${JSON.stringify(r.rule.to)}, which is not a db.table name`);
      }
      out = Object.freeze({ schema, name: table });
      break;
    }
    if (this.memo.size > 100_000) this.memo.clear();
    this.memo.set(key, out);
    return out;
  }

  /**
   * Whether the rule that routes `source` can route other tables to the same target (`shop_*.orders`
   * → `all.orders`): that target's rows are not all this table's, so a snapshot of it must not delete
   * the target rows it lacks.
   */
  mayMerge(source: TableRef): boolean {
    const key = `${source.schema}.${source.name}`;
    return this.routes.find((r) => r.from.test(key))?.merging ?? false;
  }

  /**
   * Target tables fed by more than one of `tables`: their rows share the target's key space, so rows
   * with equal keys in two source tables are one target row (see the README's "Routing and transforms").
   */
  merges(tables: readonly TableRef[]): Map<string, TableRef[]> {
    const by = new Map<string, TableRef[]>();
    for (const t of tables) {
      const to = this.target(t);
      const k = `${to.schema}.${to.name}`;
      const list = by.get(k);
      if (list) list.push(t);
      else by.set(k, [t]);
    }
    for (const [k, list] of by) if (list.length < 2) by.delete(k);
    return by;
  }
}
