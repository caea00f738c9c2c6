import { describe, expect, it } from 'vitest';
import { comparePositions, formatPosition, parsePosition } from '../../../src/core/position.js';

describe('BinlogPosition', () => {
  it('orders by file number, then offset', () => {
    expect(comparePositions({ file: 'b.000002', pos: 4 }, { file: 'b.000010', pos: 4 })).toBeLessThan(0);
    expect(comparePositions({ file: 'b.999999', pos: 9 }, { file: 'b.1000000', pos: 4 })).toBeLessThan(0);
    expect(comparePositions({ file: 'b.000003', pos: 900 }, { file: 'b.000003', pos: 120 })).toBeGreaterThan(0);
    expect(comparePositions({ file: 'b.000003', pos: 5 }, { file: 'b.000003', pos: 5, gtid: '0-1-2' })).toBe(0);
  });

  it('parses and formats FILE:POS', () => {
    expect(parsePosition('mysql-bin.000003:1234')).toEqual({ file: 'mysql-bin.000003', pos: 1234 });
    expect(formatPosition({ file: 'mysql-bin.000003', pos: 1234 })).toBe('mysql-bin.000003:1234');
  });

  it('rejects malformed positions with a hint', () => {
    expect(() => parsePosition('mysql-bin.000003')).toThrow(/expected FILE:POS/);
    expect(() => parsePosition('mysql-bin.000003:2')).toThrow(/≥ 4/);
  });
});
