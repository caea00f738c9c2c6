/**
 * Temporal values zongji 0.9 decodes wrongly, decoded as the server does.
 *
 * TIME2 (TIME(0..6) since MySQL 5.6.4 / MariaDB 10.1 with mysql56_temporal_format): zongji flips all
 * bits of a negative value and adds a second back, which is off whenever the borrow crosses a minute
 * or the fraction is involved ('-00:15:00' comes out as '-00:14:64'). MySQL's own reading is
 * `my_time_packed_from_binary` + `TIME_from_longlong_time_packed` (sql-common/my_time.cc; MariaDB's
 * compat56.cc does the same):
 * - the first 3 bytes, big-endian, minus 0x800000, are the integer part (hour << 12 | minute << 6 |
 *   second, negated for a negative time);
 * - then 0, 1, 2 or 3 bytes of fraction for fsp 0, 1–2, 3–4, 5–6, in units of 1/100, 1/10000 and
 *   1/1000000 s. For a negative time the fraction is stored as the complement of its magnitude and
 *   the integer part was rounded down, so a non-zero fraction borrows one back from it; fsp 5–6 is
 *   simply all 6 bytes as one number minus 0x800000000000;
 * - the result is the "packed" value (integer part << 24) + microseconds, its sign the time's sign.
 */

const INT_OFFSET = 0x800000;
const PACKED_OFFSET = 0x800000000000;
const FRAC_SHIFT = 0x1000000; // 2^24: the packed value is (integer part << 24) + microseconds
const POW10 = [1, 10, 100, 1000, 10000, 100000, 1000000];

/** Bytes of a TIME(fsp) value in a row image. */
export function time2Size(fsp: number): number {
  return 3 + ((fsp + 1) >> 1);
}

/**
 * MySQL's packed time (signed: (hour << 12 | minute << 6 | second) * 2^24 + microseconds) of the
 * TIME(fsp) value at `offset`. The caller checks that `time2Size(fsp)` bytes are there.
 */
export function time2Packed(buf: Buffer, offset: number, fsp: number): number {
  if (fsp >= 5) return buf.readUIntBE(offset, 6) - PACKED_OFFSET;
  let intPart = buf.readUIntBE(offset, 3) - INT_OFFSET;
  if (fsp <= 0) return intPart * FRAC_SHIFT;
  let frac: number;
  let unit: number;
  if (fsp <= 2) {
    frac = buf[offset + 3] as number;
    if (intPart < 0 && frac !== 0) {
      intPart++;
      frac -= 0x100;
    }
    unit = 10000;
  } else {
    frac = buf.readUInt16BE(offset + 3);
    if (intPart < 0 && frac !== 0) {
      intPart++;
      frac -= 0x10000;
    }
    unit = 100;
  }
  return intPart * FRAC_SHIFT + frac * unit;
}

function pad(n: number, width: number): string {
  const s = String(n);
  return s.length >= width ? s : '000000'.slice(0, width - s.length) + s;
}

/**
 * The server's text of a packed time with `fsp` fraction digits (as `CAST(col AS CHAR)` shows it):
 * `[-]HH:MM:SS[.f{fsp}]`, at least two hour digits.
 */
export function formatPackedTime(packed: number, fsp: number): string {
  const negative = packed < 0;
  const magnitude = negative ? -packed : packed;
  const hms = Math.floor(magnitude / FRAC_SHIFT);
  const micro = magnitude % FRAC_SHIFT;
  const hour = (hms >> 12) % 1024;
  const minute = (hms >> 6) % 64;
  const second = hms % 64;
  let s = (negative ? '-' : '') + pad(hour, 2) + ':' + pad(minute, 2) + ':' + pad(second, 2);
  if (fsp > 0) s += '.' + pad(Math.floor(micro / (POW10[6 - fsp] as number)), fsp);
  return s;
}

/** The TIME(fsp) value at `offset` as the server's text. */
export function decodeTime2(buf: Buffer, offset: number, fsp: number): string {
  return formatPackedTime(time2Packed(buf, offset, fsp), fsp);
}
