/**
 * A place in the source's binlog. `file:pos` is what every MySQL/MariaDB server understands, on the
 * server that wrote it; `gtid` is carried alongside (the GTID of the transaction there, MariaDB
 * `domain-server-seq`) when the server logs it, for operators. Positions are values: compare them,
 * never mutate them.
 */
export interface BinlogPosition {
  readonly file: string;
  readonly pos: number;
  readonly gtid?: string;
  /**
   * MariaDB only, at transaction boundaries: the GTID position here (each domain's last GTID before
   * this point, what `BINLOG_GTID_POS(file, pos)` answers). Another server holding the same
   * transactions can continue from it (gtid-position.ts).
   */
  readonly gtidPos?: string;
}

/** Binlog files are `<base>.<number>`; comparing the numeric suffix orders files correctly past .999999. */
function fileIndex(file: string): number {
  const dot = file.lastIndexOf('.');
  const n = Number(file.slice(dot + 1));
  return dot >= 0 && Number.isInteger(n) ? n : Number.NaN;
}

/** Negative when a is before b, 0 when equal, positive when after. GTIDs are not compared. */
export function comparePositions(a: BinlogPosition, b: BinlogPosition): number {
  if (a.file !== b.file) {
    const ia = fileIndex(a.file);
    const ib = fileIndex(b.file);
    if (!Number.isNaN(ia) && !Number.isNaN(ib) && ia !== ib) return ia - ib;
    return a.file < b.file ? -1 : 1;
  }
  return a.pos - b.pos;
}

/** Orders changes named by (transaction start, index in the transaction), as the binlog has them. */
export function compareChanges(a: { readonly txStart: BinlogPosition; readonly index: number }, b: { readonly txStart: BinlogPosition; readonly index: number }): number {
  return comparePositions(a.txStart, b.txStart) || a.index - b.index;
}

export function formatPosition(p: BinlogPosition): string {
  return `${p.file}:${p.pos}`;
}

export class PositionParseError extends Error {
  override readonly name = 'PositionParseError';
}

/** Parses `mysql-bin.000003:1234` (as printed by `formatPosition` and taken by `--from`/`--to`). */
export function parsePosition(text: string): BinlogPosition {
  const m = /^([^:\s]+):(\d+)$/.exec(text.trim());
  if (!m) throw new PositionParseError(`"${text}" is not a binlog position: expected FILE:POS, e.g. mysql-bin.000003:4`);
  const pos = Number(m[2]);
  if (!Number.isSafeInteger(pos) || pos < 4) {
    throw new PositionParseError(`"${text}": the position must be a whole number ≥ 4 (the first event of a binlog file starts at 4)`);
  }
  return { file: m[1]!, pos };
}
