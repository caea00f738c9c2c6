/**
 * A lossless text form of one column, computed by the server, shared by the table digest (rows streamed
 * to Node) and `verify` (rows hashed by the servers). Equal values give equal text on both servers, and
 * different values different text:
 * - numbers, DECIMAL, YEAR and temporal types: their exact text (`CAST … AS CHAR`); TIMESTAMP prints in
 *   the session time zone, so every session that uses these sets `time_zone = '+00:00'`;
 * - FLOAT widened to DOUBLE, which MariaDB and MySQL print round-trip exact (FLOAT prints ~6 digits);
 * - BIT as its number;
 * - everything else (strings, binary strings, BLOB/TEXT, JSON, ENUM, SET, geometry, UUID, INET): the
 *   stored bytes as HEX, whatever the character set.
 * NULL stays NULL: callers encode it apart from ''.
 */
import { quoteIdent } from '../preflight/sql.js';

/** `text`: digits and punctuation only (never `#`, never a hex-only string's ambiguity); `hex`: HEX of the bytes. */
export type ColumnTextKind = 'hex' | 'text';

export interface ColumnText {
  readonly expr: string;
  readonly kind: ColumnTextKind;
}

export function columnText(column: string, dataType: string): ColumnText {
  const c = quoteIdent(column);
  switch (dataType.toLowerCase()) {
    case 'tinyint':
    case 'smallint':
    case 'mediumint':
    case 'int':
    case 'integer':
    case 'bigint':
    case 'decimal':
    case 'numeric':
    case 'year':
    case 'double':
    case 'real':
    case 'date':
    case 'time':
    case 'datetime':
    case 'timestamp':
      return { expr: `CAST(${c} AS CHAR)`, kind: 'text' };
    case 'float':
      // FLOAT prints with ~6 significant digits; as a DOUBLE it prints every bit.
      return { expr: `CAST(CAST(${c} AS DOUBLE) AS CHAR)`, kind: 'text' };
    case 'bit':
      return { expr: `CAST(${c} + 0 AS CHAR)`, kind: 'text' };
    default:
      return { expr: `HEX(${c})`, kind: 'hex' };
  }
}
