import { describe, expect, it } from 'vitest';
import {
  GtidParseError,
  GtidPositionTracker,
  formatGtidPosition,
  gtidPositionOfList,
  isMariaDbGtidList,
  missingFromBinlogState,
  parseGtid,
  parseGtidList,
  parseGtidPosition,
  sameGtidPosition,
} from '../../../src/core/gtid-position.js';

describe('MariaDB GTIDs and GTID positions', () => {
  it('parses GTIDs with u64 sequence numbers exactly', () => {
    expect(parseGtid('0-11-7')).toEqual({ domain: 0, server: 11, seq: 7n });
    expect(parseGtid(' 4294967295-1-18446744073709551615 ').seq).toBe(18446744073709551615n);
    for (const bad of ['', '0-11', '0-11-7-1', 'a-1-2', '0-1-x', '4294967296-1-1', '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5']) {
      expect(() => parseGtid(bad), bad).toThrow(GtidParseError);
    }
  });

  it('tells MariaDB GTID lists from MySQL GTID sets', () => {
    expect(isMariaDbGtidList('0-1-100,1-2-5')).toBe(true);
    expect(isMariaDbGtidList('')).toBe(true);
    expect(isMariaDbGtidList('3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5')).toBe(false);
  });

  it('formats a position by domain, whatever order it was given in, and compares positions so', () => {
    expect(formatGtidPosition(parseGtidPosition('2-1-5,0-11-7,1-3-9'))).toBe('0-11-7,1-3-9,2-1-5');
    expect(sameGtidPosition('1-3-9,0-11-7', '0-11-7,1-3-9')).toBe(true);
    expect(sameGtidPosition('0-11-7', '0-11-8')).toBe(false);
    expect(sameGtidPosition('0-11-7', '0-12-7')).toBe(false);
    expect(sameGtidPosition('', '')).toBe(true);
    expect(sameGtidPosition('0-11-7', '0-11-7,1-1-1')).toBe(false);
  });

  it('refuses a position naming a domain twice, as the server does', () => {
    expect(() => parseGtidPosition('0-11-7,0-12-8')).toThrow(/domain 0 twice/);
  });

  it('takes the last GTID of each domain from a GTID list (several per domain, one per server)', () => {
    expect(gtidPositionOfList(parseGtidList('0-11-10,0-12-11,1-5-3'))).toBe('0-12-11,1-5-3');
    expect(gtidPositionOfList([])).toBe('');
  });
});

describe('missingFromBinlogState', () => {
  it('is empty when the binlog holds every GTID of the position (a replica that took over and wrote since)', () => {
    expect(missingFromBinlogState('0-11-10,0-12-11', '0-11-7')).toEqual([]);
    expect(missingFromBinlogState('0-11-7', '0-11-7')).toEqual([]);
    expect(missingFromBinlogState('0-11-7,1-3-2', '1-3-2,0-11-5')).toEqual([]);
    expect(missingFromBinlogState('0-11-7', '')).toEqual([]);
  });

  it('names what a replica that lagged does not have', () => {
    expect(missingFromBinlogState('0-11-5,0-12-6', '0-11-7')).toEqual([parseGtid('0-11-7')]);
  });

  it('names a GTID of a server the binlog never had (another history with higher sequence numbers)', () => {
    expect(missingFromBinlogState('0-12-50', '0-11-7')).toEqual([parseGtid('0-11-7')]);
  });

  it('names a domain the binlog lacks', () => {
    expect(missingFromBinlogState('0-11-10', '0-11-7,1-11-3')).toEqual([parseGtid('1-11-3')]);
    expect(missingFromBinlogState('', '0-11-7')).toEqual([parseGtid('0-11-7')]);
  });
});

describe('GtidPositionTracker', () => {
  it('knows nothing until seeded, then follows each group\'s GTID per domain', () => {
    const t = new GtidPositionTracker();
    t.apply('0-1-1');
    expect(t.known).toBe(false);
    expect(t.text).toBeUndefined();
    t.seed('');
    expect(t.text).toBe('');
    t.apply('0-11-8');
    expect(t.text).toBe('0-11-8');
    t.apply('1-11-1');
    t.apply('0-12-9');
    expect(t.text).toBe('0-12-9,1-11-1');
    t.seed('2-1-1,0-11-7');
    expect(t.text).toBe('0-11-7,2-1-1');
    t.apply('1-5-5');
    expect(t.text).toBe('0-11-7,1-5-5,2-1-1');
    t.seed(null);
    expect(t.known).toBe(false);
  });

  it('refuses a GTID that is not a MariaDB one', () => {
    const t = new GtidPositionTracker();
    t.seed('');
    expect(() => t.apply('x')).toThrow(GtidParseError);
  });
});
