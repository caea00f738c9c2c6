/**
 * Which tables a DDL statement names, so that DDL on synced tables is reported loudly and the rest
 * (CREATE USER, GRANT, DDL on other databases) quietly. A conservative text scan, not a SQL parser:
 * it finds `TABLE [IF [NOT] EXISTS] name[, name…]` and `RENAME TABLE a TO b`, names optionally
 * qualified and backquoted.
 */
import type { TableRef } from './event.js';

const IDENT = '(?:`(?:[^`]|``)+`|[A-Za-z0-9_$]+)';
const NAME = `${IDENT}(?:\\s*\\.\\s*${IDENT})?`;
const TABLE_CLAUSE = new RegExp(`\\bTABLES?\\s+(?:IF\\s+(?:NOT\\s+)?EXISTS\\s+)?(${NAME}(?:\\s*(?:,|\\bTO\\b)\\s*${NAME})*)`, 'gi');
const NAME_RE = new RegExp(NAME, 'g');

function unquote(id: string): string {
  const t = id.trim();
  return t.startsWith('`') ? t.slice(1, -1).replace(/``/g, '`') : t;
}

function splitName(name: string, defaultSchema: string): TableRef {
  const parts = name.match(new RegExp(IDENT, 'g')) ?? [];
  return parts.length >= 2 ? { schema: unquote(parts[0]!), name: unquote(parts[1]!) } : { schema: defaultSchema, name: unquote(parts[0] ?? '') };
}

/** Tables a DDL statement names (comments are stripped first). */
export function tablesInDdl(sql: string, defaultSchema: string): TableRef[] {
  const text = sql.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/--[^\n]*/g, ' ');
  const out: TableRef[] = [];
  for (const m of text.matchAll(TABLE_CLAUSE)) {
    for (const n of m[1]!.matchAll(NAME_RE)) {
      if (/^to$/i.test(n[0])) continue;
      out.push(splitName(n[0], defaultSchema));
    }
  }
  return out;
}
