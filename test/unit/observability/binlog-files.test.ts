import { describe, expect, it } from 'vitest';
import { binlogBytesBetween } from '../../../src/observability/binlog-files.js';

const files = [
  { file: 'mysql-bin.000001', size: 1000 },
  { file: 'mysql-bin.000002', size: 500 },
  { file: 'mysql-bin.000003', size: 300 },
];
const at = (n: number, pos: number): { file: string; pos: number } => ({ file: `mysql-bin.00000${n}`, pos });

describe('binlogBytesBetween', () => {
  it('within one file', () => {
    expect(binlogBytesBetween(files, at(2, 100), at(2, 350))).toBe(250);
  });

  it('across files: the rest of the first, whole files between, the head file up to the position', () => {
    expect(binlogBytesBetween(files, at(1, 900), at(3, 200))).toBe(100 + 500 + 200);
  });

  it('is 0 at or past the head', () => {
    expect(binlogBytesBetween(files, at(3, 300), at(3, 300))).toBe(0);
    expect(binlogBytesBetween(files, at(3, 300), at(2, 10))).toBe(0);
  });

  it('is null when the starting file is purged or the head file is not listed', () => {
    expect(binlogBytesBetween(files.slice(1), at(1, 900), at(3, 200))).toBeNull();
    expect(binlogBytesBetween(files.slice(0, 2), at(1, 900), at(3, 200))).toBeNull();
  });
});
