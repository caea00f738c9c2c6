import { describe, expect, it } from 'vitest';
import { checkpointOfMetadata, positionMetadata } from '../../../connectors/kafka/published-position.js';

describe('published position metadata', () => {
  it('round-trips a checkpoint, with and without resolved XA transactions', () => {
    const plain = { position: { file: 'mysql-bin.000002', pos: 1234 }, sourceTimestampMs: 1_700_000_000_000 };
    expect(checkpointOfMetadata(positionMetadata(plain))).toEqual(plain);
    const held = { ...plain, resolvedXa: [{ xid: '1:6131:', at: { file: 'mysql-bin.000002', pos: 2000 } }] };
    expect(checkpointOfMetadata(positionMetadata(held))).toEqual(held);
  });

  it('refuses metadata without a position', () => {
    expect(() => checkpointOfMetadata('{"ts":1}')).toThrow(/no file\/pos/);
  });

  it('carries the source\'s identity and the GTID position, briefly (Kafka caps offset metadata at 4 KiB)', () => {
    const maria = {
      position: { file: 'mysql-bin.000002', pos: 1234, gtidPos: '0-11-7,1-11-40' },
      sourceTimestampMs: 1_700_000_000_000,
      source: { flavor: 'mariadb' as const, serverId: 11, domainId: 0 },
    };
    const text = positionMetadata(maria);
    expect(JSON.parse(text)).toMatchObject({ s: 'mariadb:11:0', g: '0-11-7,1-11-40' });
    expect(checkpointOfMetadata(text)).toEqual(maria);
    const mysql = { position: { file: 'binlog.000009', pos: 77 }, sourceTimestampMs: 1, source: { flavor: 'mysql' as const, serverUuid: '3e11fa47-71ca-11e1-9e33-c80aa9429562', serverId: 3 } };
    expect(checkpointOfMetadata(positionMetadata(mysql))).toEqual(mysql);
    // 32 domains and 20 resolved XA transactions still fit in 4 KiB.
    const big = {
      ...maria,
      position: { ...maria.position, gtidPos: Array.from({ length: 32 }, (_, d) => `${d}-4294967295-18446744073709551615`).join(',') },
      resolvedXa: Array.from({ length: 20 }, (_, i) => ({ xid: `1:${'g'.repeat(20)}${i}:`, at: { file: 'mysql-bin.000002', pos: 2000 + i } })),
    };
    expect(Buffer.byteLength(positionMetadata(big))).toBeLessThan(4096);
  });

  it('reads a position published before identities were recorded: no source, no GTID position', () => {
    expect(checkpointOfMetadata('{"file":"mysql-bin.000002","pos":1234,"ts":5}')).toEqual({ position: { file: 'mysql-bin.000002', pos: 1234 }, sourceTimestampMs: 5 });
    expect(() => checkpointOfMetadata('{"file":"f.1","pos":4,"ts":5,"s":"nonsense"}')).toThrow(/not a source identity/);
  });
});
