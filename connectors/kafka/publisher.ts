/**
 * The source half of Kafka mode: binlog → keyed partitions of one topic, exactly once.
 *
 * - Placement: our Partitioner (the embedded transport's) picks each message's partition; the client's
 *   default partitioner is never used.
 * - One Kafka transaction holds whole source transactions: it is committed only at a source commit,
 *   once it holds `batchBytes` or its first change has waited `lingerMs`, and it carries the binlog
 *   position just after its last source transaction (see published-position.ts). A source transaction
 *   larger than the buffer is sent in chunks inside the one open Kafka transaction, so memory stays at
 *   `chunkBytes` whatever its size.
 * - One request in flight per partition: the idempotent producer sees each partition's sends in order
 *   (kafkajs #598: concurrent sends to one partition give OUT_OF_ORDER_SEQUENCE_NUMBER). One chunk is
 *   in flight while the next is read and encoded; reading waits when both are taken, which pauses the
 *   source's socket (backpressure). While catching up, a full Kafka transaction's commit is left running
 *   while the next changes are read and encoded (the next transaction begins once it has committed).
 * - The resume point is the embedded pipeline's watermark: every mutation in a committed Kafka
 *   transaction is acknowledged, so XA holds and re-read transactions behave as they do there.
 */
import type { Producer, Transaction } from 'kafkajs';
import {
  BinlogSyncError,
  Partitioner,
  Watermark,
  commitOptionsOf,
  sameCheckpoint,
  appendMutations,
  OrderGroupProgress,
  comparePositions,
  describeError,
  formatPosition,
  type BinlogPosition,
  type Checkpoint,
  type Logger,
  type Mutation,
  type SourceConnector,
  type SourceIdentity,
  type StartFrom,
} from '../../src/index.js';
import type { EncodedMessage } from './envelope.js';
import { EnvelopeWriter } from './envelope-writer.js';
import { sendPosition } from './published-position.js';

export interface KafkaPublisherOptions {
  readonly pipeline: string;
  readonly topic: string;
  readonly partitions: number;
  readonly source: SourceConnector;
  /** A connected transactional producer (its transactional.id fences any earlier publisher). */
  readonly producer: Producer;
  readonly from: StartFrom;
  readonly initialCheckpoint: Checkpoint | null;
  /** The server `from` is a place of: every binlog session is checked against it, every published position names it. */
  readonly sourceIdentity?: SourceIdentity;
  /** Kafka transactions committed before this run (from the stored position). */
  readonly commits: bigint;
  /** The source's server_id, for the envelope's `source.server_id`. */
  readonly serverId: number;
  readonly version: string;
  readonly batchBytes: number;
  readonly lingerMs: number;
  /** How long an idle publisher waits before storing its position again to learn whether it was fenced (default 10 s). */
  readonly fenceProbeMs?: number;
  /**
   * Bytes buffered before they are sent inside the open transaction (default min(2 × batchBytes, 8 MiB):
   * a Kafka transaction of small source transactions goes out as one request per partition at its
   * commit; only a larger source transaction is sent in chunks).
   */
  readonly chunkBytes?: number;
  /**
   * The topic's `max.message.bytes` (the brokers' `message.max.bytes` unless the topic overrides it):
   * the largest record batch a broker accepts. Default 1048588, Kafka's default.
   */
  readonly maxMessageBytes?: number;
  readonly until?: BinlogPosition;
  readonly logger: Logger;
  /** Called after every Kafka commit (tests and the bench measure here). */
  readonly onCommitted?: (checkpoint: Checkpoint, messages: number) => void;
}

export interface PublisherStats {
  readonly changes: number;
  readonly messages: number;
  readonly kafkaTransactions: number;
  readonly transactions: number;
  readonly lastReadPosition: BinlogPosition | null;
  readonly published: Checkpoint | null;
  readonly lagMs: number;
}

const TIMEOUT = Symbol('linger');
/** Kafka's default `message.max.bytes`. */
export const KAFKA_DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;
/** A record batch's own header (v2), and an upper bound on one record's framing (varints, attributes, header lengths). */
const BATCH_HEADER_BYTES = 61;
const RECORD_FRAMING_BYTES = 32;
const POSITION_ONLY_EVERY_MS = 1000;
/**
 * The most bytes buffered before a send (two chunks are in memory: one in flight, one filling). Each
 * request costs the broker about as much CPU as a hundred kilobytes of records, and on a machine it
 * shares that is what limits the publisher: 1 MiB chunks over 8 partitions were ~130 KB requests, and 4 MiB
 * ones took the broker's CPU for the same backlog from ~2.3 s to ~1.5 s.
 */
const DEFAULT_MAX_CHUNK_BYTES = 8 * 1024 * 1024;
/**
 * An idle publisher stores its (unchanged) position again this often. A newer publisher fences this
 * one only at this one's next request to the transaction coordinator: on a quiet source the fenced
 * publisher would otherwise stay alive, looking healthy, until the next write.
 */
const FENCE_PROBE_EVERY_MS = 10_000;

export class KafkaPublisher {
  private readonly partitioner: Partitioner;
  private readonly watermark: Watermark;
  private readonly stop = new AbortController();
  /** Messages buffered per partition, not yet sent, and their size as records. */
  private buffer = new Map<number, OutgoingMessage[]>();
  private partitionBytes = new Map<number, number>();
  private bufferedBytes = 0;
  /** The most record bytes one partition's batch may hold: one send is one record batch per partition. */
  private readonly maxBatchRecordBytes: number;
  /** Mutations in the open Kafka transaction, per source transaction, acknowledged at its commit. */
  private tracked = new Map<number, number>();
  private tx: Transaction | null = null;
  /** The previous chunk's sends (see sendBuffered). */
  private inFlight: Promise<void> | null = null;
  /** The previous Kafka transaction's commit, when it was left to finish while reading on (see commitTx). */
  private committing: Promise<void> | null = null;
  /** The checkpoint of the last commit started (`published` is the last one finished). */
  private handedOff: Checkpoint | null;
  private txBytes = 0;
  private txMessages = 0;
  private txSince = 0;
  private lastCommitAt = Date.now();
  /** The last event handled ended a source transaction: the open Kafka transaction may commit. */
  private atBoundary = true;
  private commits: bigint;
  private changes = 0;
  private messages = 0;
  private kafkaTransactions = 0;
  private transactions = 0;
  private lastReadPosition: BinlogPosition | null = null;
  private published: Checkpoint | null;
  private readonly orderHandedOn = new OrderGroupProgress();
  private readonly scratch: Mutation[] = [];
  private readonly chunkBytes: number;
  private readonly envelopes: EnvelopeWriter;

  constructor(private readonly o: KafkaPublisherOptions) {
    this.envelopes = new EnvelopeWriter({ pipeline: o.pipeline, serverId: o.serverId, version: o.version });
    this.partitioner = new Partitioner(o.partitions);
    this.watermark = new Watermark(o.initialCheckpoint);
    this.published = o.initialCheckpoint;
    this.handedOff = o.initialCheckpoint;
    this.commits = o.commits;
    this.chunkBytes = o.chunkBytes ?? Math.min(2 * o.batchBytes, DEFAULT_MAX_CHUNK_BYTES);
    this.maxBatchRecordBytes = (o.maxMessageBytes ?? KAFKA_DEFAULT_MAX_MESSAGE_BYTES) - BATCH_HEADER_BYTES;
  }

  stats(): PublisherStats {
    const busy = this.watermark.inFlight > 0 || this.txMessages > 0;
    return {
      changes: this.changes,
      messages: this.messages,
      kafkaTransactions: this.kafkaTransactions,
      transactions: this.transactions,
      lastReadPosition: this.lastReadPosition,
      published: this.published,
      lagMs: busy && this.published ? Math.max(0, Date.now() - this.published.sourceTimestampMs) : 0,
    };
  }

  /** Publishes until `signal` (then commits what is complete and returns), `until`, or a fatal error. */
  async run(signal: AbortSignal): Promise<'stopped' | 'until-reached' | 'source-ended'> {
    const onAbort = (): void => this.stop.abort();
    if (signal.aborted) this.stop.abort();
    else signal.addEventListener('abort', onAbort, { once: true });
    const resolvedXa = this.o.initialCheckpoint?.resolvedXa;
    const identity = this.o.sourceIdentity;
    const read = { from: this.o.from, signal: this.stop.signal, ...(this.o.until ? { until: this.o.until } : {}), ...(resolvedXa ? { resolvedXa } : {}), ...(identity ? { source: identity } : {}) };
    const it = this.o.source.read(read)[Symbol.asyncIterator]();
    try {
      for (;;) {
        const next = it.next();
        let r: IteratorResult<readonly unknown[]> | typeof TIMEOUT;
        // Idle with a complete transaction open: commit it once it has lingered long enough.
        // A commit left running finishes first when the source has nothing to read (its failure surfaces at once).
        while ((r = await this.waitLinger(next)) === TIMEOUT) {
          if (this.committing) await this.waitCommitted();
          else await this.commitTx({ evenUnchanged: true });
        }
        if (r.done) break;
        await this.handle(r.value as Parameters<KafkaPublisher['handle']>[0]);
      }
      if (this.atBoundary) await this.commitTx();
      else {
        await this.waitCommitted();
        await this.abortTx(); // stopped inside a source transaction: it is published again next run
      }
    } catch (err) {
      await this.abortTx();
      throw this.explain(err);
    } finally {
      signal.removeEventListener('abort', onAbort);
      // End the read first: return() on the generator waits for its pending next(), which waits for
      // the next binlog event; on a quiet source a fenced publisher hung there instead of stopping.
      this.stop.abort();
      await it.return?.();
    }
    if (signal.aborted) return 'stopped';
    return this.o.until && this.lastReadPosition && comparePositions(this.lastReadPosition, this.o.until) >= 0 ? 'until-reached' : 'source-ended';
  }

  private waitLinger<T>(next: Promise<T>): Promise<T | typeof TIMEOUT> {
    const due = this.commitDueAt();
    if (due === null) return next;
    let timer: NodeJS.Timeout | undefined;
    const linger = new Promise<typeof TIMEOUT>((resolve) => (timer = setTimeout(() => resolve(TIMEOUT), Math.max(0, due - Date.now()))));
    return Promise.race([next, linger]).finally(() => clearTimeout(timer));
  }

  /** When the open transaction should commit if nothing else arrives (null: nothing to commit, or mid-transaction). */
  private commitDueAt(): number | null {
    if (this.committing) return Date.now();
    if (!this.atBoundary) return null;
    if (this.txMessages > 0) return this.txSince + this.o.lingerMs;
    // Transactions of unsynced tables still move the position: store it now and then, so a restart does not re-read them.
    if (this.positionMoved()) return this.lastCommitAt + POSITION_ONLY_EVERY_MS;
    return this.watermark.checkpoint ? this.lastCommitAt + (this.o.fenceProbeMs ?? FENCE_PROBE_EVERY_MS) : null;
  }

  private async handle(batch: readonly import('../../src/index.js').SourceStreamEvent[]): Promise<void> {
    for (const ev of batch) {
      switch (ev.kind) {
        case 'change': {
          this.changes++;
          this.atBoundary = false;
          const ms = this.scratch;
          ms.length = 0;
          appendMutations(ev, ms);
          for (const m of ms) {
            if (this.orderHandedOn.covers(m)) continue;
            const routed = this.partitioner.route(m);
            this.watermark.track(m.txSeq);
            this.tracked.set(m.txSeq, (this.tracked.get(m.txSeq) ?? 0) + 1);
            const msg = outgoing(this.envelopes.encode(ev, m, Date.now()), routed.partition);
            const record = recordBytes(msg);
            if (record > this.maxBatchRecordBytes) throw this.tooLarge(m, ev.position, record);
            // One partition's messages go out as one record batch, which the broker refuses above
            // max.message.bytes: send what is buffered first when this one would not fit.
            if ((this.partitionBytes.get(routed.partition) ?? 0) + record > this.maxBatchRecordBytes) await this.sendBuffered();
            let list = this.buffer.get(routed.partition);
            if (!list) this.buffer.set(routed.partition, (list = []));
            list.push(msg);
            this.partitionBytes.set(routed.partition, (this.partitionBytes.get(routed.partition) ?? 0) + record);
            const bytes = record;
            this.bufferedBytes += bytes;
            this.txBytes += bytes;
            this.txMessages++;
            if (this.txMessages === 1) this.txSince = Date.now();
            if (this.bufferedBytes >= this.chunkBytes) await this.sendBuffered();
          }
          break;
        }
        case 'commit':
          this.transactions++;
          this.lastReadPosition = ev.position;
          this.watermark.commit(ev.txSeq, ev.position, ev.timestampMs, commitOptionsOf(ev));
          this.atBoundary = true;
          if (this.txBytes >= this.o.batchBytes) await this.commitTx({ readOn: true });
          break;
        case 'schema-change':
          this.lastReadPosition = ev.position;
          this.watermark.commit(ev.txSeq, ev.position, ev.timestampMs);
          this.atBoundary = true;
          if (ev.synced) this.o.logger.warn({ sql: ev.sql.slice(0, 300), position: formatPosition(ev.position) }, 'DDL on a synced table not applied (schemaChanges: ignore; apply is not available with kafka): make the same change on the target before rows of the new shape arrive, or set schemaChanges: stop');
          else this.o.logger.debug({ sql: ev.sql.slice(0, 300), position: formatPosition(ev.position) }, 'DDL on the source (no synced table)');
          break;
        case 'statement':
          // Refused by the pipeline file's validation; a source that emits one anyway must not be skipped.
          throw new BinlogSyncError('SOURCE_STATEMENT_EVENT', `a statement-format change at ${formatPosition(ev.position)} cannot be published to Kafka (source.statementEvents: apply is not available with the kafka transport)`);
        case 'halt':
          // Everything before the event is published and its position committed; then stop with its error.
          this.atBoundary = true;
          await this.commitTx();
          throw ev.error;
        case 'abandon':
          this.watermark.abandon(ev.txSeq);
          break;
        case 'position':
          break;
      }
    }
  }

  /** The open Kafka transaction, or a new one once the previous one's commit has finished. */
  private async openTx(): Promise<Transaction> {
    if (!this.tx) {
      await this.waitCommitted();
      this.tx = await this.o.producer.transaction();
    }
    return this.tx;
  }

  /** Waits for the commit left running (see commitTx); rethrows its failure. */
  private async waitCommitted(): Promise<void> {
    const c = this.committing;
    this.committing = null;
    if (c) await c;
  }

  /**
   * Sends what is buffered inside the open Kafka transaction: one request per partition, one in flight
   * per partition. Never one request for several partitions: kafkajs retries a failed send per broker
   * and keeps the answers of brokers that responded, so when a broker dies and its partitions move to
   * a broker that had answered, the moved partitions are dropped from the retry, and a partition that
   * moved the other way is written twice (seen here: duplicates after a broker was killed -9).
   *
   * Pipelined: the previous chunk's sends are awaited first, then this chunk's are started and left
   * in flight while the binlog is read on (at most two chunks in memory); a commit drains them.
   */
  private async sendBuffered(): Promise<void> {
    await this.drainSends();
    if (this.buffer.size === 0) return;
    const tx = await this.openTx();
    const sends: Promise<unknown>[] = [];
    for (const messages of this.buffer.values()) sends.push(tx.send({ topic: this.o.topic, messages, acks: -1 }));
    this.buffer = new Map();
    this.partitionBytes = new Map();
    this.bufferedBytes = 0;
    const inFlight = Promise.allSettled(sends).then((results) => {
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    });
    inFlight.catch(() => undefined); // surfaced by drainSends
    this.inFlight = inFlight;
  }

  /**
   * A change whose message the topic cannot take. Not retried: the same change would be refused again
   * after every restart. Everything before its source transaction stays published.
   */
  private tooLarge(m: Mutation, position: BinlogPosition, bytes: number): BinlogSyncError {
    const limit = this.maxBatchRecordBytes + BATCH_HEADER_BYTES;
    const table = `${m.table.schema}.${m.table.name}`;
    const key = JSON.stringify(m.key.map((v) => (Buffer.isBuffer(v) ? `0x${v.toString('hex').slice(0, 40)}` : v)));
    return new BinlogSyncError(
      'KAFKA_MESSAGE_TOO_LARGE',
      `the change of ${table} key ${key.length > 200 ? key.slice(0, 200) + '…' : key} at ${formatPosition(position)} is a Kafka message of ${bytes} bytes, ` +
        `more than the topic ${this.o.topic} accepts (max.message.bytes ${limit}). Nothing of its source transaction was published. ` +
        `Raise max.message.bytes on the topic (kafka-configs.sh --alter --entity-type topics --entity-name ${this.o.topic} --add-config max.message.bytes=N, ` +
        `and replica.fetch.max.bytes on the brokers to at least N), then start the publisher again: it continues with this change.`,
      { details: { table, position: formatPosition(position), bytes, maxMessageBytes: limit, topic: this.o.topic } },
    );
  }

  /** Waits for the sends in flight; rethrows their failure. */
  private async drainSends(): Promise<void> {
    const f = this.inFlight;
    this.inFlight = null;
    if (f) await f;
  }

  /**
   * Commits the open Kafka transaction with the position just after its last complete source
   * transaction; `evenUnchanged` also when nothing moved (the idle fence probe).
   *
   * `readOn` (a full batch while catching up): the last sends, the position and the commit are left
   * running while the binlog is read and encoded on; the next Kafka transaction begins only once this
   * one has committed (openTx), and a failure surfaces there or at the next commit. Each commit costs
   * several round trips to the broker, which the publisher otherwise spent waiting. Every other commit
   * (linger, fence probe, halt, stop) is waited for, so the idle publisher learns at once that it was fenced.
   */
  private async commitTx(options: { evenUnchanged?: boolean; readOn?: boolean } = {}): Promise<void> {
    if (this.txMessages === 0 && !this.positionMoved() && !(options.evenUnchanged && this.watermark.checkpoint)) {
      if (!options.readOn) await this.waitCommitted();
      return;
    }
    await this.sendBuffered();
    const tx = await this.openTx();
    const sends = this.inFlight;
    this.inFlight = null;
    for (const [txSeq, n] of this.tracked) this.watermark.ack(txSeq, n);
    this.tracked = new Map();
    const checkpoint = this.watermark.checkpoint;
    const count = this.txMessages;
    this.tx = null;
    this.txMessages = 0;
    this.txBytes = 0;
    if (checkpoint) {
      this.commits++;
      this.handedOff = checkpoint;
    }
    const commits = this.commits;
    const committing = (async () => {
      if (sends) await sends;
      if (checkpoint) await sendPosition(tx, this.o.pipeline, this.o.topic, commits, this.o.sourceIdentity ? { ...checkpoint, source: this.o.sourceIdentity } : checkpoint);
      await tx.commit();
      this.lastCommitAt = Date.now();
      this.kafkaTransactions++;
      this.messages += count;
      if (checkpoint) {
        this.published = checkpoint;
        this.o.onCommitted?.(checkpoint, count);
      }
    })();
    committing.catch(() => undefined); // surfaced by waitCommitted
    this.committing = committing;
    if (!options.readOn) await this.waitCommitted();
  }

  /** Source transactions without synced rows still move the position (so a restart does not re-read them). */
  private positionMoved(): boolean {
    const cp = this.watermark.checkpoint;
    return cp !== null && (this.handedOff === null || !sameCheckpoint(cp, this.handedOff));
  }

  private async abortTx(): Promise<void> {
    await this.drainSends().catch(() => undefined);
    await this.waitCommitted().catch(() => undefined);
    const tx = this.tx;
    this.tx = null;
    if (tx?.isActive()) await tx.abort().catch((err: unknown) => this.o.logger.warn({ err: describeError(err) }, 'could not abort the open Kafka transaction (the broker aborts it when it times out, or when the publisher starts again)'));
  }

  private explain(err: unknown): unknown {
    if (isFenced(err)) return fencedError(this.o.pipeline, err);
    if (err instanceof BinlogSyncError) return err;
    return new BinlogSyncError('KAFKA', `publishing to ${this.o.topic} failed: ${describeError(err)}. Nothing of the open Kafka transaction is visible; a restart resumes after the last committed one.`, { cause: err });
  }
}

/** The error a fenced publisher stops with: final, never restarted (a restart would fence the newer one). */
export function fencedError(pipeline: string, cause: unknown): BinlogSyncError {
  return new BinlogSyncError(
    'PIPELINE_LOCKED',
    `another publisher of pipeline "${pipeline}" started (same transactional.id) and fenced this one: only one may publish. This one stops; nothing it had not committed is in the topic.`,
    { cause },
  );
}

/**
 * A message as buffered for sending, and as handed to kafkajs (which reads `partition` and leaves the
 * object alone): the value (the large part) encoded to UTF-8 once, so that neither sizing it nor the
 * record encoder scans the text again.
 */
export interface OutgoingMessage {
  readonly key: string;
  readonly value: Buffer;
  readonly headers: Readonly<Record<string, string>>;
  readonly partition: number;
}

export function outgoing(msg: EncodedMessage, partition: number): OutgoingMessage {
  return { key: msg.key, value: Buffer.from(msg.value, 'utf8'), headers: msg.headers, partition };
}

/** A message's size as a record: key, value and headers in UTF-8, plus the record's framing. */
export function recordBytes(msg: OutgoingMessage): number {
  let n = msg.value.length + Buffer.byteLength(msg.key) + RECORD_FRAMING_BYTES;
  for (const name in msg.headers) n += name.length + Buffer.byteLength(msg.headers[name]!) + 2;
  return n;
}

/**
 * Whether a newer producer with our transactional.id has taken over: kafkajs reports it as
 * INVALID_PRODUCER_EPOCH ("an old epoch") or PRODUCER_FENCED, often wrapped by its retrier or by a
 * non-retriable error, so the whole cause chain is looked at.
 */
export function isFenced(err: unknown): boolean {
  for (let e = err as { type?: string; message?: string; cause?: unknown; originalError?: unknown } | undefined, depth = 0; e && depth < 6; depth++) {
    if (e.type === 'INVALID_PRODUCER_EPOCH' || e.type === 'PRODUCER_FENCED' || /old epoch|fenced/i.test(e.message ?? '')) return true;
    e = (e.cause ?? e.originalError) as typeof e;
  }
  return false;
}
