import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BinlogSyncError, ConfigError } from '../../../src/core/errors.js';
import { configProblems as problemsOf, pipelineFile as file } from '../../support/pipeline-file.js';
import { formatPath, interpolate, loadPipelineConfig, parsePipelineConfig, snapshotMode, startSetting, suggestKey, type PipelineConfig } from '../../../src/config/load.js';

const configDir = fileURLToPath(new URL('../../../config/', import.meta.url));


describe('config files shipped in config/', () => {
  it('example.yaml loads with its defaults and environment overrides', async () => {
    const c = await loadPipelineConfig(join(configDir, 'example.yaml'), {
      SOURCE_PASSWORD: 's3cret',
      SOURCE_PORT: '3310',
      TARGET_HOST: 'db.internal',
    });
    expect(c.name).toBe('orders-sync');
    expect(c.source).toMatchObject({ host: '127.0.0.1', port: 3310, password: 's3cret', serverId: 5401, start: 'earliest' });
    expect(c.source.include).toEqual(['shop.*']);
    expect(c.target).toMatchObject({ host: 'db.internal', port: 3307, password: '' });
    expect(c.transport).toEqual({ kind: 'embedded', partitions: 8, queueCapacity: 2000, queueBytes: 8388608 });
  });

  it('minimal.yaml gets every default', async () => {
    const c = await loadPipelineConfig(join(configDir, 'minimal.yaml'), { SOURCE_PASSWORD: 'a', TARGET_PASSWORD: 'b' });
    expect(c).toEqual({
      name: 'minimal',
      source: {
        host: '127.0.0.1',
        port: 3306,
        user: 'sync',
        password: 'a',
        serverId: 5402,
        include: ['app.*'],
        exclude: [],
        keys: {},
        allowNoRowMetadata: false,
        silentAfterMs: 30000,
        statementEvents: 'stop',
      },
      target: { host: '127.0.0.1', port: 3307, user: 'sync', password: 'b', poolSize: 8, allowTriggers: false, allowMissingForeignKeys: false, createTables: true },
      transport: { kind: 'embedded', partitions: 8, queueCapacity: 2000, queueBytes: 8388608 },
      sink: { lanes: 16, batchSize: 500, onApplyError: 'stop' },
      checkpoint: { intervalMs: 1000 },
      snapshot: { chunkSize: 5000, parallelism: 2 },
      metrics: { host: '127.0.0.1' },
      routes: [],
      tables: {},
      keyless: 'refuse',
    });
    // No start: the tables are copied first, then streamed from where the copy began.
    expect(snapshotMode(c)).toBe('initial');
    expect(startSetting(c.source)).toBe('earliest');
  });

  it('snapshot defaults: initial without a start, never with one or with kafka; kafka refuses initial', () => {
    const at = (source: string, rest = ''): PipelineConfig => parsePipelineConfig(file({ source: `include: ["shop.*"]\n${source}`, rest }), 'test.yaml', {});
    expect(snapshotMode(at('start: latest'))).toBe('never');
    expect(snapshotMode(at('start: { file: mysql-bin.000002, position: 4 }'))).toBe('never');
    expect(snapshotMode(at('start: latest\nsnapshot: when_needed'))).toBe('when_needed');
    expect(snapshotMode(at(''))).toBe('initial');
    const kafka = 'transport: { kind: kafka, brokers: ["k:9092"], topic: t.changes }';
    expect(snapshotMode(at('', kafka))).toBe('never');
    expect(problemsOf(file({ source: 'include: ["shop.*"]\nsnapshot: initial', rest: kafka }))).toEqual([
      'source.snapshot: initial is not available with transport.kind: kafka in this version (the snapshot runs in the embedded pipeline): copy the tables with the embedded transport first, then switch, or use never',
    ]);
    expect(problemsOf(file({ source: 'include: ["shop.*"]\nsnapshot: sometimes' }))).toEqual(['source.snapshot: expected one of initial, never, when_needed, got "sometimes"']);
  });

  it('minimal.yaml without its variables names each variable and where it is used', async () => {
    const err = await loadPipelineConfig(join(configDir, 'minimal.yaml'), {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([
      'source.password: environment variable SOURCE_PASSWORD is not set (used as ${SOURCE_PASSWORD}; set it, or give a default: ${SOURCE_PASSWORD:-value})',
      'target.password: environment variable TARGET_PASSWORD is not set (used as ${TARGET_PASSWORD}; set it, or give a default: ${TARGET_PASSWORD:-value})',
    ]);
    expect((err as ConfigError).message).toContain('config/minimal.yaml: invalid pipeline file');
  });

  it('the loaded config is deep-frozen', async () => {
    const c = await loadPipelineConfig(join(configDir, 'example.yaml'), {});
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.source)).toBe(true);
    expect(Object.isFrozen(c.source.include)).toBe(true);
    expect(Object.isFrozen(c.sink)).toBe(true);
    expect(() => {
      (c.source as { port: number }).port = 1;
    }).toThrow(TypeError);
  });
});

describe('files on disk', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'binlog-sync-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a missing file is CONFIG_NOT_FOUND with its path', async () => {
    const path = join(dir, 'nope.yaml');
    const err = await loadPipelineConfig(path, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BinlogSyncError);
    expect(err).not.toBeInstanceOf(ConfigError);
    expect((err as BinlogSyncError).code).toBe('CONFIG_NOT_FOUND');
    expect((err as BinlogSyncError).message).toBe(`pipeline file not found: ${path} (start from config/example.yaml)`);
    expect((err as BinlogSyncError).details).toEqual({ file: path });
  });

  it('a YAML syntax error names file:line:col', async () => {
    const path = join(dir, 'broken.yaml');
    await writeFile(path, 'name: x\nsource:\n  host: h\n port: 1\n');
    const err = await loadPipelineConfig(path, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([`${path}:4:1: YAML syntax error: All mapping items must start at the same column`]);
  });

  it('an empty file says what is expected', async () => {
    const path = join(dir, 'empty.yaml');
    await writeFile(path, '# nothing\n');
    const err = await loadPipelineConfig(path, {}).catch((e: unknown) => e);
    expect((err as ConfigError).problems).toEqual([
      '(top level): the file is empty: expected a mapping with name, source and target (see config/example.yaml)',
    ]);
  });
});

describe('YAML problems', () => {
  it('duplicate keys and unclosed quotes give line and column', () => {
    expect(problemsOf('name: a\nname: b\n')).toEqual(['p.yaml:2:1: YAML syntax error: Map keys must be unique']);
    expect(problemsOf('name: "a\n')[0]).toMatch(/^p\.yaml:\d+:\d+: YAML syntax error: Missing closing "quote/);
  });

  it('a top level that is not a mapping', () => {
    expect(problemsOf('- a\n- b\n')).toEqual(['(top level): expected a mapping, got a list']);
  });
});

describe('validation messages (exact text)', () => {
  it('a number that is not one', () => {
    expect(problemsOf(file({ source: 'port: abc\ninclude: ["shop.*"]' }))).toEqual(['source.port: expected a number, got "abc"']);
  });

  it('a quoted number typed in the file is not a number', () => {
    expect(problemsOf(file({ rest: 'sink:\n  batchSize: "500"' }))).toEqual(['sink.batchSize: expected a number, got "500"']);
  });

  it('ranges and whole numbers', () => {
    expect(
      problemsOf(
        file({
          source: 'include: ["shop.*"]\nserverIdX: 1\nsilentAfterMs: 1.5',
          rest: 'transport:\n  partitions: 0\nsink:\n  lanes: 257\n  batchSize: 100001\ncheckpoint:\n  intervalMs: 49',
        }),
      ),
    ).toEqual([
      'source.silentAfterMs: expected a whole number, got 1.5',
      'source.serverIdX: unknown key (did you mean "serverId"?)',
      'transport.partitions: expected a number from 1 to 256, got 0',
      'sink.lanes: expected a number from 1 to 256, got 257',
      'sink.batchSize: expected a number from 1 to 100000, got 100001',
      'checkpoint.intervalMs: expected a number from 50 to 3600000, got 49',
    ]);
  });

  it('serverId bounds', () => {
    expect(problemsOf(file().replace('serverId: 5401', 'serverId: 0'))).toEqual(['source.serverId: expected a number from 1 to 4294967295, got 0']);
    expect(problemsOf(file().replace('serverId: 5401', 'serverId: 4294967296'))).toEqual([
      'source.serverId: expected a number from 1 to 4294967295, got 4294967296',
    ]);
    expect(parsePipelineConfig(file().replace('serverId: 5401', 'serverId: 4294967295'), 'p.yaml', {}).source.serverId).toBe(4294967295);
  });

  it('unknown keys, with a suggestion when one is close', () => {
    expect(problemsOf(file({ rest: 'sink:\n  lanez: 3' }))).toEqual(['sink.lanez: unknown key (did you mean "lanes"?)']);
    expect(problemsOf(file({ target: 'poolsize: 3' }))).toEqual(['target.poolsize: unknown key (did you mean "poolSize"?)']);
    expect(problemsOf(file({ rest: 'colour: blue' }))).toEqual([
      'colour: unknown key (expected one of: name, source, target, transport, sink, checkpoint, snapshot, schemaChanges, metrics, routes, tables, keyless)',
    ]);
  });

  it('metrics: off without a port, a port in range, refused with kafka', () => {
    expect(parsePipelineConfig(file(), 'p.yaml', {}).metrics).toEqual({ host: '127.0.0.1' });
    expect(parsePipelineConfig(file({ rest: 'metrics:\n  port: 9464\n  host: 0.0.0.0' }), 'p.yaml', {}).metrics).toEqual({ port: 9464, host: '0.0.0.0' });
    expect(problemsOf(file({ rest: 'metrics:\n  port: 70000' }))).toEqual(['metrics.port: expected a number from 1 to 65535, got 70000']);
    const kafka = 'transport:\n  kind: kafka\n  brokers: ["k:9092"]\n  topic: t\nmetrics:\n  port: 9464';
    expect(problemsOf(file({ source: 'include: ["shop.*"]\nstart: latest', rest: kafka }))).toEqual([
      'metrics.port: the metrics endpoint is served by `binlog-sync run` with transport.kind: embedded in this version; remove metrics.port for Kafka mode',
    ]);
  });

  it('missing required keys', () => {
    expect(problemsOf('name: x\nsource:\n  host: h\ntarget:\n  host: h\n  user: u\n')).toEqual([
      'source.user: missing (required)',
      'source.serverId: missing (required)',
      'source.include: missing (required)',
    ]);
    expect(problemsOf('name: x\n')).toEqual(['source: missing (required)', 'target: missing (required)']);
  });

  it('name and table patterns', () => {
    expect(problemsOf(file({ name: '"orders sync"', source: 'include: ["shop", "a.b.c", "shop.*"]\nexclude: ["*"]' }))).toEqual([
      'name: "orders sync" is not a pipeline name (1–64 of A-Z a-z 0-9 _ . -)',
      'source.include[0]: "shop" is not a db.table pattern (e.g. "shop.*" or "shop.orders")',
      'source.include[1]: "a.b.c" is not a db.table pattern (e.g. "shop.*" or "shop.orders")',
      'source.exclude[0]: "*" is not a db.table pattern (e.g. "shop.*" or "shop.orders")',
    ]);
    expect(problemsOf(file({ source: 'include: []' }))).toEqual(['source.include: expected at least 1 entry, got none']);
    expect(problemsOf(file({ source: 'include: "shop.*"' }))).toEqual(['source.include: expected a list, got "shop.*"']);
    expect(problemsOf(file({ name: 'a'.repeat(65) }))[0]).toMatch(/^name: "a{65}" is not a pipeline name/);
  });

  it('start: each accepted form', () => {
    const start = (s: string) => parsePipelineConfig(file({ source: `include: ["shop.*"]\nstart: ${s}` }), 'p.yaml', {}).source.start;
    expect(start('earliest')).toBe('earliest');
    expect(start('latest')).toBe('latest');
    expect(start('{ file: mysql-bin.000003, position: 4 }')).toEqual({ file: 'mysql-bin.000003', position: 4 });
    expect(start('{ gtid: "0-1-100" }')).toEqual({ gtid: '0-1-100' });
    expect(start('{ gtid: "0-1-100,1-2-3" }')).toEqual({ gtid: '0-1-100,1-2-3' });
    expect(start('{ gtid: "3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5" }')).toEqual({ gtid: '3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5' });
  });

  it('start: anything else', () => {
    const problems = (s: string) => problemsOf(file({ source: `include: ["shop.*"]\nstart: ${s}` }));
    const expected = ['source.start: expected earliest, latest, {file, position} or {gtid}'];
    expect(problems('now')).toEqual(expected);
    expect(problems('42')).toEqual(expected);
    expect(problems('{ offset: 4 }')).toEqual(expected);
    expect(problems('{ file: a, gtid: "0-1-1" }')).toEqual(expected);
    // Shaped like one form: that form's own problem.
    expect(problems('{ file: mysql-bin.000001, position: abc }')).toEqual(['source.start.position: expected a number, got "abc"']);
    expect(problems('{ file: mysql-bin.000001, position: 3 }')).toEqual([
      'source.start.position: expected a number from 4 to 9007199254740991, got 3',
    ]);
    expect(problems('{ file: mysql-bin.000001 }')).toEqual(['source.start.position: missing (required)']);
    expect(problems('{ file: mysql-bin.000001, position: 4, pos: 5 }')).toEqual(['source.start.pos: unknown key (did you mean "position"?)']);
    expect(problems('{ gtid: "zero" }')).toEqual(['source.start.gtid: "zero" is not a GTID set (MariaDB 0-1-100, or MySQL uuid:1-100)']);
  });

  it('keys: concrete db.table names to lists of column names', () => {
    const c = parsePipelineConfig(file({ source: 'include: ["shop.*"]\nkeys:\n  shop.log: [id, seq]' }), 'p.yaml', {});
    expect(c.source.keys).toEqual({ 'shop.log': ['id', 'seq'] });
    expect(problemsOf(file({ source: 'include: ["shop.*"]\nkeys:\n  "shop.*": [id]\n  shop.a: []\n  shop.b: [1]' }))).toEqual([
      'source.keys["shop.*"]: "shop.*" is not a db.table name (globs are not allowed here)',
      'source.keys["shop.a"]: expected at least 1 entry, got none',
      'source.keys["shop.b"][0]: expected a string, got 1',
    ]);
    expect(problemsOf(file({ source: 'include: ["shop.*"]\nkeys: [id]' }))).toEqual(['source.keys: expected a mapping, got a list']);
  });

  it('booleans and strings are not coerced from the wrong type', () => {
    expect(problemsOf(file({ source: 'include: ["shop.*"]\nallowNoRowMetadata: "yes"', target: 'password: 123' }))).toEqual([
      'source.allowNoRowMetadata: expected true or false, got "yes"',
      'target.password: expected a string, got 123',
    ]);
  });

  it('transport: kafka needs brokers and a topic, its keys are validated, and they are refused with embedded', () => {
    const ok = parsePipelineConfig(file({ rest: 'transport:\n  kind: kafka\n  brokers: ["k1:9092", "k2:9092"]\n  topic: cdc.changes\n  partitions: 12\n  replicationFactor: 3' }), 'p.yaml', {});
    expect(ok.transport).toMatchObject({ kind: 'kafka', brokers: ['k1:9092', 'k2:9092'], topic: 'cdc.changes', partitions: 12, replicationFactor: 3 });
    expect(problemsOf(file({ rest: 'transport:\n  kind: kafka' }))).toEqual([
      'transport.brokers: missing (required with kind: kafka), e.g. brokers: ["kafka-1:9092"]',
      'transport.topic: missing (required with kind: kafka), e.g. topic: shop-sync.changes',
    ]);
    expect(problemsOf(file({ rest: 'transport:\n  kind: kafka\n  brokers: [k1]\n  topic: "a b"' }))).toEqual([
      'transport.brokers[0]: "k1" is not host:port',
      'transport.topic: "a b" is not a Kafka topic name ([A-Za-z0-9._-], up to 200)',
    ]);
    expect(problemsOf(file({ rest: 'transport:\n  brokers: ["k1:9092"]\n  topic: cdc' }))).toEqual([
      'transport.brokers: only used with kind: kafka (remove it, or set kind: kafka)',
      'transport.topic: only used with kind: kafka (remove it, or set kind: kafka)',
    ]);
    expect(problemsOf(file({ rest: 'transport:\n  kind: kafka\n  brokers: ["k1:9092"]\n  topic: cdc\n  sasl: { mechanism: gssapi, username: u, password: p }' }))).toEqual([
      'transport.sasl.mechanism: expected one of plain, scram-sha-256, scram-sha-512, got "gssapi"',
    ]);
    expect(problemsOf(file({ rest: 'transport:\n  kind: rabbit' }))).toEqual(['transport.kind: expected embedded or kafka, got "rabbit"']);
  });

  it('source.statementEvents: apply is refused with the kafka transport', () => {
    expect(problemsOf(file({ source: 'include: ["shop.*"]\nstatementEvents: apply', rest: 'transport:\n  kind: kafka\n  brokers: ["k1:9092"]\n  topic: cdc' }))).toEqual([
      'source.statementEvents: apply is not available with transport.kind: kafka (a statement-format change is a barrier across all partitions, which separate sink workers cannot share): use stop',
    ]);
  });

  it('sink.onApplyError: quarantine is refused with the kafka transport, and an unknown value is named', () => {
    expect(problemsOf(file({ rest: 'transport:\n  kind: kafka\n  brokers: ["k1:9092"]\n  topic: cdc\nsink:\n  onApplyError: quarantine' }))).toEqual([
      'sink.onApplyError: quarantine is not available with transport.kind: kafka in this version (parked tables are kept by the embedded pipeline): use stop',
    ]);
    expect(problemsOf(file({ rest: 'sink:\n  onApplyError: skip' }))).toEqual(['sink.onApplyError: expected stop or quarantine, got "skip"']);
  });

  it('reports every problem of a file at once, in one ConfigError', () => {
    const text = [
      'name: ok',
      'source:',
      '  host: h',
      '  port: abc',
      '  user: u',
      '  password: ${SOURCE_PASSWORD}',
      '  serverId: 1',
      '  include: ["shop.*"]',
      '  start: soon',
      'target:',
      '  host: h',
      '  user: u',
      'sink:',
      '  lanez: 3',
    ].join('\n');
    let caught: unknown;
    try {
      parsePipelineConfig(text, 'pipe.yaml', {});
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const e = caught as ConfigError;
    expect(e.problems).toEqual([
      'source.password: environment variable SOURCE_PASSWORD is not set (used as ${SOURCE_PASSWORD}; set it, or give a default: ${SOURCE_PASSWORD:-value})',
      'source.port: expected a number, got "abc"',
      'source.start: expected earliest, latest, {file, position} or {gtid}',
      'sink.lanez: unknown key (did you mean "lanes"?)',
    ]);
    expect(e.message).toBe(`pipe.yaml: invalid pipeline file\n${e.problems.map((p) => `  - ${p}`).join('\n')}`);
  });
});

describe('${VAR} interpolation', () => {
  it('numbers and booleans may come from variables, with defaults', () => {
    const text = file({
      source: 'port: ${SOURCE_PORT:-3306}\ninclude: ["${DB:-shop}.*"]\nallowNoRowMetadata: ${ALLOW:-false}',
      target: 'port: ${TARGET_PORT}',
    });
    const c = parsePipelineConfig(text, 'p.yaml', { TARGET_PORT: '3307', ALLOW: 'true' });
    expect(c.source.port).toBe(3306);
    expect(c.source.include).toEqual(['shop.*']);
    expect(c.source.allowNoRowMetadata).toBe(true);
    expect(c.target.port).toBe(3307);
    expect(parsePipelineConfig(text, 'p.yaml', { TARGET_PORT: '1', SOURCE_PORT: '3310', DB: 'app' }).source).toMatchObject({
      port: 3310,
      include: ['app.*'],
    });
  });

  it('a variable that is not a number still reports the value', () => {
    expect(problemsOf(file({ source: 'port: ${SOURCE_PORT:-3306}\ninclude: ["shop.*"]' }), { SOURCE_PORT: 'abc' })).toEqual([
      'source.port: expected a number, got "abc"',
    ]);
  });

  it('an unset variable without default names the variable and the path, once', () => {
    expect(problemsOf(file({ target: 'port: ${TARGET_PORT}' }))).toEqual([
      'target.port: environment variable TARGET_PORT is not set (used as ${TARGET_PORT}; set it, or give a default: ${TARGET_PORT:-value})',
    ]);
    expect(problemsOf(file({ source: 'include: ["${DB}.*"]' }))).toEqual([
      'source.include[0]: environment variable DB is not set (used as ${DB}; set it, or give a default: ${DB:-value})',
    ]);
  });

  it('$$ is a literal $, and a literal ${ needs it', () => {
    const c = parsePipelineConfig(file({ target: 'password: "p$$w$${X}d${SUFFIX:-}"' }), 'p.yaml', { X: 'nope' });
    expect(c.target.password).toBe('p$w${X}d');
    expect(problemsOf(file({ target: 'password: "a${oops"' }))).toEqual([
      'target.password: unterminated "${" in "a${oops" (write $$ for a literal $)',
    ]);
    expect(problemsOf(file({ target: 'password: "${1X}"' }))).toEqual([
      'target.password: "${1X}" is not a variable reference: expected ${NAME} or ${NAME:-default} (write $$ for a literal $)',
    ]);
  });

  it('interpolate(): shell semantics for :- and empty values', () => {
    const problems: string[] = [];
    const run = (s: string, env: Record<string, string>) => interpolate(s, env, (m) => problems.push(m));
    expect(run('${A:-x}', { A: '' })).toEqual({ text: 'x', interpolated: true });
    expect(run('${A}', { A: '' })).toEqual({ text: '', interpolated: true });
    expect(run('${A:-a:-b}', {})).toEqual({ text: 'a:-b', interpolated: true });
    expect(run('cost $5', {})).toEqual({ text: 'cost $5', interpolated: false });
    expect(run('$$', {})).toEqual({ text: '$', interpolated: false });
    expect(problems).toEqual([]);
  });

  it('keys are not interpolated; values in keys are', () => {
    const c = parsePipelineConfig(file({ source: 'include: ["shop.*"]\nkeys:\n  shop.log: ["${COL:-id}"]' }), 'p.yaml', {});
    expect(c.source.keys).toEqual({ 'shop.log': ['id'] });
  });
});

describe('helpers', () => {
  it('formatPath', () => {
    expect(formatPath([])).toBe('(top level)');
    expect(formatPath(['source', 'include', 2])).toBe('source.include[2]');
    expect(formatPath(['source', 'keys', 'shop.orders', 0])).toBe('source.keys["shop.orders"][0]');
  });

  it('suggestKey only suggests plausible typos', () => {
    expect(suggestKey('lanez', ['lanes', 'batchSize'])).toBe('lanes');
    expect(suggestKey('batchsize', ['lanes', 'batchSize'])).toBe('batchSize');
    expect(suggestKey('colour', ['lanes', 'batchSize'])).toBeUndefined();
  });
});
