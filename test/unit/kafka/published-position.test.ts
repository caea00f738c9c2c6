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
});
