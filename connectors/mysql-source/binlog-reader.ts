/**
 * The reading loop: binlog sessions → decoded, transaction-tagged `SourceStreamEvent`s, pulled by the
 * consumer. Reconnects with backoff after a lost connection, resuming just after the last commit it
 * emitted (an open transaction is abandoned and read again under a new txSeq); a watchdog notices a
 * connection that went silent while the server moved on. Error 1236 (position purged) is final.
 */
import type { Logger } from 'pino';
import type { AnyBinlogEvent, TableMapEntry } from '@vlasky/zongji';
import { DEFAULT_BACKOFF, backoffDelay, sleep, type BackoffPolicy } from '../../src/index.js';
import { SourceError, describeError } from '../../src/index.js';
import type { Row, SourceEvent, TableKeys, TableRef } from '../../src/index.js';
import { comparePositions, formatPosition, type BinlogPosition } from '../../src/index.js';
import type { SourceReadOptions, SourceStreamEvent, StartFrom } from '../../src/index.js';
import { BinlogSession, type RawItem, type SessionConnection } from './binlog-session.js';
import { classifyBinlogError } from './error-classes.js';
import { compileRowDecoder, fspOf, type ColumnSpec, type RowDecoder } from './row-decoder.js';
import type { SchemaCache } from './schema-cache.js';
import type { TableFilter } from '../../src/index.js';
import { TxAssembler, classifyQuery } from './tx-assembler.js';

export interface BinlogReaderConfig {
  readonly connection: SessionConnection;
  readonly serverId: number;
  readonly filter: TableFilter;
  readonly schema: SchemaCache;
  readonly logger: Logger;
  readonly silentAfterMs: number;
  readonly reconnect: BackoffPolicy;
  readonly highWaterBytes: number;
  readonly lowWaterBytes: number;
  /** The server's binlog head; rejects or hangs when the server does not answer. */
  readonly head: () => Promise<BinlogPosition>;
  /** The oldest binlog position still on the server (for the purged-position message). */
  readonly earliest: () => Promise<BinlogPosition>;
}

/** Numbers a test or a metrics endpoint can read while the reader runs. */
export interface ReaderStats {
  reconnects: number;
  silentReconnects: number;
  /** Highest number of bytes the session buffers ever held. */
  maxBufferedBytes: number;
  bufferedBytes: number;
  bufferedEvents: number;
  /** Row events (not rows) zongji handed us that we then dropped by the filter (should stay 0). */
  lateFiltered: number;
}

interface TableDecoder {
  readonly table: TableRef;
  readonly keys: TableKeys;
  readonly decode: RowDecoder;
  readonly types: readonly number[];
}

type RowsEvent = AnyBinlogEvent & {
  readonly tableId: number;
  readonly rows: readonly Record<string, unknown>[] | readonly { before: Record<string, unknown>; after: Record<string, unknown> }[];
};

function sameColumns(types: readonly number[], entry: TableMapEntry): boolean {
  const cols = entry.columns;
  if (!cols || cols.length !== types.length) return false;
  for (let i = 0; i < types.length; i++) if (cols[i]!.type !== types[i]) return false;
  return true;
}

function startOf(from: StartFrom): { file: string; pos: number } {
  return from.kind === 'position' ? { file: from.position.file, pos: from.position.pos } : { file: '', pos: 4 };
}

/** Most events handed on in one batch (bounds a batch's memory; a batch is typically far smaller). */
const MAX_BATCH = 1024;

export class BinlogReader {
  readonly stats: ReaderStats = { reconnects: 0, silentReconnects: 0, maxBufferedBytes: 0, bufferedBytes: 0, bufferedEvents: 0, lateFiltered: 0 };
  private readonly decoders = new Map<number, TableDecoder>();
  private session: BinlogSession | null = null;

  constructor(private readonly config: BinlogReaderConfig) {}

  /** Buffer state of the live session (for backpressure tests and metrics). */
  refreshStats(): ReaderStats {
    const b = this.session?.buffer;
    this.stats.bufferedBytes = b?.weight ?? 0;
    this.stats.bufferedEvents = b?.length ?? 0;
    if (b && b.maxWeight > this.stats.maxBufferedBytes) this.stats.maxBufferedBytes = b.maxWeight;
    return this.stats;
  }

  /**
   * Yields events in batches: everything already buffered is converted synchronously and handed on
   * in one array (up to MAX_BATCH), so the per-event cost is a function call, not a promise. The
   * resume point (`from`) only moves once a batch has been handed on.
   */
  async *read(options: SourceReadOptions): AsyncGenerator<readonly SourceStreamEvent[], void, undefined> {
    const { signal, until } = options;
    const log = this.config.logger;
    let from: StartFrom = options.from;
    const asm = new TxAssembler(startOf(from));
    let attempt = 0;
    while (!signal.aborted) {
      const session = new BinlogSession(this.config.connection, this.config.serverId, from, this.config.filter, {
        high: this.config.highWaterBytes,
        low: this.config.lowWaterBytes,
      });
      this.session = session;
      const onAbort = (): void => {
        session.buffer.clear();
        session.stop();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const watchdog = this.startWatchdog(session);
      let failure: unknown = null;
      let batch: SourceStreamEvent[] = [];
      let boundary: StartFrom | null = null;
      try {
        session.start();
        log.debug({ from: from.kind === 'gtid' ? from.gtid : formatPosition(from.position) }, 'binlog session started');
        let reachedUntil = false;
        while (!reachedUntil) {
          let item = session.buffer.shift();
          if (item === undefined || batch.length >= MAX_BATCH) {
            if (batch.length > 0) {
              yield batch;
              batch = [];
              if (boundary) {
                from = boundary;
                boundary = null;
                attempt = 0;
              }
              if (signal.aborted) return;
            }
            if (item === undefined) {
              const pulled = await session.buffer.next();
              if (pulled.done) return; // only an abort ends a session without an error
              item = pulled.value;
            }
          }
          let events: readonly SourceStreamEvent[] | null = null;
          if (item.name === 'tablemap') {
            const preparing = this.prepareTable(item.event as AnyBinlogEvent & { tableId: number; schemaName: string; tableName: string }, item.entry);
            if (preparing) await preparing;
          } else {
            events = this.handle(item, asm);
          }
          if (events === null) {
            // Non-transaction events between groups (format, GTID list, checkpoint) also reach `until`.
            // (Not rotate: its header position belongs to the file it ends.)
            if (until && asm.idle && item.name !== 'rotate' && item.event.nextPosition > 0 && comparePositions(asm.position(item.event.nextPosition, undefined), until) >= 0) reachedUntil = true;
            continue;
          }
          for (const event of events) {
            batch.push(event);
            if (event.kind === 'commit' || event.kind === 'schema-change') {
              boundary = { kind: 'position', position: event.position };
              if (until && comparePositions(event.position, until) >= 0) {
                reachedUntil = true;
                break;
              }
            }
          }
        }
        if (batch.length > 0) yield batch;
        return;
      } catch (err) {
        if (signal.aborted) return;
        failure = err;
      } finally {
        clearInterval(watchdog);
        signal.removeEventListener('abort', onAbort);
        this.refreshStats();
        session.stop();
        this.session = null;
      }

      const kind = classifyBinlogError(failure);
      if (kind === 'purged') throw await this.purgedError(from, failure);
      if (kind === 'fatal') {
        if (failure instanceof SourceError) throw failure;
        throw new SourceError('SOURCE_CONNECTION', `binlog reading failed: ${describeError(failure)}`, { cause: failure });
      }
      const abandoned = asm.abandon();
      if (abandoned) yield [abandoned];
      const delay = backoffDelay(this.config.reconnect ?? DEFAULT_BACKOFF, attempt++);
      this.stats.reconnects++;
      log.warn(
        { code: 'SOURCE_CONNECTION', err: describeError(failure), retryInMs: delay, resumeAt: from.kind === 'gtid' ? from.gtid : formatPosition(from.position), abandonedTxSeq: abandoned?.txSeq },
        'binlog connection lost; reconnecting',
      );
      await sleep(delay, signal);
    }
  }

  /** Converts one binlog event (not a table map); null when it yields nothing (most non-row events). */
  private handle(item: RawItem, asm: TxAssembler): readonly SourceStreamEvent[] | null {
    const ev = item.event;
    switch (item.name) {
      case 'rotate': {
        const r = ev as AnyBinlogEvent & { binlogName: string; position: number };
        asm.rotate(r.binlogName, r.position);
        return null;
      }
      case 'mariadbgtid':
      case 'gtid':
        asm.gtid((ev as AnyBinlogEvent & { gtid: string }).gtid);
        return null;
      case 'anonymousgtid':
        asm.gtid(undefined);
        return null;
      case 'xid':
        return [asm.commit(ev.nextPosition, ev.timestamp)];
      case 'query': {
        const q = ev as AnyBinlogEvent & { query: string; schema: string };
        const kind = classifyQuery(q.query);
        if (kind === 'begin') asm.begin();
        else if (kind === 'commit') return [asm.commit(ev.nextPosition, ev.timestamp)];
        else if (kind === 'ddl') {
          this.config.schema.invalidateMentionedIn(q.query);
          return [asm.ddl(q.query, q.schema, ev.nextPosition, ev.timestamp)];
        }
        return null;
      }
      case 'writerows':
      case 'updaterows':
      case 'deleterows':
        return this.rowChanges(item, asm);
      default:
        return null;
    }
  }

  /** Builds the decoder of a table id not seen yet (a promise), or returns undefined when it is known. */
  private prepareTable(ev: { tableId: number; schemaName: string; tableName: string }, entry: TableMapEntry | undefined): Promise<void> | undefined {
    if (!entry || !entry.columns) return undefined; // zongji filtered the table out
    if (!this.config.filter.matches(ev.schemaName, ev.tableName)) return undefined;
    const known = this.decoders.get(ev.tableId);
    if (known && known.table.schema === ev.schemaName && known.table.name === ev.tableName && sameColumns(known.types, entry)) return undefined;
    return this.buildDecoder(ev.tableId, { schema: ev.schemaName, name: ev.tableName }, entry as TableMapEntry & { columns: NonNullable<TableMapEntry['columns']> });
  }

  private async buildDecoder(tableId: number, table: TableRef, entry: TableMapEntry & { columns: NonNullable<TableMapEntry['columns']> }): Promise<void> {
    // A table id we have not seen (first use, or a new id after ALTER TABLE / restart): re-read keys.
    this.config.schema.invalidate(table);
    const info = await this.config.schema.get(table);
    const specs: ColumnSpec[] = entry.columns.map((c, i) => {
      const columnType = entry.columnSchemas[i]?.COLUMN_TYPE ?? '';
      const decimals = (c.metadata as { decimals?: unknown } | undefined)?.decimals;
      return {
        name: c.name,
        typeCode: c.type,
        columnType,
        dataType: info.dataTypes.get(c.name),
        generated: info.generated.has(c.name),
        fsp: typeof decimals === 'number' ? decimals : fspOf(columnType),
      };
    });
    this.decoders.set(tableId, {
      table: info.keys.table,
      keys: info.keys,
      decode: compileRowDecoder(info.keys.table, specs),
      types: entry.columns.map((c) => c.type),
    });
  }

  private rowChanges(item: RawItem, asm: TxAssembler): readonly SourceEvent[] | null {
    const ev = item.event as RowsEvent;
    const d = this.decoders.get(ev.tableId);
    if (!d) {
      if (item.entry) this.stats.lateFiltered++;
      return null;
    }
    const out: SourceEvent[] = new Array(ev.rows.length);
    const pos = ev.nextPosition;
    const ts = ev.timestamp;
    const decode = d.decode;
    const bytes = Math.ceil(ev.size / Math.max(1, ev.rows.length));
    if (item.name === 'updaterows') {
      const rows = ev.rows as readonly { before: Record<string, unknown>; after: Record<string, unknown> }[];
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i]!;
        out[i] = asm.change('update', d.keys, decode(r.before), decode(r.after), pos, ts, bytes);
      }
    } else {
      const rows = ev.rows as readonly Record<string, unknown>[];
      const insert = item.name === 'writerows';
      for (let i = 0; i < rows.length; i++) {
        const row: Row = decode(rows[i]!);
        out[i] = insert ? asm.change('insert', d.keys, null, row, pos, ts, bytes) : asm.change('delete', d.keys, row, null, pos, ts, bytes);
      }
    }
    return out;
  }

  private startWatchdog(session: BinlogSession): NodeJS.Timeout {
    const silentAfter = this.config.silentAfterMs;
    let checking = false;
    const timer = setInterval(() => {
      const b = session.buffer;
      if (b.weight > this.stats.maxBufferedBytes) this.stats.maxBufferedBytes = b.weight;
      // Paused by us (the consumer is busy) is not silence.
      if (checking || b.isPaused || b.closed || Date.now() - session.lastDataAt < silentAfter) return;
      checking = true;
      void this.isDead(session).then((dead) => {
        checking = false;
        session.lastDataAt = Date.now(); // next check after another silent period
        if (dead) {
          this.stats.silentReconnects++;
          this.config.logger.warn({ code: 'SOURCE_SILENT', silentMs: silentAfter }, `no binlog data for ${silentAfter} ms while the server moved on or stopped answering; reconnecting`);
          session.stop(new SourceError('SOURCE_SILENT', `binlog connection silent for ${silentAfter} ms`, { retriable: true }));
        }
      });
    }, Math.max(50, Math.min(5_000, Math.floor(silentAfter / 4))));
    timer.unref();
    return timer;
  }

  /** Silent connection: dead when the server's head is beyond what we received, or it does not answer. */
  private async isDead(session: BinlogSession): Promise<boolean> {
    try {
      const head = await this.config.head();
      const got = session.received();
      return got === null || comparePositions(head, got) > 0;
    } catch (err) {
      this.config.logger.debug({ err: describeError(err) }, 'watchdog head query failed');
      return true;
    }
  }

  private async purgedError(from: StartFrom, cause: unknown): Promise<SourceError> {
    const wanted = from.kind === 'gtid' ? `GTID ${from.gtid}` : formatPosition(from.position);
    let oldest = 'unknown (SHOW BINARY LOGS failed)';
    try {
      oldest = formatPosition(await this.config.earliest());
    } catch {
      // keep 'unknown'
    }
    return new SourceError(
      'SOURCE_POSITION_PURGED',
      `the source cannot send its binlog from ${wanted}: ${describeError(cause)}. The oldest binlog position still on the server is ${oldest}. ` +
        'The changes in between are lost for this pipeline: re-snapshot the target and restart from a current position with `binlog-sync run --reset-to <FILE:POS>` (or start: earliest to take whatever is left), and raise the source\'s binlog retention (expire_logs_days / binlog_expire_logs_seconds).',
      { cause, details: { position: wanted, oldest } },
    );
  }
}
