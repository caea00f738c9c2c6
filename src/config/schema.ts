/**
 * The pipeline file's schema: every key, its type, range and default, declared once. The loader
 * (`load.ts`) reads the YAML, interpolates `${VAR}`s and validates the result against `pipelineSchema`;
 * everything downstream gets a `PipelineConfig` with defaults filled in.
 *
 * Leaf values go through our own small parsers (`text`, `integer`, `flag`, `oneOf`) rather than
 * `z.string()`/`z.number()` for two reasons: a value that came from `${VAR}` arrives as an
 * `Interpolated` box and may be a number or boolean written as text (`port: ${PORT:-3306}`), while the
 * same text typed literally (`port: "3306"`) is an error; and the messages are ours (`expected a number,
 * got "abc"`), written for people editing YAML rather than for TypeScript developers.
 */
import { z } from 'zod';
import { RowFilterError, parseFilter } from '../core/row-filter.js';
import { RouteError, TableRoutes } from '../core/table-routes.js';

/** A string value produced by `${VAR}` interpolation (see `load.ts`). Unboxed by the leaf parsers. */
export class Interpolated {
  constructor(readonly text: string) {}
}

/** Marks strictObject unknown-key messages so the loader can turn them into per-key problems. */
export const UNKNOWN_KEYS_MARKER = 'binlog-sync:unknown-keys:';

/** How a value looks to the person who wrote it, for "got …" in messages. */
export function describeValue(v: unknown): string {
  if (v instanceof Interpolated) return JSON.stringify(v.text);
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}

type Ctx = z.core.$RefinementCtx;

function fail(ctx: Ctx, v: unknown, message: string): never {
  ctx.issues.push({ code: 'custom', message, input: v });
  return z.NEVER;
}

function missing(ctx: Ctx, v: unknown): never {
  return fail(ctx, v, 'missing (required)');
}

/** A strict mapping: unknown keys are errors (with a "did you mean" worked out by the loader). */
function strict<S extends z.ZodRawShape>(shape: S) {
  const known = JSON.stringify(Object.keys(shape));
  return z.strictObject(shape, {
    error: (iss) => {
      if (iss.code === 'unrecognized_keys') return `${UNKNOWN_KEYS_MARKER}${known}`;
      if (iss.code === 'invalid_type') {
        return iss.input === undefined ? 'missing (required)' : `expected a mapping, got ${describeValue(iss.input)}`;
      }
      return undefined;
    },
  });
}

function list<T extends z.ZodType>(element: T, opts: { min?: number } = {}) {
  const min = opts.min ?? 0;
  return z.array(element, {
    error: (iss) => {
      if (iss.code === 'invalid_type') {
        return iss.input === undefined ? 'missing (required)' : `expected a list, got ${describeValue(iss.input)}`;
      }
      if (iss.code === 'too_small') return `expected at least ${min} ${min === 1 ? 'entry' : 'entries'}, got none`;
      return undefined;
    },
  }).min(min);
}

interface TextOptions {
  readonly pattern?: RegExp;
  /** Said after the value when `pattern` does not match, e.g. `is not a db.table pattern`. */
  readonly patternMessage?: string;
  readonly allowEmpty?: boolean;
}

/** A string. Numbers and booleans are not silently turned into strings: `user: 123` is an error. */
function text(opts: TextOptions = {}) {
  return z.unknown().transform((v, ctx): string => {
    if (v === undefined) return missing(ctx, v);
    const s = v instanceof Interpolated ? v.text : v;
    if (typeof s !== 'string') return fail(ctx, v, `expected a string, got ${describeValue(v)}`);
    if (s === '' && !opts.allowEmpty) return fail(ctx, v, 'must not be empty');
    if (opts.pattern && !opts.pattern.test(s)) return fail(ctx, v, `${JSON.stringify(s)} ${opts.patternMessage ?? `does not match ${String(opts.pattern)}`}`);
    return s;
  });
}

/** A whole number in [min, max]; text is accepted only when it came from `${VAR}`. */
function integer(min: number, max: number) {
  return z.unknown().transform((v, ctx): number => {
    if (v === undefined) return missing(ctx, v);
    let n: number;
    if (typeof v === 'number') n = v;
    else if (v instanceof Interpolated && /^\s*-?\d+(\.\d+)?\s*$/.test(v.text)) n = Number(v.text);
    else return fail(ctx, v, `expected a number, got ${describeValue(v)}`);
    if (!Number.isInteger(n)) return fail(ctx, v, `expected a whole number, got ${describeValue(v)}`);
    if (n < min || n > max) return fail(ctx, v, `expected a number from ${min} to ${max}, got ${n}`);
    return n;
  });
}

/** true/false; the text "true"/"false" only when it came from `${VAR}`. */
function flag() {
  return z.unknown().transform((v, ctx): boolean => {
    if (v === undefined) return missing(ctx, v);
    if (typeof v === 'boolean') return v;
    if (v instanceof Interpolated && /^(true|false)$/i.test(v.text.trim())) return v.text.trim().toLowerCase() === 'true';
    return fail(ctx, v, `expected true or false, got ${describeValue(v)}`);
  });
}

function oneOf<const T extends readonly string[]>(values: T) {
  const said = values.length === 2 ? `${values[0]} or ${values[1]}` : `one of ${values.join(', ')}`;
  return z.unknown().transform((v, ctx): T[number] => {
    if (v === undefined) return missing(ctx, v);
    const s = v instanceof Interpolated ? v.text : v;
    if (typeof s === 'string' && (values as readonly string[]).includes(s)) return s as T[number];
    return fail(ctx, v, `expected ${said}, got ${describeValue(v)}`);
  });
}

/** `db.table` with `*` and `?` globs on either side, e.g. `shop.*`, `shop.order_?`, `*.audit`. */
const TABLE_PATTERN = /^[^.\s]+\.[^.\s]+$/;
/** A concrete `db.table` (the keys of `source.keys`). */
const TABLE_NAME = /^[^.\s*?]+\.[^.\s*?]+$/;
/** MariaDB `domain-server-seq[,…]` or MySQL `uuid:interval[:interval][,…]`. */
const GTID_SET =
  /^(\d+-\d+-\d+(\s*,\s*\d+-\d+-\d+)*|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(:\d+(-\d+)?)+(\s*,\s*[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(:\d+(-\d+)?)+)*)$/;

export const START_EXPECTED = 'expected earliest, latest, {file, position} or {gtid}';

const startWord = oneOf(['earliest', 'latest'] as const);
const startAtPosition = strict({
  file: text({ pattern: /^[^\s/\\]+$/, patternMessage: 'is not a binlog file name (e.g. mysql-bin.000003)' }),
  // 4: the first event of every binlog file starts after the 4-byte magic number.
  position: integer(4, Number.MAX_SAFE_INTEGER),
});
const startAtGtid = strict({
  gtid: text({ pattern: GTID_SET, patternMessage: 'is not a GTID set (MariaDB 0-1-100, or MySQL uuid:1-100)' }),
});

/**
 * One of the four forms, picked by shape so that a value clearly meant as one form gets that form's
 * problems (`source.start.position: …`) and anything else gets the list of forms.
 */
const startSchema = z.unknown().transform((v, ctx) => {
  const form = (() => {
    if (typeof v === 'string' || v instanceof Interpolated) return startWord;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
    const keys = Object.keys(v);
    const positional = keys.includes('file') || keys.includes('position');
    if (positional && !keys.includes('gtid')) return startAtPosition;
    if (keys.includes('gtid') && !positional) return startAtGtid;
    return undefined;
  })();
  const words = typeof v === 'string' || v instanceof Interpolated;
  const r = form?.safeParse(v, { reportInput: true });
  if (r?.success) return r.data;
  if (!r || words) return fail(ctx, v, START_EXPECTED);
  for (const issue of r.error.issues) ctx.issues.push({ ...issue, input: issue.input } as z.core.$ZodRawIssue);
  return z.NEVER;
});

const endpointShape = {
  host: text(),
  port: integer(1, 65535).default(3306),
  user: text(),
  password: text({ allowEmpty: true }).default(''),
};

const sourceSchema = strict({
  ...endpointShape,
  /** Our replica id on the source: must differ from the source's and every other replica's. */
  serverId: integer(1, 4294967295),
  include: list(text({ pattern: TABLE_PATTERN, patternMessage: 'is not a db.table pattern (e.g. "shop.*" or "shop.orders")' }), { min: 1 }),
  exclude: list(text({ pattern: TABLE_PATTERN, patternMessage: 'is not a db.table pattern (e.g. "shop.*" or "shop.orders")' })).default([]),
  /**
   * Where to begin when there is no checkpoint. Absent: with a snapshot (the default then), at the
   * source's head when the copy begins; without one, `earliest`. See `startSetting`.
   */
  start: startSchema.optional(),
  /**
   * initial: copy the included tables while streaming, when there is no checkpoint yet. never: only
   * stream from the start position. when_needed: as initial, and also copy again when the checkpoint's
   * binlog has been purged from the source. Default: initial when `start` is absent, else never
   * (an explicit start says where the target's data comes from). See `snapshotMode`.
   */
  snapshot: oneOf(['initial', 'never', 'when_needed'] as const).optional(),
  /** Key columns for tables without a PRIMARY KEY: { "db.table": [col, …] }. */
  keys: z
    .record(
      z.string().regex(TABLE_NAME, { error: (iss) => `${describeValue(iss.input)} is not a db.table name (globs are not allowed here)` }),
      list(text(), { min: 1 }),
      { error: (iss) => (iss.code === 'invalid_type' ? `expected a mapping, got ${describeValue(iss.input)}` : undefined) },
    )
    .default({}),
  /** Run without binlog_row_metadata=FULL (MySQL < 8.0.1, MariaDB < 10.5): events written before an ALTER TABLE may be decoded into the wrong columns. */
  allowNoRowMetadata: flag().default(false),
  /** No event (not even a heartbeat) for this long means the connection is dead: reconnect. */
  silentAfterMs: integer(1000, 3_600_000).default(30_000),
  /**
   * A statement-format data change on a synced table (a session ran with binlog_format STATEMENT or
   * MIXED): stop before it (default), or apply it on the target once, as a native replica would.
   */
  statementEvents: oneOf(['stop', 'apply'] as const).default('stop'),
});

const targetSchema = strict({
  ...endpointShape,
  poolSize: integer(1, 256).default(8),
  /** Start although synced target tables have triggers: the effects of those triggers then arrive twice. */
  allowTriggers: flag().default(false),
  /** Start although the target lacks some of the source's foreign keys among synced tables: their cascades then do not happen on the target. */
  allowMissingForeignKeys: flag().default(false),
  /** Create missing target tables (and databases) from the source's SHOW CREATE TABLE at start. */
  createTables: flag().default(true),
});

const snapshotSchema = strict({
  /** Rows per chunk: one SELECT by key range on the source, handed on as one piece of the stream. */
  chunkSize: integer(1, 1_000_000).default(5000),
  /** Chunks in flight at once, across tables (one per table at a time). */
  parallelism: integer(1, 64).default(2),
});

const saslSchema = strict({
  mechanism: oneOf(['plain', 'scram-sha-256', 'scram-sha-512'] as const),
  username: text(),
  password: text({ allowEmpty: true }),
});

/** kafkajs `ssl`: true (the system's CAs), or files to read (PEM) and whether to verify the broker. */
const sslSchema = z.union([
  flag(),
  strict({
    ca: text().optional(),
    cert: text().optional(),
    key: text().optional(),
    rejectUnauthorized: flag().default(true),
  }),
]);

/** Keys that only mean something with kind: kafka. */
export const KAFKA_ONLY_KEYS = ['brokers', 'topic', 'replicationFactor', 'ssl', 'sasl', 'clientId', 'groupId', 'publishBatchBytes', 'publishLingerMs'] as const;

const transportSchema = strict({
  kind: oneOf(['embedded', 'kafka'] as const).default('embedded'),
  /** Partitions of the embedded queues, or of the Kafka topic: keys are placed by hash(table, key) mod partitions. */
  partitions: integer(1, 256).default(8),
  /** Events per partition queue: a full queue pauses the source (backpressure). */
  queueCapacity: integer(1, 1_000_000).default(2000),
  /** Row data (as sized in the binlog) each partition queue may hold: large rows fill it before the count does. */
  queueBytes: integer(65_536, 2 ** 31).default(8 * 1024 * 1024),
  brokers: list(text({ pattern: /^[^\s:]+:\d{1,5}$/, patternMessage: 'is not host:port' }), { min: 1 }).optional(),
  topic: text({ pattern: /^[A-Za-z0-9._-]{1,200}$/, patternMessage: 'is not a Kafka topic name ([A-Za-z0-9._-], up to 200)' }).optional(),
  /** Replicas of each partition when the topic is created (default: the brokers' default.replication.factor). */
  replicationFactor: integer(1, 16).optional(),
  ssl: sslSchema.optional(),
  sasl: saslSchema.optional(),
  clientId: text().optional(),
  /** The sink workers' consumer group (default binlog-sync.NAME). */
  groupId: text().optional(),
  /** A Kafka transaction is committed once it holds this many bytes, at a source transaction boundary (default 4 MiB). */
  publishBatchBytes: integer(1024, 256 * 1024 * 1024).optional(),
  /** …or once its first change has waited this long (default 50 ms). */
  publishLingerMs: integer(0, 60_000).optional(),
}).superRefine((t, ctx) => {
  if (t.kind === 'kafka') {
    if (t.brokers === undefined) ctx.addIssue({ code: 'custom', path: ['brokers'], message: 'missing (required with kind: kafka), e.g. brokers: ["kafka-1:9092"]' });
    if (t.topic === undefined) ctx.addIssue({ code: 'custom', path: ['topic'], message: 'missing (required with kind: kafka), e.g. topic: shop-sync.changes' });
    return;
  }
  for (const key of KAFKA_ONLY_KEYS) {
    if ((t as Record<string, unknown>)[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'only used with kind: kafka (remove it, or set kind: kafka)' });
  }
});

const sinkSchema = strict({
  lanes: integer(1, 256).default(16),
  batchSize: integer(1, 100_000).default(500),
  /**
   * A table whose changes the target refuses (a value too long for its column, a missing column):
   * stop the pipeline (default), or park the table in quarantine and keep syncing the others.
   */
  onApplyError: oneOf(['stop', 'quarantine'] as const).default('stop'),
});

const checkpointSchema = strict({
  intervalMs: integer(50, 3_600_000).default(1000),
});

/** The Prometheus endpoint (`/metrics`, `/healthz`, `/readyz`); off unless `port` is set. */
const metricsSchema = strict({
  port: integer(1, 65535).optional(),
  /** Loopback by default: metrics name tables and positions, so exposing them is a decision. */
  host: text().default('127.0.0.1'),
});

const columnGlob = text({ pattern: /^[^\s]+$/, patternMessage: 'is not a column name or glob (e.g. "email" or "internal_*")' });

/** `keyless`: what to do with a table without a PRIMARY KEY (and without `source.keys`). */
const keylessSchema = oneOf(['refuse', 'full-row'] as const);

/** `tables."db.glob"`: transforms of the tables that match (see src/core/row-transforms.ts). */
const tableSettingsSchema = strict({
  columns: strict({ include: list(columnGlob, { min: 1 }).optional(), exclude: list(columnGlob).optional() }).optional(),
  /** Column (glob) → `hash` (SHA-256 hex of the value) or `null`. */
  mask: z
    .record(
      z.string(),
      z.unknown().transform((v, ctx): 'hash' | 'null' => {
        if (v === null || v === 'null') return 'null';
        if (v === 'hash' || (v instanceof Interpolated && v.text === 'hash')) return 'hash';
        return fail(ctx, v, `expected hash or null, got ${describeValue(v)}`);
      }),
      { error: (iss) => (iss.code === 'invalid_type' ? `expected a mapping of column → hash | null, got ${describeValue(iss.input)}` : undefined) },
    )
    .optional(),
  /** A row filter (see src/core/row-filter.ts), e.g. `status <> 'deleted' AND country IN ('DE', 'FR')`. */
  filter: text().superRefine((f, ctx) => {
    try {
      parseFilter(f);
    } catch (err) {
      if (!(err instanceof RowFilterError)) throw err;
      ctx.addIssue({ code: 'custom', message: err.message, input: f });
    }
  }).optional(),
  keyless: keylessSchema.optional(),
});

const routeSchema = strict({
  from: text({ pattern: TABLE_PATTERN, patternMessage: 'is not a db.table pattern (e.g. "shop_*.orders")' }),
  to: text({ pattern: TABLE_PATTERN, patternMessage: 'is not a db.table name (e.g. "all_shops.orders", or "dst.*" to keep the matched part)' }),
}).superRefine((r, ctx) => {
  try {
    new TableRoutes([r]);
  } catch (err) {
    if (!(err instanceof RouteError)) throw err;
    ctx.addIssue({ code: 'custom', path: ['to'], message: err.message.replace(/^routes\[0\]\.to: /, ''), input: r.to });
  }
});

export const pipelineSchema = strict({
  /** The pipeline id: names its checkpoint row and its lock. */
  name: text({ pattern: /^[A-Za-z0-9_.-]{1,64}$/, patternMessage: 'is not a pipeline name (1–64 of A-Z a-z 0-9 _ . -)' }),
  source: sourceSchema,
  target: targetSchema,
  // prefault: an omitted section is parsed as {} so that its keys get their defaults.
  transport: transportSchema.prefault({}),
  sink: sinkSchema.prefault({}),
  checkpoint: checkpointSchema.prefault({}),
  snapshot: snapshotSchema.prefault({}),
  /**
   * DDL on synced tables (ALTER/CREATE/DROP/RENAME/TRUNCATE TABLE, CREATE/DROP DATABASE): apply it on
   * the target as a barrier, stop before it, or ignore it (log only). Default: see `schemaChangesPolicy`.
   */
  schemaChanges: oneOf(['apply', 'stop', 'ignore'] as const).optional(),
  metrics: metricsSchema.prefault({}),
  /** Source `db.table` globs → target tables (rename a database, merge shards). The first match wins. */
  routes: list(routeSchema).default([]),
  /** Per source table (`db.table` globs, the first matching entry applies): columns, mask, filter, keyless. */
  tables: z
    .record(z.string().regex(TABLE_PATTERN, { error: (iss) => `${describeValue(iss.input)} is not a db.table pattern (e.g. "shop.*")` }), tableSettingsSchema, {
      error: (iss) => (iss.code === 'invalid_type' ? `expected a mapping of "db.table" → settings, got ${describeValue(iss.input)}` : undefined),
    })
    .default({}),
  /** Tables without a PRIMARY KEY or source.keys: refuse (default; preflight names them) or full-row. */
  keyless: keylessSchema.default('refuse'),
}).superRefine((c, ctx) => {
  if (c.transport.kind === 'kafka') {
    // The Kafka publisher and sink workers do not route or transform yet.
    if (c.routes.length > 0) ctx.addIssue({ code: 'custom', path: ['routes'], message: 'not available with transport.kind: kafka in this version: use the embedded transport' });
    if (Object.keys(c.tables).length > 0) ctx.addIssue({ code: 'custom', path: ['tables'], message: 'not available with transport.kind: kafka in this version: use the embedded transport' });
    if (c.keyless === 'full-row') ctx.addIssue({ code: 'custom', path: ['keyless'], message: 'full-row is not available with transport.kind: kafka in this version: use the embedded transport' });
  }
  if (c.transport.kind === 'kafka' && (c.source.snapshot === 'initial' || c.source.snapshot === 'when_needed')) {
    ctx.addIssue({
      code: 'custom',
      path: ['source', 'snapshot'],
      message: `${c.source.snapshot} is not available with transport.kind: kafka in this version (the snapshot runs in the embedded pipeline): copy the tables with the embedded transport first, then switch, or use never`,
    });
  }
  if (c.transport.kind === 'kafka' && c.metrics.port !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['metrics', 'port'],
      message: 'the metrics endpoint is served by `binlog-sync run` with transport.kind: embedded in this version; remove metrics.port for Kafka mode',
    });
  }
  if (c.transport.kind === 'kafka' && c.sink.onApplyError === 'quarantine') {
    ctx.addIssue({
      code: 'custom',
      path: ['sink', 'onApplyError'],
      message: 'quarantine is not available with transport.kind: kafka in this version (parked tables are kept by the embedded pipeline): use stop',
    });
  }
  if (c.transport.kind === 'kafka' && c.source.statementEvents === 'apply') {
    ctx.addIssue({
      code: 'custom',
      path: ['source', 'statementEvents'],
      message: 'apply is not available with transport.kind: kafka (a statement-format change is a barrier across all partitions, which separate sink workers cannot share): use stop',
    });
  }
  if (c.transport.kind === 'kafka' && c.schemaChanges === 'apply') {
    ctx.addIssue({
      code: 'custom',
      path: ['schemaChanges'],
      message: 'apply is not available with transport.kind: kafka (a DDL is a barrier across all partitions, which separate sink workers cannot share): use stop (halt before it; apply it on the target by hand, then continue past it) or ignore',
    });
  }
});

type DeepReadonly<T> = T extends (infer E)[]
  ? readonly DeepReadonly<E>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** A validated pipeline file with defaults filled in. Deep-frozen at run time, deep-readonly in types. */
export type PipelineConfig = DeepReadonly<z.output<typeof pipelineSchema>>;
export type SourceConfig = PipelineConfig['source'];
export type TargetConfig = PipelineConfig['target'];
export type StartConfig = NonNullable<SourceConfig['start']>;
export type SnapshotMode = NonNullable<SourceConfig['snapshot']>;

/** The snapshot setting in force: as written, or initial when `start` is absent (embedded only), else never. */
export function snapshotMode(c: Pick<PipelineConfig, 'source' | 'transport'>): SnapshotMode {
  if (c.source.snapshot) return c.source.snapshot;
  return c.source.start === undefined && c.transport.kind === 'embedded' ? 'initial' : 'never';
}

export type SchemaChangesPolicy = NonNullable<PipelineConfig['schemaChanges']>;

/**
 * The DDL policy in force: as written, or apply (embedded) / ignore (kafka, where apply is not
 * available; stop would halt a publisher started at `earliest` on the first CREATE TABLE it reads).
 */
export function schemaChangesPolicy(c: Pick<PipelineConfig, 'schemaChanges' | 'transport'>): SchemaChangesPolicy {
  return c.schemaChanges ?? (c.transport.kind === 'kafka' ? 'ignore' : 'apply');
}

/** Where a run without a checkpoint (and without a snapshot) begins: as written, or earliest. */
export function startSetting(source: Pick<SourceConfig, 'start'>): StartConfig {
  return source.start ?? 'earliest';
}
