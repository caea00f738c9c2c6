/**
 * What the reader needs to know about statement text and XA ids in the binlog: which tables a
 * statement-format data change writes, and the xid of XA events and XA COMMIT/ROLLBACK queries, in
 * one normalised form (`formatId:gtridHex:bqualHex`) so the two can be matched.
 */
import type { TableRef } from '../../src/index.js';

/** The xid fields zongji decodes from MariaDB GTID and XA_PREPARE events. */
export interface XidFields {
  readonly xidFormatId?: number;
  readonly xidGtrid?: Buffer;
  readonly xidBqual?: Buffer;
}

export function xidKey(formatId: number, gtrid: Buffer, bqual: Buffer): string {
  return `${formatId}:${gtrid.toString('hex')}:${bqual.toString('hex')}`;
}

/** The xid as MariaDB writes it and `XA COMMIT` takes it: X'gtrid',X'bqual',formatID. */
export function describeXid(key: string): string {
  const [formatId, gtrid, bqual] = key.split(':');
  return `X'${gtrid ?? ''}',X'${bqual ?? ''}',${formatId ?? '1'}`;
}

export function xidOfEvent(e: XidFields): string {
  return xidKey(e.xidFormatId ?? 1, e.xidGtrid ?? Buffer.alloc(0), e.xidBqual ?? Buffer.alloc(0));
}

/** A string part of an xid: 'text', "text", X'hex' or 0xhex. Returns the bytes and the rest of the text. */
function xidPart(text: string): { bytes: Buffer; rest: string } | null {
  const t = text.trimStart();
  let m = /^[xX]'([0-9a-fA-F]*)'/.exec(t);
  if (m) return { bytes: Buffer.from(m[1]!, 'hex'), rest: t.slice(m[0].length) };
  m = /^0x([0-9a-fA-F]+)/.exec(t);
  if (m) return { bytes: Buffer.from(m[1]!.length % 2 ? `0${m[1]!}` : m[1]!, 'hex'), rest: t.slice(m[0].length) };
  const q = t[0];
  if (q === "'" || q === '"') {
    let out = '';
    for (let i = 1; i < t.length; i++) {
      const c = t[i]!;
      if (c === '\\' && i + 1 < t.length) {
        out += t[++i]!;
      } else if (c === q) {
        if (t[i + 1] === q) {
          out += q;
          i++;
        } else return { bytes: Buffer.from(out, 'utf8'), rest: t.slice(i + 1) };
      } else out += c;
    }
  }
  return null;
}

/** The xid of `XA COMMIT|ROLLBACK|START|END|PREPARE xid [ONE PHASE]`, normalised; null if unreadable. */
export function xidOfQuery(sql: string): string | null {
  const m = /^\s*XA\s+(?:COMMIT|ROLLBACK|START|BEGIN|END|PREPARE)\s+/i.exec(sql);
  if (!m) return null;
  const gtrid = xidPart(sql.slice(m[0].length));
  if (!gtrid) return null;
  let rest = gtrid.rest.trimStart();
  let bqual: Buffer = Buffer.alloc(0);
  let formatId = 1;
  if (rest.startsWith(',')) {
    const b = xidPart(rest.slice(1));
    if (!b) return null;
    bqual = b.bytes;
    rest = b.rest.trimStart();
    if (rest.startsWith(',')) {
      const f = /^\s*(\d+)/.exec(rest.slice(1));
      if (!f) return null;
      formatId = Number(f[1]);
    }
  }
  return xidKey(formatId, gtrid.bytes, bqual);
}

const IDENT = '(?:`(?:[^`]|``)+`|[A-Za-z0-9_$]+)';
const NAME = `(${IDENT})(?:\\s*\\.\\s*(${IDENT}))?`;

function unquote(id: string): string {
  return id.startsWith('`') ? id.slice(1, -1).replace(/``/g, '`') : id;
}

/**
 * Tables a statement-format INSERT/REPLACE/UPDATE/DELETE/LOAD DATA writes, as far as the leading
 * clause says; null when it cannot tell (a multi-table statement, a CTE): callers then assume it may
 * write any synced table.
 */
export function statementWriteTargets(sql: string, defaultSchema: string): TableRef[] | null {
  const text = sql.replace(/\/\*(?!!|M!)[\s\S]*?\*\//g, ' ').trim();
  const patterns = [
    new RegExp(`^(?:INSERT|REPLACE)(?:\\s+(?:LOW_PRIORITY|DELAYED|HIGH_PRIORITY|IGNORE))*\\s+(?:INTO\\s+)?${NAME}`, 'i'),
    new RegExp(`^UPDATE(?:\\s+(?:LOW_PRIORITY|IGNORE))*\\s+${NAME}\\s+SET\\b`, 'i'),
    new RegExp(`^DELETE(?:\\s+(?:LOW_PRIORITY|QUICK|IGNORE))*\\s+FROM\\s+${NAME}\\s*(?:WHERE\\b|ORDER\\b|LIMIT\\b|RETURNING\\b|$)`, 'i'),
    new RegExp(`^LOAD\\s+(?:DATA|XML)\\b[\\s\\S]*?\\bINTO\\s+TABLE\\s+${NAME}`, 'i'),
  ];
  for (const re of patterns) {
    const m = re.exec(text);
    if (!m) continue;
    const first = unquote(m[1]!);
    return [m[2] === undefined ? { schema: defaultSchema, name: first } : { schema: first, name: unquote(m[2]) }];
  }
  return null;
}
