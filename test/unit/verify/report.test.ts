import { describe, expect, it } from 'vitest';
import { displayKey, formatVerifyText, verifyExitCode, verifyJson } from '../../../src/verify/report.js';
import { keyColumn } from '../../../src/verify/key-columns.js';
import type { TableVerdict } from '../../../src/verify/table-verifier.js';
import type { VerifyResult } from '../../../src/verify/verify-pipeline.js';

const id = keyColumn({ name: 'id', dataType: 'int', charset: null, collation: null, maxChars: null, padSpace: false });
const name = keyColumn({ name: 'name', dataType: 'varchar', charset: 'utf8mb4', collation: 'utf8mb4_general_ci', maxChars: 20, padSpace: true });
const latin = keyColumn({ name: 'l', dataType: 'char', charset: 'latin1', collation: 'latin1_swedish_ci', maxChars: 5, padSpace: true });
const none = { count: 0, keys: [] };
const hex = (s: string, e: BufferEncoding = 'utf8') => Buffer.from(s, e).toString('hex').toUpperCase();

const verdict = (v: Partial<TableVerdict>): TableVerdict => ({
  table: 'shop.t',
  keyColumns: [id],
  sourceRows: 1000,
  targetRows: 1000,
  chunks: 1,
  rechecked: 0,
  missing: none,
  extra: none,
  different: none,
  stillChanging: none,
  confirmed: true,
  elapsedMs: 500,
  ...v,
});
const result = (tables: TableVerdict[], r: Partial<VerifyResult> = {}): VerifyResult => ({ pipeline: 'p', chunkSize: 10_000, tables, elapsedMs: 1000, shortfall: null, ...r });

describe('displayKey', () => {
  it('shows numbers bare, text quoted when it decodes exactly, other bytes as hex', () => {
    expect(displayKey([id], ['5'])).toBe('id=5');
    expect(displayKey([id, name], ['5', hex('Grüße 😀')])).toBe('(id=5, name="Grüße 😀")');
    expect(displayKey([name], ['FF00'])).toBe('name=0xFF00');
    expect(displayKey([name], [hex('tab\there')])).toBe(`name=0x${hex('tab\there')}`);
    expect(displayKey([latin], [hex('ü1', 'latin1')])).toBe('l="ü1"');
    expect(displayKey([latin], ['80'])).toBe('l=0x80'); // € in MySQL's latin1 (cp1252), not ISO-8859-1
    expect(displayKey([id], [null])).toBe('id=NULL');
  });
});

describe('exit code', () => {
  it('is 0 when equal (keys still changing are not differences), 1 when anything differs, 2 when a table failed', () => {
    expect(verifyExitCode(result([verdict({ stillChanging: { count: 3, keys: [] } })]))).toBe(0);
    expect(verifyExitCode(result([verdict({}), verdict({ extra: { count: 1, keys: [{ key: ['9'] }] } })]))).toBe(1);
    expect(verifyExitCode(result([verdict({ different: { count: 1, keys: [] } }), verdict({ error: 'gone' })]))).toBe(2);
  });
});

describe('text report', () => {
  it('prints a line per table, capped key lists with counts, and a total', () => {
    const keys = Array.from({ length: 12 }, (_, i) => ({ key: [String(i + 1)] }));
    const text = formatVerifyText(
      result([
        verdict({ table: 'shop.a' }),
        verdict({ table: 'shop.b', targetRows: 988, missing: { count: 12, keys }, chunks: 2 }),
        verdict({ table: 'shop.c', keyColumns: [name], different: { count: 1, keys: [{ key: [hex('key7')], targetKey: [hex('KEY7')] }] } }),
        verdict({ table: 'shop.d', sourceRows: 0, targetRows: 0, error: 'the table does not exist on the target' }),
      ]),
    );
    expect(text.split('\n')).toEqual([
      'verify p: 4 tables, chunks of 10000 rows',
      '  shop.a        equal      source 1000 rows, target 1000 rows, 1 chunk, 2000 rows/s',
      '  shop.b        DIFFERENT  source 1000 rows, target 988 rows, 2 chunks, 2000 rows/s: 12 missing, 0 extra, 0 different',
      '      missing on the target (12): id=1, id=2, id=3, id=4, id=5, id=6, id=7, id=8, id=9, id=10, … 2 more',
      '  shop.c        DIFFERENT  source 1000 rows, target 1000 rows, 1 chunk, 2000 rows/s: 0 missing, 0 extra, 1 different',
      '      different (1): name="key7" (target: name="KEY7")',
      '  shop.d        ERROR      the table does not exist on the target',
      'total: 4 tables: 1 equal, 2 different, 1 not compared; 3000 source rows, 2988 target rows; 12 missing, 0 extra, 1 different; 1.0 s, 3000 rows/s',
    ]);
  });

  it('says when differences are not confirmed because the pipeline had not applied up to the source position', () => {
    const text = formatVerifyText(
      result([verdict({ confirmed: false, missing: { count: 1, keys: [{ key: ['1'] }] } })], {
        shortfall: { wanted: { file: 'mysql-bin.000003', pos: 900 }, applied: { file: 'mysql-bin.000003', pos: 400 }, waitedMs: 60_000 },
      }),
    );
    expect(text).toContain('1 missing, 0 extra, 0 different (not confirmed)');
    expect(text).toContain('note: the pipeline had not applied up to the source position mysql-bin.000003:900 within 60 s (its checkpoint: mysql-bin.000003:400): rows');
    expect(text).toContain('That is not proof of a difference');
  });
});

describe('routed and transformed tables', () => {
  it('are reported by their target table, naming the source tables they come from', () => {
    const routed = verdict({ table: 'all.orders', sources: ['s1.orders', 's2.orders'], missing: { count: 1, keys: [{ key: ['7'] }] } });
    const failed = verdict({ table: 'all.t', sources: ['a.t'], error: 'not compared: …' });
    const text = formatVerifyText(result([routed, failed]));
    expect(text).toContain('  all.orders    DIFFERENT  source 1000 rows, target 1000 rows, 1 chunk, 2000 rows/s: 1 missing, 0 extra, 0 different (from s1.orders, s2.orders)');
    expect(text).toContain('      missing on the target (1): id=7');
    expect(text).toContain('  all.t         ERROR      not compared: … (from a.t)');
    const doc = verifyJson(result([routed, verdict({})]));
    expect(doc.tables[0]).toMatchObject({ table: 'all.orders', sources: ['s1.orders', 's2.orders'], status: 'different' });
    expect(doc.tables[1]).not.toHaveProperty('sources');
  });
});

describe('JSON report', () => {
  it('carries the same content, keys exact (with their encoding) and readable', () => {
    const doc = verifyJson(result([verdict({ keyColumns: [id, name], different: { count: 1, keys: [{ key: ['1', hex('a')], targetKey: ['1', hex('A')] }] } })]), 5);
    expect(doc).toMatchObject({ pipeline: 'p', equal: false, chunkSize: 10_000, confirmed: true, shortfall: null });
    expect(doc.tables[0]).toMatchObject({
      table: 'shop.t',
      status: 'different',
      keyColumns: [
        { name: 'id', type: 'int', encoding: 'text' },
        { name: 'name', type: 'varchar', encoding: 'hex' },
      ],
      rowsPerSecond: 2000,
      missing: { count: 0, keys: [] },
      different: { count: 1, keys: [{ values: ['1', '61'], display: '(id=1, name="a")', targetValues: ['1', '41'], targetDisplay: '(id=1, name="A")' }] },
    });
    expect(doc.total).toMatchObject({ tables: 1, equal: 0, different: 1, errors: 0, differentKeys: 1 });
  });
});
