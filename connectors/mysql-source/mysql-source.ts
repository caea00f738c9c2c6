/**
 * `SourceConnector` for MySQL/MariaDB: binlog reading (zongji) plus a small control pool for
 * metadata, head/earliest and the watchdog. See binlog-reader.ts for the reading loop.
 */
import mysql from 'mysql2/promise';
import type { Logger } from 'pino';
import { DEFAULT_BACKOFF } from '../../src/index.js';
import { SourceError, describeError } from '../../src/index.js';
import { silentLogger } from '../../src/index.js';
import type { BinlogPosition, SourceIdentity } from '../../src/index.js';
import type { Row, RowIdentity, SnapshotChunk, SnapshotSource, SnapshotTable, SnapshotTarget, SourceConnector, SourceReadOptions, SourceServer, SourceStreamEvent, SqlValue, TableRef } from '../../src/index.js';
import { BinlogReader, type ReaderStats } from './binlog-reader.js';
import { SOURCE_DEFAULTS, type MySqlSourceOptions } from './options.js';
import { SchemaCache } from './schema-cache.js';
import { CollationFolder } from './collation-folder.js';
import { SnapshotReader } from './snapshot-reader.js';
import { describeZongjiDecoder, installZongjiDecoder } from './zongji-row-reader.js';
import { TableFilter, binlogStatusStatement, readForeignKeys, type ForeignKeyLink } from '../../src/index.js';
import { gtidBinlogStateStatement, gtidPositionAtStatement, identityOfRow, parseServerVersion, sourceIdentityStatement } from '../../src/index.js';
import { locateGtidPosition, type LocatedGtidPosition } from './gtid-locator.js';

type Rows = Record<string, unknown>[];
type Query = (sql: string, params?: readonly unknown[]) => Promise<Rows>;
/** Tables whose metadata `warmUp` loads before the first change (the rest load on first use). */
const WARM_UP_TABLES = 256;

export class MySqlSource implements SourceConnector, SourceServer, SnapshotSource {
  private readonly pool: mysql.Pool;
  private readonly filter: TableFilter;
  private readonly schema: SchemaCache;
  private readonly folder: CollationFolder;
  private readonly logger: Logger;
  private readonly connectTimeoutMs: number;
  private reader: BinlogReader | null = null;
  private snapshots: SnapshotReader | null = null;
  private closed = false;

  constructor(private readonly options: MySqlSourceOptions) {
    this.logger = options.logger ?? silentLogger();
    this.connectTimeoutMs = options.connectTimeoutMs ?? SOURCE_DEFAULTS.connectTimeoutMs;
    this.filter = new TableFilter(options.include, options.exclude);
    this.pool = mysql.createPool({
      host: options.host,
      port: options.port,
      user: options.user,
      password: options.password,
      connectionLimit: 2,
      connectTimeout: this.connectTimeoutMs,
      enableKeepAlive: true,
    });
    // An idle pooled connection that dies (source restart) must not crash the process.
    this.pool.on('connection', (c) => c.on('error', () => {}));
    this.schema = new SchemaCache(
      async (sql, params) => (await this.pool.query(sql, params as unknown[]))[0] as Rows,
      options.keys ?? {},
      (message) => this.logger.warn({ code: 'SOURCE_METADATA' }, message),
      { links: () => this.foreignKeyLinks(), isSynced: (t) => this.filter.matches(t.schema, t.name) },
      (table) => options.fullRow?.(table) ?? false,
    );
    this.folder = new CollationFolder(async (sql, params) => (await this.pool.query({ sql, values: params as unknown[], rowsAsArray: true }))[0] as unknown[][]);
  }

  read(options: SourceReadOptions): AsyncIterable<readonly SourceStreamEvent[]> {
    // Not `yield*` in a generator: the delegating generator keeps the last result, and with it the last
    // batch (maybe a 64 MB row), alive while the next one is read.
    return { [Symbol.asyncIterator]: () => afterSetup(() => this.start(options)) };
  }

  /** Counters of the running read (reconnects, buffered bytes); null before the first read. */
  stats(): ReaderStats | null {
    return this.reader?.refreshStats() ?? null;
  }

  private async start(options: SourceReadOptions): Promise<AsyncIterator<readonly SourceStreamEvent[], void, undefined>> {
    if (this.closed) throw new SourceError('SOURCE_CONNECTION', 'the source connector is closed');
    await this.checkBinlogSettings();
    const decoder = installZongjiDecoder(); // throws SOURCE_DECODE when zongji is not the one our row reader mirrors
    this.logger.info(
      { zongji: decoder.zongjiVersion, decoderMode: decoder.mode, reason: decoder.reason, patches: decoder.patches, skipped: decoder.skipped },
      describeZongjiDecoder(decoder),
    );
    const o = this.options;
    const reader = new BinlogReader({
      connection: { host: o.host, port: o.port, user: o.user, password: o.password, connectTimeoutMs: this.connectTimeoutMs },
      serverId: o.serverId,
      filter: this.filter,
      schema: this.schema,
      folder: this.folder,
      statementEvents: o.statementEvents ?? 'stop',
      schemaChanges: o.schemaChanges ?? 'ignore',
      logger: this.logger,
      silentAfterMs: o.silentAfterMs ?? SOURCE_DEFAULTS.silentAfterMs,
      reconnect: o.reconnect ?? DEFAULT_BACKOFF,
      highWaterBytes: o.bufferHighWaterBytes ?? SOURCE_DEFAULTS.bufferHighWaterBytes,
      lowWaterBytes: o.bufferLowWaterBytes ?? SOURCE_DEFAULTS.bufferLowWaterBytes,
      head: () => this.onFreshConnection((query) => this.headOn(query)),
      earliest: () => this.earliest(),
      sessionStart: (at) => this.onFreshConnection(async (query) => ({ identity: await this.identityOn(query), gtidPos: at ? await this.gtidPositionOrUnknown(query, at) : null })),
    });
    this.reader = reader;
    return reader.read(options);
  }

  /**
   * The decoder relies on ROW events with full images, and on FULL row metadata so that events
   * written before an ALTER TABLE decode with the columns they were written with.
   */
  private async checkBinlogSettings(): Promise<void> {
    const vars = await this.variables(['log_bin', 'binlog_format', 'binlog_row_image', 'binlog_row_metadata']);
    const problems: string[] = [];
    if (vars.get('log_bin') !== 'ON') problems.push('binary logging is off (start the server with --log-bin)');
    if (vars.has('binlog_format') && vars.get('binlog_format') !== 'ROW') problems.push(`binlog_format is ${vars.get('binlog_format')}, must be ROW`);
    if (vars.has('binlog_row_image') && vars.get('binlog_row_image') !== 'FULL') problems.push(`binlog_row_image is ${vars.get('binlog_row_image')}, must be FULL (the pipeline applies full row images)`);
    const meta = vars.get('binlog_row_metadata');
    if (meta !== 'FULL' && !this.options.allowNoRowMetadata) {
      problems.push(
        `binlog_row_metadata is ${meta ?? 'not supported'}, should be FULL: otherwise events written before an ALTER TABLE are decoded with today's columns, silently wrong when the column count did not change (set allowNoRowMetadata to accept that risk)`,
      );
    }
    if (problems.length > 0) {
      throw new SourceError('SOURCE_METADATA', `source ${this.options.host}:${this.options.port}: ${problems.join('; ')}. Set them in the server's configuration file (SET GLOBAL is lost at restart).`, {
        details: { problems },
      });
    }
    if (meta !== 'FULL') this.logger.warn({ code: 'SOURCE_METADATA', binlog_row_metadata: meta }, 'binlog_row_metadata is not FULL; decoding uses current table definitions');
  }

  async warmUp(): Promise<void> {
    const synced = await this.syncedTables();
    // Many tables: the first ones only; the rest load on first use, as before.
    await Promise.all(synced.slice(0, WARM_UP_TABLES).map((t) => this.schema.get(t).catch(() => undefined)));
  }

  /** The source's base tables the pipeline syncs. */
  private async syncedTables(): Promise<TableRef[]> {
    const [tables] = await this.pool.query("SELECT TABLE_SCHEMA AS db, TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE'");
    return (tables as Rows).map((t) => ({ schema: String(t.db), name: String(t.name) })).filter((t) => this.filter.matches(t.schema, t.name));
  }

  /** Whether foreign keys link synced tables: their changes then form order groups, applied exactly once by binlog position. */
  async hasOrderGroups(): Promise<boolean> {
    return (await this.foreignKeyLinks()).some((l) => this.filter.matches(l.child.schema, l.child.name) && this.filter.matches(l.parent.schema, l.parent.name));
  }

  /** Foreign keys whose child or parent is in a database with synced tables. */
  private async foreignKeyLinks(): Promise<ForeignKeyLink[]> {
    const schemas = [...new Set((await this.syncedTables()).map((t) => t.schema))];
    const fks = await readForeignKeys(this.pool, schemas);
    return fks.map((fk) => ({ child: { schema: fk.child.db, name: fk.child.table }, parent: { schema: fk.parent.db, name: fk.parent.table } }));
  }

  private async variables(names: readonly string[]): Promise<Map<string, string>> {
    const [rows] = await this.pool.query(`SHOW GLOBAL VARIABLES WHERE Variable_name IN (${names.map(() => '?').join(',')})`, names as string[]);
    const out = new Map<string, string>();
    for (const r of rows as Rows) out.set(String(r.Variable_name), String(r.Value).toUpperCase());
    return out;
  }

  head(): Promise<BinlogPosition> {
    return this.headOn(this.poolQuery);
  }

  private readonly poolQuery: Query = (sql, params) => this.pool.query(sql, params as unknown[]).then(([rows]) => rows as Rows);

  /**
   * For the watchdog and each binlog session's start: a new connection with timeouts, as the pool's
   * may hang on a frozen server.
   */
  private async onFreshConnection<T>(work: (query: Query) => Promise<T>): Promise<T> {
    const o = this.options;
    const timeout = this.connectTimeoutMs;
    const conn = await mysql.createConnection({ host: o.host, port: o.port, user: o.user, password: o.password, connectTimeout: timeout });
    conn.on('error', () => {});
    try {
      return await work((sql, params) => conn.query({ sql, timeout, values: params as unknown[] }).then(([rows]) => rows as Rows));
    } finally {
      conn.destroy();
    }
  }

  // The version is asked each time: statements depend on it, and a restarted source may be an upgraded one.
  private async versionOn(query: Query): Promise<string> {
    return String((await query('SELECT VERSION() AS version'))[0]?.version ?? '');
  }

  identity(): Promise<SourceIdentity> {
    return this.identityOn(this.poolQuery);
  }

  private async identityOn(query: Query): Promise<SourceIdentity> {
    const version = await this.versionOn(query);
    return identityOfRow(parseServerVersion(version).flavor, (await query(sourceIdentityStatement(version)))[0]);
  }

  gtidPositionAt(position: BinlogPosition): Promise<string | null> {
    return this.gtidPositionOn(this.poolQuery, position);
  }

  private async gtidPositionOn(query: Query, position: BinlogPosition): Promise<string | null> {
    const statement = gtidPositionAtStatement(await this.versionOn(query));
    if (statement === null) return null;
    const value = (await query(statement, [position.file, position.pos]))[0]?.gtid_pos;
    return typeof value === 'string' ? value : null;
  }

  /**
   * For tracking: BINLOG_GTID_POS reads the binlog file up to the position, which can take a while on
   * a big file; when it fails, the reader does without (until the next file's GTID list) rather than
   * reconnecting for ever.
   */
  private async gtidPositionOrUnknown(query: Query, position: BinlogPosition): Promise<string | null> {
    try {
      return await this.gtidPositionOn(query, position);
    } catch (err) {
      this.logger.warn({ err: describeError(err), position: `${position.file}:${position.pos}` }, 'could not ask the source for its GTID position at the start; checkpoints name none until the next binlog file');
      return null;
    }
  }

  async gtidBinlogState(): Promise<string | null> {
    const statement = gtidBinlogStateStatement(await this.versionOn(this.poolQuery));
    if (statement === null) return null;
    const value = (await this.poolQuery(statement))[0]?.gtid_binlog_state;
    return typeof value === 'string' ? value : null;
  }

  locateGtidPosition(gtidPos: string): Promise<LocatedGtidPosition> {
    const o = this.options;
    const connection = { host: o.host, port: o.port, user: o.user, password: o.password, connectTimeoutMs: this.connectTimeoutMs };
    return locateGtidPosition(connection, o.serverId, gtidPos, this.connectTimeoutMs);
  }

  private async headOn(query: Query): Promise<BinlogPosition> {
    const statement = binlogStatusStatement(await this.versionOn(query));
    const status = await query(statement);
    const row = status[0];
    if (!row) throw new SourceError('SOURCE_METADATA', `source ${this.options.host}:${this.options.port} has no binlog (${statement} is empty): start it with --log-bin`);
    const file = String(row.File);
    const pos = Number(row.Position);
    let gtid = typeof row.Executed_Gtid_Set === 'string' && row.Executed_Gtid_Set !== '' ? row.Executed_Gtid_Set.replace(/\s/g, '') : undefined;
    if (gtid === undefined) {
      try {
        const g = await query('SELECT @@GLOBAL.gtid_binlog_pos AS gtid');
        const v = g[0]?.gtid;
        if (typeof v === 'string' && v !== '') gtid = v;
      } catch (err) {
        this.logger.debug({ err: describeError(err) }, 'no MariaDB gtid_binlog_pos');
      }
    }
    return gtid === undefined ? { file, pos } : { file, pos, gtid };
  }

  /** The source server's own server_id (named in published messages). */
  async serverId(): Promise<number> {
    const [rows] = await this.pool.query('SELECT @@GLOBAL.server_id AS id');
    return Number((rows as Rows)[0]?.id ?? 0);
  }

  /**
   * The head, the binlog files and how long the server keeps them, in one round on a fresh connection
   * with timeouts (metrics and the retention guard ask it every few seconds; a frozen server must not
   * hold them). Expiry: `binlog_expire_logs_seconds` where the server has it and it is set, else
   * `expire_logs_days`; null when neither purges (0).
   */
  binlogInventory(): Promise<{ head: BinlogPosition; files: { file: string; size: number }[]; expireSeconds: number | null }> {
    return this.onFreshConnection(async (query) => {
      const head = await this.headOn(query);
      const files = (await query('SHOW BINARY LOGS')).map((r) => ({ file: String(r.Log_name), size: Number(r.File_size) }));
      const vars = new Map((await query("SHOW GLOBAL VARIABLES WHERE Variable_name IN ('binlog_expire_logs_seconds', 'expire_logs_days')")).map((r) => [String(r.Variable_name), Number(r.Value)]));
      const seconds = vars.get('binlog_expire_logs_seconds') ?? 0;
      const days = vars.get('expire_logs_days') ?? 0;
      const expireSeconds = seconds > 0 ? seconds : days > 0 ? Math.round(days * 86_400) : null;
      return { head, files, expireSeconds };
    });
  }

  async earliest(): Promise<BinlogPosition> {
    const [rows] = await this.pool.query('SHOW BINARY LOGS');
    const first = (rows as Rows)[0];
    if (!first) throw new SourceError('SOURCE_METADATA', `source ${this.options.host}:${this.options.port} has no binary logs`);
    return { file: String(first.Log_name), pos: 4 };
  }

  /** Snapshot reads (their own pool, opened on first use). */
  private snapshotReader(): SnapshotReader {
    if (this.closed) throw new SourceError('SOURCE_CONNECTION', 'the source connector is closed');
    const o = this.options;
    this.snapshots ??= new SnapshotReader(
      { host: o.host, port: o.port, user: o.user, password: o.password, connectTimeoutMs: this.connectTimeoutMs },
      this.filter,
      this.schema,
      this.folder,
      () => this.head(),
    );
    return this.snapshots;
  }

  snapshotTables(only?: readonly TableRef[]): Promise<readonly SnapshotTable[]> {
    return this.snapshotReader().snapshotTables(only);
  }

  readChunk(table: TableRef, after: readonly SqlValue[] | null, limit: number): Promise<SnapshotChunk> {
    return this.snapshotReader().readChunk(table, after, limit);
  }

  readWhere(table: TableRef, where: string): Promise<SnapshotChunk> {
    return this.snapshotReader().readWhere(table, where);
  }

  identify(table: TableRef, rows: readonly Row[]): Promise<readonly RowIdentity[]> {
    return this.snapshotReader().identify(table, rows);
  }

  /** Snapshot key reads on the target (see SnapshotReader.keysOn). */
  keysOn(target: { readonly host: string; readonly port: number; readonly user: string; readonly password: string }, targetOf?: (source: TableRef) => TableRef): SnapshotTarget {
    return this.snapshotReader().keysOn({ ...target, connectTimeoutMs: this.connectTimeoutMs }, targetOf);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.pool.end().catch(() => {}), this.snapshots?.close()]);
  }
}

/**
 * An iterator that runs `setup` at the first `next()` (so that setup errors reach the reader, as a
 * generator's would) and then forwards to the iterator it returned.
 */
function afterSetup<T>(setup: () => Promise<AsyncIterator<T, void, undefined>>): AsyncIterator<T, void, undefined> {
  let inner: Promise<AsyncIterator<T, void, undefined>> | null = null;
  let finished = false;
  const done: IteratorResult<T, void> = { done: true, value: undefined };
  return {
    async next() {
      if (finished) return done;
      inner ??= setup();
      try {
        return await (await inner).next();
      } catch (err) {
        finished = true;
        throw err;
      }
    },
    async return() {
      if (finished || inner === null) {
        finished = true;
        return done;
      }
      finished = true;
      const it = await inner;
      return (await it.return?.(undefined)) ?? done;
    },
  };
}
