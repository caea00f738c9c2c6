import { describe, expect, it } from 'vitest';
import { FuzzRandom } from '../../../src/fuzz/random.js';
import { generateSchema, schemaDdl, REFERENTIAL_ACTIONS } from '../../../src/fuzz/schema.js';
import { COLLATIONS } from '../../../src/fuzz/column-types.js';
import { changedKeyValue, keyWhere, valueLiteral } from '../../../src/fuzz/statements.js';
import { profileForSeed } from '../../../src/fuzz/harness.js';

const schemaFor = (seed: number, triggers = true) => generateSchema(new FuzzRandom(seed).fork('schema'), { db: 'fz', triggers });

describe('fuzz schema', () => {
  it('is the same for the same seed and differs between seeds', () => {
    expect(schemaDdl(schemaFor(7))).toEqual(schemaDdl(schemaFor(7)));
    expect(schemaDdl(schemaFor(7))).not.toEqual(schemaDdl(schemaFor(8)));
  });

  it('covers every column type family, every collation and every referential action over a few hundred seeds', () => {
    const labels = new Set<string>();
    const collations = new Set<string>();
    const actions = new Set<string>();
    let triggers = 0;
    let composite = 0;
    for (let seed = 0; seed < 300; seed++) {
      const s = schemaFor(seed);
      triggers += s.triggers.length;
      for (const t of s.tables) {
        if (t.primaryKey.length > 1) composite++;
        for (const c of t.columns) {
          labels.add(c.type.label.split(/[ (]/)[0]!);
          if (c.type.charset) collations.add(c.type.charset.collation);
        }
        for (const fk of t.foreignKeys) actions.add(fk.onDelete).add(fk.onUpdate);
      }
    }
    for (const family of ['tinyint', 'smallint', 'mediumint', 'int', 'bigint', 'decimal', 'float', 'double', 'bit', 'date', 'time', 'datetime', 'timestamp', 'year', 'char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext', 'binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob', 'enum', 'set', 'json', 'geometry', 'point', 'linestring', 'polygon', 'inet6', 'uuid']) {
      expect(labels, family).toContain(family);
    }
    for (const c of COLLATIONS) expect(collations, c.collation).toContain(c.collation);
    for (const a of REFERENTIAL_ACTIONS) expect(actions, a).toContain(a);
    expect(triggers).toBeGreaterThan(100);
    expect(composite).toBeGreaterThan(50);
  });

  it('uses SET NULL only on nullable foreign-key columns, and leaves triggers out when asked', () => {
    for (let seed = 0; seed < 200; seed++) {
      for (const t of schemaFor(seed).tables) {
        for (const fk of t.foreignKeys) {
          const col = t.columns.find((c) => c.name === fk.columns[0])!;
          if (fk.onDelete === 'SET NULL' || fk.onUpdate === 'SET NULL') expect(col.nullable).toBe(true);
        }
      }
      expect(schemaFor(seed, false).triggers).toEqual([]);
    }
  });

  it('gives every profile to some seeds', () => {
    const profiles = new Set(Array.from({ length: 100 }, (_, s) => profileForSeed(s)));
    expect([...profiles].sort()).toEqual(['row-image', 'rows', 'statement-apply', 'statement-stop']);
  });
});

describe('fuzz statements', () => {
  const s = schemaFor(3);
  const textKeyed = Array.from({ length: 100 }, (_, i) => schemaFor(i)).flatMap((x) => x.tables).find((t) => t.columns.find((c) => c.name === t.primaryKey[0])?.type.kind === 'text')!;

  it('names values read back as hex in their own charset and collation, NULL-safe', () => {
    const col = textKeyed.columns.find((c) => c.name === textKeyed.primaryKey[0])!;
    const cs = col.type.charset!;
    expect(valueLiteral(col.type, '6B31')).toBe(`_${cs.charset} X'6B31' COLLATE ${cs.collation}`);
    expect(valueLiteral(col.type, '')).toBe(`_${cs.charset}'' COLLATE ${cs.collation}`);
    expect(valueLiteral(col.type, null)).toBe('NULL');
    expect(keyWhere(textKeyed, ['6B31', '1', '2'].slice(0, textKeyed.primaryKey.length))).toContain(`\`${col.name}\` <=> _${cs.charset} X'6B31'`);
  });

  it('changes a text key to a value of the same charset, often collation-equal', () => {
    const col = textKeyed.columns.find((c) => c.name === textKeyed.primaryKey[0])!;
    const r = new FuzzRandom(5);
    const values = Array.from({ length: 50 }, () => changedKeyValue(r, col, Buffer.from('key1').toString('hex')));
    expect(values.every((v) => v.includes(`COLLATE ${col.type.charset!.collation}`))).toBe(true);
    expect(values.some((v) => v.includes(Buffer.from('KEY1').toString('hex')) || v.includes(Buffer.from('key1 ').toString('hex')))).toBe(true);
    expect(s.tables.length).toBeGreaterThan(0);
  });
});
