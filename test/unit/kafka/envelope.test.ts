/** The Kafka message of a mutation: Debezium-shaped for any reader, and lossless back to the same Mutation. */
import { describe, expect, it } from 'vitest';
import type { Mutation, TableKeys } from '../../../src/core/event.js';
import { toMutations } from '../../../src/core/router.js';
import { decodeMutation, encodeMutation, EnvelopeError, POSITION_HEADER, TX_HEADER } from '../../../connectors/kafka/envelope.js';
import { change, usersKeys } from '../core/fixtures.js';

const ctx = { pipeline: 'p', serverId: 7, version: 'binlog-sync test', nowMs: 1234 };
const blobKeys: TableKeys = { table: { schema: 'shop', name: 'files' }, primaryKey: ['id', 'tag'], uniqueKeys: [] };

/** Every mutation of a change, encoded and decoded again (the decoder numbers transactions itself). */
function roundTrip(ev: ReturnType<typeof change>): { sent: Mutation[]; got: Mutation[]; values: Record<string, unknown>[] } {
  const sent = toMutations(ev);
  const encoded = sent.map((m) => encodeMutation(ev, m, ctx));
  return { sent, got: encoded.map((e) => decodeMutation(e.value, ev.txSeq)), values: encoded.map((e) => JSON.parse(e.value) as Record<string, unknown>) };
}

describe('Kafka envelope', () => {
  it('round-trips bytes, big numbers, decimals, NULL and 4-byte UTF-8 exactly', () => {
    const row = { id: 9007199254740993n.toString(), tag: Buffer.from([0, 255, 1]), body: Buffer.alloc(0), n: -1.5e-300, d: '-0.000000000000000000000000000001', t: '😀 é', z: null };
    const { sent, got, values } = roundTrip(change('insert', blobKeys, null, row));
    expect(got).toEqual(sent);
    expect(values[0]).toMatchObject({ op: 'c', before: null, after: { id: '9007199254740993', tag: 'AP8B', body: '', n: -1.5e-300, z: null }, source: { db: 'shop', table: 'files', server_id: 7, name: 'p' } });
    expect((values[0]!.binlogSync as { binary: string[] }).binary.sort()).toEqual(['body', 'tag']);
  });

  it('an update is u with both images; a key change is d of the old key and c of the new one, as Debezium does', () => {
    const u = roundTrip(change('update', usersKeys, { id: 1, email: 'a@x' }, { id: 1, email: 'b@x' }));
    expect(u.values.map((v) => v.op)).toEqual(['u']);
    expect(u.values[0]).toMatchObject({ before: { id: 1, email: 'a@x' }, after: { id: 1, email: 'b@x' } });
    expect(u.got).toEqual(u.sent);
    const k = roundTrip(change('update', usersKeys, { id: 1, email: 'a@x' }, { id: 2, email: 'a@x' }));
    expect(k.values.map((v) => v.op)).toEqual(['d', 'c']);
    expect(k.values[0]).toMatchObject({ before: { id: 1 }, after: null });
    expect(k.values[1]).toMatchObject({ before: null, after: { id: 2 } });
    expect(k.got).toEqual(k.sent);
  });

  it('a delete carries the before image and decodes to a delete by key', () => {
    const d = roundTrip(change('delete', usersKeys, { id: 3, email: 'c@x' }, null));
    expect(d.values[0]).toMatchObject({ op: 'd', before: { id: 3, email: 'c@x' }, after: null });
    expect(d.got).toEqual(d.sent);
  });

  it('an order-group update keeps its old key (the target cascades on it)', () => {
    const keys: TableKeys = { ...usersKeys, uniqueKeys: [], orderGroup: 'shop.users' };
    const r = roundTrip(change('update', keys, { id: 1, email: 'a@x' }, { id: 5, email: 'a@x' }));
    expect(r.sent.map((m) => m.op)).toEqual(['update']);
    expect(r.values[0]).toMatchObject({ op: 'u', binlogSync: { oldKey: { id: 1 }, key: { id: 5 } } });
    expect(r.got).toEqual(r.sent);
  });

  it('headers name the transaction and the row event; the message key is the row key as JSON', () => {
    const ev = change('insert', usersKeys, null, { id: 4, email: 'd@x' });
    const [m] = toMutations(ev);
    const e = encodeMutation(ev, m!, ctx);
    expect(JSON.parse(e.key)).toEqual({ id: 4 });
    expect(e.headers[TX_HEADER]).toBe('mysql-bin.000001:4');
    expect(e.headers[POSITION_HEADER]).toBe('mysql-bin.000001:4');
  });

  it('refuses what another producer wrote, saying why', () => {
    expect(() => decodeMutation('not json', 1)).toThrow(EnvelopeError);
    expect(() => decodeMutation('{"before":null,"after":{"id":1},"op":"c"}', 1)).toThrow(/not a binlog-sync envelope of version 1/);
  });
});

describe('isFenced', () => {
  it('finds a newer publisher in the cause chain kafkajs wraps it in', async () => {
    const { isFenced } = await import('../../../connectors/kafka/publisher.js');
    const protocol = Object.assign(new Error('Producer attempted an operation with an old epoch. Either there is a newer producer with the same transactionalId, or the producer\'s transaction has been expired by the broker'), { type: 'INVALID_PRODUCER_EPOCH' });
    expect(isFenced(protocol)).toBe(true);
    // Seen in a test: the retrier's error, with the protocol error as its cause, said only "old epoch" two levels down.
    expect(isFenced(Object.assign(new Error('Number of retries exceeded'), { cause: Object.assign(new Error('wrapped'), { cause: protocol }) }))).toBe(true);
    expect(isFenced(Object.assign(new Error('x'), { type: 'PRODUCER_FENCED' }))).toBe(true);
    expect(isFenced(new Error('Connection error: connect ECONNREFUSED 127.0.0.1:9092'))).toBe(false);
  });
});
