import { describe, expect, it } from 'vitest';
import { judgeRunning, judgeStop, judgeTriggerRefusal, stopPosition } from '../../../src/fuzz/verdict.js';
import type { SessionChange } from '../../../src/fuzz/workload.js';

const change: SessionChange = {
  kind: 'statement',
  setting: "binlog_format = 'STATEMENT'",
  table: 'fz.t0',
  sql: 'UPDATE `fz`.`t0` SET `rev` = `rev` + 1 WHERE `id` <=> 5',
  before: { file: 'mysql-bin.000001', pos: 1000 },
  after: { file: 'mysql-bin.000001', pos: 2000 },
};

const stopped = (pos: number): string =>
  `{"level":30,"msg":"starting"}\nbinlog-sync: statement-format change at mysql-bin.000001:${pos} (default database \`fz\`) on fz.t0: the writing session ran with binlog_format=STATEMENT or MIXED, …:\n  UPDATE x SET a = 1 WHERE b = 'at y:1'\nbinlog-sync stopped … [SOURCE_STATEMENT_EVENT]\n`;

describe('stopPosition', () => {
  it('reads the position the fatal error names, across the lines of its message', () => {
    expect(stopPosition(stopped(1500), 'SOURCE_STATEMENT_EVENT')).toEqual({ file: 'mysql-bin.000001', pos: 1500 });
  });
  it('finds nothing for another code or no error', () => {
    expect(stopPosition(stopped(1500), 'SOURCE_PARTIAL_ROW_IMAGE')).toBeNull();
    expect(stopPosition('{"msg":"starting"}', 'SOURCE_STATEMENT_EVENT')).toBeNull();
  });
});

describe('judgeStop', () => {
  it('accepts the specific error inside the change, with the checkpoint before it', () => {
    const j = judgeStop(change, { exitCode: 1, output: stopped(1500) }, { file: 'mysql-bin.000001', pos: 900 });
    expect(j.problems).toEqual([]);
    expect(j.position).toEqual({ file: 'mysql-bin.000001', pos: 1500 });
  });
  it('accepts no checkpoint at all (nothing was applied before the stop)', () => {
    expect(judgeStop(change, { exitCode: 1, output: stopped(1500) }, null).problems).toEqual([]);
  });
  it('refuses a checkpoint at or past the event', () => {
    expect(judgeStop(change, { exitCode: 1, output: stopped(1500) }, { file: 'mysql-bin.000001', pos: 1500 }).problems.join()).toMatch(/not before/);
    expect(judgeStop(change, { exitCode: 1, output: stopped(1500) }, { file: 'mysql-bin.000002', pos: 4 }).problems.join()).toMatch(/not before/);
  });
  it('refuses a position outside the change and a run that did not stop by itself', () => {
    expect(judgeStop(change, { exitCode: 1, output: stopped(2500) }, null).problems.join()).toMatch(/outside/);
    expect(judgeStop(change, { exitCode: 0, output: stopped(1500) }, null).problems.join()).toMatch(/did not stop/);
    expect(judgeStop(change, { exitCode: null, output: '' }, null).problems.length).toBe(2);
  });
  it('wants the code of the change kind', () => {
    expect(judgeStop({ ...change, kind: 'row-image' }, { exitCode: 1, output: stopped(1500) }, null).problems.join()).toMatch(/SOURCE_PARTIAL_ROW_IMAGE/);
  });
});

describe('judgeTriggerRefusal', () => {
  const triggers = [{ db: 'fz', name: 'trg_t0_insert' }, { db: 'fz', name: 'trg_t1_bump' }];
  it('wants exit 3 and a DROP TRIGGER for each trigger', () => {
    const output = 'binlog-sync: not starting: …\nDROP TRIGGER `fz`.`trg_t0_insert`;\nDROP TRIGGER `fz`.`trg_t1_bump`;';
    expect(judgeTriggerRefusal(triggers, { exitCode: 3, output })).toEqual([]);
    expect(judgeTriggerRefusal(triggers, { exitCode: 0, output })).toHaveLength(1);
    expect(judgeTriggerRefusal(triggers, { exitCode: 3, output: 'DROP TRIGGER `fz`.`trg_t0_insert`;' }).join()).toMatch(/trg_t1_bump/);
  });
  it('has nothing to judge without triggers', () => {
    expect(judgeTriggerRefusal([], { exitCode: 0, output: '' })).toEqual([]);
  });
});

describe('judgeRunning', () => {
  const head = { file: 'mysql-bin.000001', pos: 5000 };
  it('wants a running pipeline whose checkpoint reached the head', () => {
    expect(judgeRunning(null, head, head)).toEqual([]);
    expect(judgeRunning(null, { file: 'mysql-bin.000001', pos: 4000 }, head).join()).toMatch(/did not reach/);
    expect(judgeRunning(null, null, head).join()).toMatch(/\(none\)/);
    expect(judgeRunning({ exitCode: 1, output: 'boom' }, head, head).join()).toMatch(/exited \(1\).*boom/s);
  });
});
