import { describe, expect, it } from 'vitest';
import { compareForeignKeys } from '../../../src/preflight/foreign-keys-check.js';
import { foreignKeyDefinition, rulesFromCreateTable, type ForeignKey } from '../../../src/preflight/foreign-keys.js';

function fk(name: string, child: string, cols: string[], parent: string, parentCols: string[], rules: Partial<Pick<ForeignKey, 'onDelete' | 'onUpdate'>> = {}): ForeignKey {
  const t = (q: string) => ({ db: q.split('.')[0]!, table: q.split('.')[1]! });
  return { name, child: t(child), childColumns: cols, parent: t(parent), parentColumns: parentCols, onDelete: rules.onDelete ?? 'RESTRICT', onUpdate: rules.onUpdate ?? 'RESTRICT' };
}

const synced = new Set(['d.p', 'd.c']);
const onTarget = synced;

describe('compareForeignKeys', () => {
  it('matches by tables and column pairs, not by name or pair order; RESTRICT equals NO ACTION', () => {
    const s = fk('a', 'd.c', ['x', 'y'], 'd.p', ['i', 'j'], { onDelete: 'CASCADE' });
    const t = fk('b', 'd.c', ['Y', 'x'], 'd.p', ['j', 'I'], { onDelete: 'CASCADE', onUpdate: 'NO ACTION' });
    expect(compareForeignKeys([s], [t], synced, onTarget)).toEqual([]);
  });

  it('pairs the columns: the same columns referencing the other way round are another key', () => {
    const s = fk('a', 'd.c', ['x', 'y'], 'd.p', ['i', 'j']);
    const t = fk('a', 'd.c', ['x', 'y'], 'd.p', ['j', 'i']);
    expect(compareForeignKeys([s], [t], synced, onTarget).map((d) => d.kind)).toEqual(['missing', 'extra']);
  });

  it('a rule that differs, a missing one and an extra one', () => {
    const cascade = fk('a', 'd.c', ['x'], 'd.p', ['i'], { onDelete: 'CASCADE' });
    const setNull = fk('a', 'd.c', ['x'], 'd.p', ['i'], { onDelete: 'SET NULL' });
    expect(compareForeignKeys([cascade], [setNull], synced, onTarget)).toEqual([{ kind: 'rules-differ', fk: cascade, target: setNull }]);
    expect(compareForeignKeys([cascade], [], synced, onTarget)).toEqual([{ kind: 'missing', fk: cascade }]);
    expect(compareForeignKeys([], [setNull], synced, onTarget)).toEqual([{ kind: 'extra', fk: setNull }]);
  });

  it('a self-reference compares like any other', () => {
    const s = fk('tree', 'd.p', ['parent_id'], 'd.p', ['id'], { onDelete: 'CASCADE' });
    expect(compareForeignKeys([s], [{ ...s, name: 'other' }], synced, onTarget)).toEqual([]);
    expect(compareForeignKeys([s], [], synced, onTarget)).toEqual([{ kind: 'missing', fk: s }]);
  });

  it('one side synced: a child of an unsynced parent always, an unsynced child only when its key acts on it', () => {
    const toOutside = fk('a', 'd.c', ['x'], 'other.p', ['i']);
    expect(compareForeignKeys([toOutside], [toOutside], synced, onTarget)).toEqual([{ kind: 'parent-not-synced', fk: toOutside }]);
    const restrictFromOutside = fk('b', 'other.c', ['x'], 'd.p', ['i']);
    // The target's copy of it is the source's, not an extra one.
    expect(compareForeignKeys([restrictFromOutside], [restrictFromOutside], synced, onTarget)).toEqual([]);
    const setNullFromOutside = fk('b', 'other.c', ['x'], 'd.p', ['i'], { onUpdate: 'SET NULL' });
    expect(compareForeignKeys([setNullFromOutside], [], synced, onTarget)).toEqual([{ kind: 'child-not-synced', fk: setNullFromOutside }]);
    // Neither side synced: none of our business.
    expect(compareForeignKeys([fk('z', 'x.a', ['i'], 'x.b', ['i'], { onDelete: 'CASCADE' })], [], synced, onTarget)).toEqual([]);
  });

  it('leaves a table missing on the target to the table check', () => {
    const s = fk('a', 'd.c', ['x'], 'd.p', ['i']);
    expect(compareForeignKeys([s], [], synced, new Set(['d.p']))).toEqual([]);
  });
});

describe('rulesFromCreateTable', () => {
  const create = [
    'CREATE TABLE `c` (',
    '  `x` int(11) DEFAULT NULL,',
    '  `on delete cascade` int(11) DEFAULT NULL,',
    '  CONSTRAINT `a` FOREIGN KEY (`x`) REFERENCES `p` (`i`) ON DELETE SET NULL ON UPDATE CASCADE,',
    '  CONSTRAINT `b` FOREIGN KEY (`on delete cascade`) REFERENCES `other`.`p` (`i`)',
    ') ENGINE=InnoDB',
  ].join('\n');

  it('reads each constraint’s rules; an absent rule is RESTRICT', () => {
    expect(rulesFromCreateTable(create, 'a')).toEqual({ onDelete: 'SET NULL', onUpdate: 'CASCADE' });
    expect(rulesFromCreateTable(create, 'b')).toEqual({ onDelete: 'RESTRICT', onUpdate: 'RESTRICT' });
    expect(rulesFromCreateTable(create, 'nope')).toBeUndefined();
  });

  it('and the definition we print reads back the same', () => {
    const key = fk('k', 'd.c', ['x'], 'd.p', ['i'], { onDelete: 'CASCADE', onUpdate: 'SET NULL' });
    expect(foreignKeyDefinition(key)).toBe('CONSTRAINT `k` FOREIGN KEY (`x`) REFERENCES `d`.`p` (`i`) ON DELETE CASCADE ON UPDATE SET NULL');
    expect(rulesFromCreateTable(`  ${foreignKeyDefinition(key)},`, 'k')).toEqual({ onDelete: 'CASCADE', onUpdate: 'SET NULL' });
  });
});
