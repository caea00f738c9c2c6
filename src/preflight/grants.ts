/**
 * Reads the privileges of the connected user from the lines of `SHOW GRANTS`. Only what preflight needs:
 * global privileges, and SELECT at database or table level (database names in grants may use the LIKE
 * wildcards `%` and `_`, with `\_` for a literal underscore). Column-level grants are recorded as such and
 * do not count as SELECT on the table.
 */

export interface GrantScope {
  /** `*` for every database, else a LIKE pattern (as written in the grant, unquoted). */
  readonly db: string;
  /** `*` for every table of `db`, else an exact table name. */
  readonly table: string;
  /** Upper case, single-spaced, e.g. `REPLICATION SLAVE`; `ALL PRIVILEGES` for ALL. */
  readonly privileges: ReadonlySet<string>;
}

export interface Grants {
  readonly scopes: readonly GrantScope[];
  /** Roles granted to the user (`GRANT role TO user`): their privileges are not resolved here. */
  readonly roles: readonly string[];
}

/** Splits on commas outside parentheses and backticks: `SELECT (\`a\`, \`b\`), INSERT` → 2 parts. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let cur = '';
  for (const ch of text) {
    if (ch === '`') quoted = !quoted;
    else if (!quoted && ch === '(') depth += 1;
    else if (!quoted && ch === ')') depth -= 1;
    if (ch === ',' && depth === 0 && !quoted) {
      parts.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim() !== '') parts.push(cur.trim());
  return parts;
}

/** `` `shop`.`orders` `` / `shop.*` / `*.*` → [db, table]; null for PROCEDURE/FUNCTION/PACKAGE grants. */
function parseTarget(text: string): [string, string] | null {
  const m = /^(?:(`(?:[^`]|``)*`|[^\s.`]+|\*)\.(`(?:[^`]|``)*`|[^\s.`]+|\*))$/.exec(text.trim());
  if (!m) return null;
  const unquote = (s: string) => (s.startsWith('`') ? s.slice(1, -1).replace(/``/g, '`') : s);
  return [unquote(m[1]!), unquote(m[2]!)];
}

export function parseGrants(lines: readonly string[]): Grants {
  const scopes: GrantScope[] = [];
  const roles: string[] = [];
  for (const line of lines) {
    const onGrant = /^GRANT\s+(.+?)\s+ON\s+(.+?)\s+TO\s+/is.exec(line);
    if (onGrant) {
      const target = parseTarget(onGrant[2]!);
      if (!target) continue;
      const privileges = new Set(
        splitTopLevel(onGrant[1]!)
          .filter((p) => !p.includes('(')) // column-level: not the whole table
          .map((p) => p.toUpperCase().replace(/\s+/g, ' '))
          .map((p) => (p === 'ALL' ? 'ALL PRIVILEGES' : p)),
      );
      scopes.push({ db: target[0], table: target[1], privileges });
      continue;
    }
    const roleGrant = /^GRANT\s+(.+?)\s+TO\s+/is.exec(line);
    if (roleGrant) roles.push(...splitTopLevel(roleGrant[1]!).map((r) => r.replace(/`/g, '')));
  }
  return { scopes, roles };
}

function likeToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '\\' && i + 1 < pattern.length) {
      re += pattern[i + 1]!.replace(/[\\^$.*+?|()[\]{}]/g, '\\$&');
      i += 1;
    } else if (ch === '%') re += '[^]*';
    else if (ch === '_') re += '[^]';
    else re += ch.replace(/[\\^$.*+?|()[\]{}]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Has one of `names` (or ALL) been granted on `*.*`? */
export function hasGlobal(grants: Grants, names: readonly string[]): boolean {
  return grants.scopes.some(
    (s) => s.db === '*' && (s.privileges.has('ALL PRIVILEGES') || names.some((n) => s.privileges.has(n))),
  );
}

/** Can the user SELECT every column of db.table (global, database or table grant)? */
export function canSelect(grants: Grants, db: string, table: string): boolean {
  return grants.scopes.some((s) => {
    if (!s.privileges.has('SELECT') && !s.privileges.has('ALL PRIVILEGES')) return false;
    if (s.db === '*') return true;
    // Database names are LIKE patterns only in database-level grants.
    if (s.table !== '*') return s.db === db && s.table === table;
    return likeToRegExp(s.db).test(db);
  });
}
