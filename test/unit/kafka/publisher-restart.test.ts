import { describe, expect, it } from 'vitest';
import { afterPublisherFailure } from '../../../src/assembly/kafka.js';
import { BinlogSyncError } from '../../../src/core/errors.js';

/** kafkajs errors as it throws them: a name starting with KafkaJS, a protocol `type` where the broker gave one. */
function kafkajsError(name: string, message: string, type?: string): Error {
  return Object.assign(new Error(message), { name, ...(type ? { type } : {}) });
}

const oldEpoch = kafkajsError(
  'KafkaJSProtocolError',
  "Producer attempted an operation with an old epoch. Either there is a newer producer with the same transactionalId, or the producer's transaction has been expired by the broker",
  'INVALID_PRODUCER_EPOCH',
);

describe('afterPublisherFailure', () => {
  it('starts again after a Kafka failure, raw or wrapped by the publisher', () => {
    const down = kafkajsError('KafkaJSConnectionError', 'Connection error: connect ECONNREFUSED 127.0.0.1:9092');
    expect(afterPublisherFailure('p', down)).toEqual({ restart: true });
    expect(afterPublisherFailure('p', new BinlogSyncError('KAFKA', 'publishing failed', { cause: down }))).toEqual({ restart: true });
  });

  it('stops when fenced while starting up, with the fenced message (the raw error of the start-up transaction)', () => {
    // Two publishers started together: the older one's start-up transaction (pinning its start
    // position) was refused with this raw kafkajs error; it used to start again and fence the newer.
    const next = afterPublisherFailure('orders', oldEpoch);
    expect(next.restart).toBe(false);
    const error = (next as { error: unknown }).error;
    expect(error).toBeInstanceOf(BinlogSyncError);
    expect((error as BinlogSyncError).code).toBe('PIPELINE_LOCKED');
    expect((error as Error).message).toMatch(/another publisher of pipeline "orders" started .* fenced this one/);
    expect((error as Error).cause).toBe(oldEpoch);
  });

  it('stops when fenced mid-run, keeping the error the publisher explained', () => {
    const explained = new BinlogSyncError('PIPELINE_LOCKED', 'fenced', { cause: oldEpoch });
    expect(afterPublisherFailure('p', explained)).toEqual({ restart: false, error: explained });
    const retried = kafkajsError('KafkaJSNumberOfRetriesExceeded', 'Number of retries exceeded');
    const viaRetrier = Object.assign(retried, { cause: oldEpoch });
    expect(afterPublisherFailure('p', viaRetrier).restart).toBe(false);
  });

  it('stops on anything that is not Kafka', () => {
    const bad = new BinlogSyncError('SOURCE_STATEMENT_EVENT', 'statement');
    expect(afterPublisherFailure('p', bad)).toEqual({ restart: false, error: bad });
    const plain = new TypeError('x is undefined');
    expect(afterPublisherFailure('p', plain)).toEqual({ restart: false, error: plain });
  });
});
