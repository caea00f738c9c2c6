/**
 * XA ids of binlog events (MariaDB GTID and XA_PREPARE events) in the form `parseXid` gives the ids
 * of XA queries (`formatId:gtridHex:bqualHex`), so the two can be matched.
 */

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
