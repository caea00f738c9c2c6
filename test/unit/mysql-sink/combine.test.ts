import { describe, expect, it } from 'vitest';
import { combine } from '../../../connectors/mysql-sink/target-applier.js';
import type { BuiltStatement } from '../../../connectors/mysql-sink/statement-builder.js';

const T = { schema: 'app', name: 't' };
const text = (sql: string): BuiltStatement => ({ kind: 'upsert', table: T, sql, rowCount: 1, bytes: Buffer.byteLength(sql), firstKey: [] });
const withParams = (sql: string, params: Buffer[]): BuiltStatement => ({ ...text(sql), params, bytes: sql.length + params.reduce((n, p) => n + p.length, 0) });

describe('combine', () => {
  it('joins text statements into transactions of at most maxBytes', () => {
    expect(combine([text('A1'), text('B2'), text('C3')], true, 4)).toEqual([{ sql: 'BEGIN;\nA1;\nB2' }, { sql: 'C3;\nCOMMIT' }]);
    expect(combine([text('A1')], false, 100)).toEqual([{ sql: 'A1' }]);
  });

  it('sends a statement with parameters alone, keeping BEGIN before it and COMMIT after it', () => {
    const big = Buffer.alloc(10);
    expect(combine([withParams('P(?)', [big])], true, 100)).toEqual([{ sql: 'BEGIN' }, { sql: 'P(?)', params: [big] }, { sql: 'COMMIT' }]);
    expect(combine([text('A'), withParams('P(?)', [big]), text('B')], true, 100)).toEqual([
      { sql: 'BEGIN;\nA' },
      { sql: 'P(?)', params: [big] },
      { sql: 'B;\nCOMMIT' },
    ]);
    expect(combine([text('A'), withParams('P(?)', [big])], true, 100, { commit: false })).toEqual([{ sql: 'BEGIN;\nA' }, { sql: 'P(?)', params: [big] }]);
  });
});
