/**
 * Ordered, every-column digests of tables, to check "target equals source" exactly.
 *
 * Each column is selected through its lossless text expression (`column-text.ts`: bytes as HEX, numbers
 * and temporal values as their exact text, FLOAT widened to DOUBLE), rows are streamed in primary-key
 * order (all columns when there is none) and hashed in Node with SHA-256, NULL and '' encoded differently. The session time zone is '+00:00' on both sides,
 * so TIMESTAMP compares instants, not the servers' time zone settings.
 */
import { createHash } from 'node:crypto';
import mysqlCore from 'mysql2';
import type mysql from 'mysql2/promise';
import type { ServerEndpoint } from '../local/mariadb-server.js';
import { quoteIdent } from '../preflight/sql.js';
import { columnText, type ColumnText } from './column-text.js';

/** Anything with an endpoint (a TestServer) or the endpoint itself. */
export type DigestSource = ServerEndpoint | { endpoint(): ServerEndpoint };

export interface TableDigest {
  readonly rows: number;
  /** SHA-256 (hex) over the column names and the canonical rows in key order. */
  readonly digest: string;
  readonly columns: readonly string[];
  readonly key: readonly string[];
}

interface ColumnPlan extends ColumnText {
  readonly name: string;
  readonly dataType: string;
}

interface TablePlan {
  readonly schema: string;
  readonly table: string;
  readonly columns: readonly ColumnPlan[];
  /** Indexes into `columns` of the primary key (empty: no primary key). */
  readonly keyIdx: readonly number[];
  readonly sql: string;
}

const q = quoteIdent;

function endpointOf(s: DigestSource): ServerEndpoint {
  return 'endpoint' in s && typeof s.endpoint === 'function' ? s.endpoint() : (s as ServerEndpoint);
}

/** A promise connection whose callback twin (`raw`) can stream rows. */
interface Session extends mysql.Connection {
  readonly raw: mysqlCore.Connection;
}

async function openSession(s: DigestSource): Promise<Session> {
  const raw = mysqlCore.createConnection({ ...endpointOf(s), rowsAsArray: true });
  const c = Object.assign(raw.promise(), { raw });
  try {
    await c.connect();
    await c.query("SET SESSION time_zone = '+00:00'");
  } catch (err) {
    raw.destroy();
    throw err;
  }
  return c;
}

async function planTable(c: Session, schema: string, table: string): Promise<TablePlan> {
  const [cols] = await c.query(
    `SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS
      WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
    [schema, table],
  );
  const colRows = cols as [string, string][];
  if (colRows.length === 0) throw new Error(`table ${schema}.${table} does not exist`);
  const [keys] = await c.query(
    `SELECT COLUMN_NAME FROM information_schema.STATISTICS
      WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX`,
    [schema, table],
  );
  const keyNames = (keys as [string][]).map((r) => r[0]);
  const columns = colRows.map(([name, type]) => {
    const dataType = String(type).toLowerCase();
    return { name, dataType, ...columnText(name, dataType) };
  });
  const keyIdx = keyNames.map((k) => columns.findIndex((col) => col.name === k));
  // Without a primary key, order by every column's canonical form: the same on both sides.
  const order = keyNames.length > 0 ? keyNames.map(q) : columns.map((col) => col.expr);
  const sql =
    `SELECT ${columns.map((col) => col.expr).join(', ')} FROM ${q(schema)}.${q(table)} ` +
    `ORDER BY ${order.join(', ')}`;
  return { schema, table, columns, keyIdx, sql };
}

type Row = (string | null)[];

/** Streams the canonical rows of a table in key order. */
async function streamRows(c: Session, sql: string, onRow: (row: Row) => void): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const query = c.raw.query({ sql, rowsAsArray: true });
    query.on('result', (row: unknown) => {
      const r = (row as unknown[]).map((v) => (v === null ? null : Buffer.isBuffer(v) ? v.toString('latin1') : String(v)));
      onRow(r);
    });
    query.on('error', reject);
    query.on('end', () => resolve());
  });
}

function encodeRow(row: Row): string {
  // Length-prefixed so that no value can imitate a separator; NULL has no length.
  return row.map((v) => (v === null ? 'N;' : `V${v.length}:${v};`)).join('') + '\n';
}

function keyOf(plan: TablePlan, row: Row): string {
  const idx = plan.keyIdx.length > 0 ? plan.keyIdx : plan.columns.map((_, i) => i);
  return encodeRow(idx.map((i) => row[i] ?? null));
}

async function digestWith(c: Session, schema: string, table: string): Promise<TableDigest> {
  const plan = await planTable(c, schema, table);
  const hash = createHash('sha256');
  hash.update(encodeRow(plan.columns.map((col) => `${col.name} ${col.dataType}`)));
  let rows = 0;
  await streamRows(c, plan.sql, (row) => {
    rows++;
    hash.update(encodeRow(row));
  });
  return {
    rows,
    digest: hash.digest('hex'),
    columns: plan.columns.map((col) => col.name),
    key: plan.keyIdx.map((i) => plan.columns[i]?.name ?? '?'),
  };
}

function splitName(qualified: string): [string, string] {
  const dot = qualified.indexOf('.');
  if (dot <= 0) throw new Error(`expected "db.table", got "${qualified}"`);
  return [qualified.slice(0, dot), qualified.slice(dot + 1)];
}

/** Digest of one table, given as "db.table". */
export async function tableDigest(server: DigestSource, qualifiedTable: string): Promise<TableDigest> {
  const [schema, table] = splitName(qualifiedTable);
  const c = await openSession(server);
  try {
    return await digestWith(c, schema, table);
  } finally {
    await c.end();
  }
}

async function listTables(c: Session, db: string): Promise<string[]> {
  const [rows] = await c.query(
    `SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'
      ORDER BY TABLE_NAME`,
    [db],
  );
  return (rows as [string][]).map((r) => r[0]);
}

/** Digests of every base table in `db`, by table name. */
export async function databaseDigest(server: DigestSource, db: string): Promise<Map<string, TableDigest>> {
  const c = await openSession(server);
  try {
    const out = new Map<string, TableDigest>();
    for (const t of await listTables(c, db)) out.set(t, await digestWith(c, db, t));
    return out;
  } finally {
    await c.end();
  }
}

// ---------------------------------------------------------------------------------------------
// Readable differences

/** No control characters other than tab, newline, carriage return (those read fine in JSON). */
function isPrintable(text: string): boolean {
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    if ((code < 0x20 && ch !== '\t' && ch !== '\n' && ch !== '\r') || code === 0x7f) return false;
  }
  return true;
}

function show(col: ColumnPlan | undefined, v: string | null | undefined): string {
  if (v === undefined) return '(no row)';
  if (v === null) return 'NULL';
  if (col?.kind !== 'hex') return v;
  const bytes = Buffer.from(v, 'hex');
  const text = bytes.toString('utf8');
  // Printable UTF-8 reads as a string; anything else as bytes.
  if (Buffer.from(text, 'utf8').equals(bytes) && isPrintable(text)) {
    return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text);
  }
  return `0x${v.length > 400 ? `${v.slice(0, 400)}…` : v} (${bytes.length} bytes)`;
}

/** Row hashes by key, in key order, for the diff of one table. */
async function keyedRows(c: Session, plan: TablePlan): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  await streamRows(c, plan.sql, (row) => {
    const key = keyOf(plan, row);
    const h = createHash('sha1').update(encodeRow(row)).digest('hex');
    // Without a primary key, identical rows repeat: count them into the key.
    let k = key;
    for (let n = 2; plan.keyIdx.length === 0 && out.has(k); n++) k = `${key}#${n}`;
    out.set(k, h);
  });
  return out;
}

async function findRow(c: Session, plan: TablePlan, key: string): Promise<Row | undefined> {
  let found: Row | undefined;
  await streamRows(c, plan.sql, (row) => {
    if (found === undefined && keyOf(plan, row) === key.replace(/#\d+$/, '')) found = row;
  });
  return found;
}

async function describeTableDiff(
  sc: Session,
  tc: Session,
  db: string,
  table: string,
  s: TableDigest,
  t: TableDigest,
  labels: SideLabels,
): Promise<string> {
  const [A, B] = [labels.source, labels.target];
  const head = `${db}.${table}: ${A} ${s.rows} rows, ${B} ${t.rows} rows`;
  if (s.columns.join(',') !== t.columns.join(',')) {
    return `${head}; columns differ: ${A} (${s.columns.join(', ')}) vs ${B} (${t.columns.join(', ')})`;
  }
  const [sp, tp] = await Promise.all([planTable(sc, db, table), planTable(tc, db, table)]);
  const typeDiff = sp.columns.filter((col, i) => tp.columns[i]?.dataType !== col.dataType);
  if (typeDiff.length > 0) {
    return `${head}; column types differ: ${typeDiff
      .map((col) => `${col.name} ${col.dataType} vs ${tp.columns.find((x) => x.name === col.name)?.dataType ?? '?'}`)
      .join(', ')}`;
  }
  const [sRows, tRows] = await Promise.all([keyedRows(sc, sp), keyedRows(tc, tp)]);
  let firstKey: string | undefined;
  let extra = 0;
  let missing = 0;
  let changed = 0;
  for (const [k, h] of sRows) {
    const other = tRows.get(k);
    if (other === undefined) missing++;
    else if (other !== h) changed++;
    else continue;
    firstKey ??= k;
  }
  for (const k of tRows.keys()) {
    if (!sRows.has(k)) {
      extra++;
      firstKey ??= k;
    }
  }
  const counts = `${missing} missing on ${B}, ${extra} extra on ${B}, ${changed} changed`;
  if (firstKey === undefined) return `${head}; rows equal but the digest differs (${counts})`;
  const [sRow, tRow] = await Promise.all([findRow(sc, sp, firstKey), findRow(tc, tp, firstKey)]);
  const keyCols = sp.keyIdx.length > 0 ? sp.keyIdx : sp.columns.map((_, i) => i);
  const someRow = sRow ?? tRow ?? [];
  const keyText = keyCols.map((i) => `${sp.columns[i]?.name}=${show(sp.columns[i], someRow[i])}`).join(', ');
  const lines = [`${head} (${counts}); first difference at ${sp.keyIdx.length > 0 ? 'key' : 'row'} (${keyText}):`];
  if (!sRow) lines.push(`    row only on ${B}`);
  if (!tRow) lines.push(`    row only on ${A}`);
  sp.columns.forEach((col, i) => {
    const a = sRow?.[i];
    const b = tRow?.[i];
    if (sRow && tRow && a === b) return;
    lines.push(`    ${col.name}: ${A} ${show(col, sRow ? a : undefined)} | ${B} ${show(col, tRow ? b : undefined)}`);
  });
  return lines.join('\n');
}

/** How a difference names the two sides (the fuzzer compares a native replica with the target). */
export interface SideLabels {
  readonly source: string;
  readonly target: string;
}

/** Throws a readable description of every difference between the databases `dbs` on both servers. */
export async function assertSameData(
  source: DigestSource,
  target: DigestSource,
  dbs: string | readonly string[],
  labels: SideLabels = { source: 'source', target: 'target' },
): Promise<void> {
  const list = typeof dbs === 'string' ? [dbs] : dbs;
  const sc = await openSession(source);
  const tc = await openSession(target);
  try {
    const problems: string[] = [];
    for (const db of list) {
      const [sTables, tTables] = await Promise.all([listTables(sc, db), listTables(tc, db)]);
      if (sTables.length === 0) problems.push(`${db}: no tables on the ${labels.source} (does the database exist?)`);
      for (const t of tTables) if (!sTables.includes(t)) problems.push(`${db}.${t}: only on the ${labels.target}`);
      for (const t of sTables) {
        if (!tTables.includes(t)) {
          problems.push(`${db}.${t}: missing on the ${labels.target}`);
          continue;
        }
        const [sd, td] = await Promise.all([digestWith(sc, db, t), digestWith(tc, db, t)]);
        if (sd.digest !== td.digest) problems.push(await describeTableDiff(sc, tc, db, t, sd, td, labels));
      }
    }
    if (problems.length > 0) {
      throw new Error(`${labels.target} differs from ${labels.source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    }
  } finally {
    await Promise.allSettled([sc.end(), tc.end()]);
  }
}

export interface TableComparison {
  readonly table: string;
  readonly equal: boolean;
  readonly source: { readonly rows: number; readonly digest: string };
  readonly target: { readonly rows: number; readonly digest: string };
}

/** Compares every base table of `db` on both sides (tables missing on one side count as 0 rows, ''). */
export async function compareDatabases(source: DigestSource, target: DigestSource, db: string): Promise<TableComparison[]> {
  const [s, t] = await Promise.all([databaseDigest(source, db), databaseDigest(target, db)]);
  const names = [...new Set([...s.keys(), ...t.keys()])].sort();
  const none = { rows: 0, digest: '' };
  return names.map((table) => {
    const a = s.get(table);
    const b = t.get(table);
    return {
      table,
      equal: !!a && !!b && a.digest === b.digest && a.rows === b.rows,
      source: a ? { rows: a.rows, digest: a.digest } : none,
      target: b ? { rows: b.rows, digest: b.digest } : none,
    };
  });
}
