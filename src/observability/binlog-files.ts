/**
 * The source's binlog files as `SHOW BINARY LOGS` lists them, and distances in bytes between two
 * positions across them. Pure.
 */
import { comparePositions, type BinlogPosition } from '../core/position.js';

export interface BinlogFile {
  readonly file: string;
  readonly size: number;
}

/**
 * Bytes of binlog from `from` to `to` (0 when `from` is at or past it); null when `from`'s file is no
 * longer listed (purged) or `to`'s is not listed after it.
 */
export function binlogBytesBetween(files: readonly BinlogFile[], from: BinlogPosition, to: BinlogPosition): number | null {
  if (comparePositions(from, to) >= 0) return 0;
  if (from.file === to.file) return to.pos - from.pos;
  const i = files.findIndex((f) => f.file === from.file);
  if (i < 0) return null;
  let total = Math.max(0, files[i]!.size - from.pos);
  for (let k = i + 1; k < files.length; k++) {
    const f = files[k]!;
    if (f.file === to.file) return total + to.pos;
    total += f.size;
  }
  return null;
}
