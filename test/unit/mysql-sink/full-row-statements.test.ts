// keyless: full-row tables: rows found by all their columns, NULL-safe, one at a time.
import { describe, expect, it } from 'vitest';
import type { TableKeys } from '../../../src/core/event.js';
import { toMutations } from '../../../src/core/router.js';
import { buildStatements } from '../../../connectors/mysql-sink/statement-builder.js';
import { change } from '../core/fixtures.js';

const LOG: TableKeys = { table: { schema: 'app', name: 'log' }, primaryKey: ['at', 'msg', 'n'], uniqueKeys: [], orderGroup: 'keyless:app.log', fullRow: true };

function sql(...events: Parameters<typeof change>[]): string[] {
  return buildStatements(events.flatMap((e) => toMutations(change(...e)))).map((s) => s.sql);
}

describe('full-row statements', () => {
  it('an insert is an insert (equal rows stay apart), in source order with the rest', () => {
    expect(sql(['insert', LOG, null, { at: 1, msg: 'a', n: null }], ['insert', LOG, null, { at: 1, msg: 'a', n: null }])).toEqual([
      'INSERT INTO `app`.`log` (`at`,`msg`,`n`) VALUES (1,\'a\',NULL),(1,\'a\',NULL) ON DUPLICATE KEY UPDATE `at`=`at`',
    ]);
  });

  it('a delete removes one row equal to the before-image, NULL-safe', () => {
    expect(sql(['delete', LOG, { at: 1, msg: 'a', n: null }, null])).toEqual(["DELETE FROM `app`.`log` WHERE `at`<=>1 AND `msg`<=>'a' AND `n`<=>NULL LIMIT 1"]);
  });

  it('every update is one UPDATE of one row found by its before-image, even when nothing a key would see changed', () => {
    expect(sql(['update', LOG, { at: 1, msg: 'a', n: null }, { at: 1, msg: 'b', n: 2 }], ['update', LOG, { at: 1, msg: 'b', n: 2 }, { at: 1, msg: 'b', n: 2 }])).toEqual([
      "UPDATE `app`.`log` SET `at`=1,`msg`='b',`n`=2 WHERE `at`<=>1 AND `msg`<=>'a' AND `n`<=>NULL LIMIT 1",
      "UPDATE `app`.`log` SET `at`=1,`msg`='b',`n`=2 WHERE `at`<=>1 AND `msg`<=>'b' AND `n`<=>2 LIMIT 1",
    ]);
  });

  it('two deletes of equal rows are two statements (each removes one row)', () => {
    const row = { at: 1, msg: 'a', n: 3 };
    expect(sql(['delete', LOG, row, null], ['delete', LOG, row, null])).toHaveLength(2);
  });
});
