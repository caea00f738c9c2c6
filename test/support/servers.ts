/**
 * Source/target server pairs for integration tests, in one of three modes:
 *   local   throwaway `mariadbd` processes (src/local/mariadb-server.ts); kill/restart/freeze supported
 *   docker  testcontainers on the locally built image local/mariadb:10.11 (scripts/build-local-images.sh mariadb),
 *           host networking; kill/restart (docker kill + start) and freeze (docker pause) supported
 *   env     two servers given by BINLOG_SYNC_TEST_SOURCE_URL / BINLOG_SYNC_TEST_TARGET_URL; no kill
 * Chosen by BINLOG_SYNC_TEST_SERVERS; the default is local. The choice is printed once per process.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import {
  LocalMariaDb,
  LOCAL_PASSWORD,
  LOCAL_USER,
  freePort,
  type ServerEndpoint,
} from '../../src/local/mariadb-server.js';

export type { ServerEndpoint };

const execFileP = promisify(execFile);
type QueryValues = Parameters<mysql.Connection['query']>[1];

export type ServerMode = 'local' | 'docker' | 'env';

export const DOCKER_IMAGE = process.env.BINLOG_SYNC_TEST_IMAGE ?? 'local/mariadb:10.11';

/** Thrown by operations a mode cannot do (e.g. `kill()` in env mode); tests skip on `supports` first. */
export class UnsupportedServerOperationError extends Error {
  override readonly name = 'UnsupportedServerOperationError';
  readonly code = 'TEST_SERVER_UNSUPPORTED';
}

export interface ServerCapabilities {
  /** `kill()`: SIGKILL, as a crash would (data stays; `restart()` brings it back with crash recovery). */
  readonly kill: boolean;
  readonly restart: boolean;
  /** `freeze()`/`thaw()`: the server stops answering but keeps its sockets open. */
  readonly freeze: boolean;
  /** Server start-up arguments (`sourceArgs`, `targetArgs`, `startSingleServer`) can be applied. */
  readonly serverArgs: boolean;
}

export interface TestServer {
  readonly label: string;
  readonly mode: ServerMode;
  readonly supports: ServerCapabilities;
  /** TCP endpoint of a password user with ALL PRIVILEGES (WITH GRANT OPTION). */
  endpoint(): ServerEndpoint;
  /** A new connection as the endpoint user; the caller ends it. */
  connect(options?: mysql.ConnectionOptions): Promise<mysql.Connection>;
  /** Runs one statement (or several; then mysql2's array of results) as the endpoint user. */
  query<T = mysql.RowDataPacket>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /**
   * Runs SQL as the server's root (multiple statements allowed). Local: mysql2 result over the socket;
   * docker: rows of the last statement as string maps (from the `mariadb` client inside the
   * container); env: the endpoint user (who must hold the privileges the SQL needs).
   */
  rootQuery(sql: string): Promise<unknown>;
  kill(): Promise<void>;
  restart(): Promise<void>;
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  stop(): Promise<void>;
}

export interface ServerPair {
  readonly mode: ServerMode;
  readonly source: TestServer;
  readonly target: TestServer;
  /** Stops both (best effort, both are attempted). */
  stop(): Promise<void>;
}

export interface ServerPairOptions {
  /** Overrides BINLOG_SYNC_TEST_SERVERS for this pair. */
  readonly mode?: ServerMode;
  /** Extra mariadbd arguments (local/docker), appended last so they override the defaults. */
  readonly sourceArgs?: readonly string[];
  readonly targetArgs?: readonly string[];
  /** Default false: `innodb_flush_log_at_trx_commit=2`, `sync_binlog=0` make tests faster. */
  readonly durable?: boolean;
  readonly sourceServerId?: number;
}

export interface SingleServerOptions {
  readonly label?: string;
  readonly binlog: boolean;
  readonly serverId?: number;
  readonly extraArgs?: readonly string[];
  readonly durable?: boolean;
  /** local or docker; default: the resolved mode when it is one of those, else local. */
  readonly mode?: 'local' | 'docker';
}

// ---------------------------------------------------------------------------------------------
// Mode selection

let resolvedMode: Promise<ServerMode> | null = null;

async function dockerUsable(): Promise<{ ok: boolean; why: string }> {
  try {
    await execFileP('docker', ['info', '--format', '{{.ServerVersion}}'], { timeout: 2_000 });
  } catch {
    return { ok: false, why: 'no Docker engine answers' };
  }
  try {
    await execFileP('docker', ['image', 'inspect', DOCKER_IMAGE], { timeout: 5_000 });
  } catch {
    return { ok: false, why: `image ${DOCKER_IMAGE} is missing` };
  }
  return { ok: true, why: '' };
}

function isServerMode(s: string): s is ServerMode {
  return s === 'local' || s === 'docker' || s === 'env';
}

async function decideMode(): Promise<ServerMode> {
  const asked = process.env.BINLOG_SYNC_TEST_SERVERS?.trim() || undefined;
  if (asked !== undefined && !isServerMode(asked)) {
    throw new Error(`BINLOG_SYNC_TEST_SERVERS must be local, docker or env, not "${asked}"`);
  }
  // Local stays the default even when an engine answers: docker mode is asked for by name (CI's docker
  // subset, vitest.docker.config.ts), so a machine that happens to run dockerd does not switch suites.
  const mode: ServerMode = asked ?? 'local';
  if (mode === 'docker') {
    const docker = await dockerUsable();
    if (!docker.ok) {
      throw new Error(
        `BINLOG_SYNC_TEST_SERVERS=docker but ${docker.why}: run \`bash scripts/docker-engine.sh start\` and \`bash scripts/build-local-images.sh\``,
      );
    }
  }
  console.log(`[test-servers] mode=${mode} (${describeMode(mode)}; ${asked ? 'from BINLOG_SYNC_TEST_SERVERS' : 'default'})`);
  return mode;
}

function describeMode(mode: ServerMode): string {
  switch (mode) {
    case 'local':
      return 'mariadbd processes';
    case 'docker':
      return `testcontainers, ${DOCKER_IMAGE}, host network`;
    case 'env':
      return 'servers from BINLOG_SYNC_TEST_SOURCE_URL / BINLOG_SYNC_TEST_TARGET_URL';
  }
}

/** The mode used when none is passed: decided (and printed) once per process. */
export function testServerMode(): Promise<ServerMode> {
  resolvedMode ??= decideMode();
  return resolvedMode;
}

// ---------------------------------------------------------------------------------------------
// Public entry points

let nextServerId = 1000 + (process.pid % 1000) * 10;

export async function startServerPair(opts: ServerPairOptions = {}): Promise<ServerPair> {
  const mode = opts.mode ?? (await testServerMode());
  if (mode === 'env') return envPair(opts);
  const sourceId = opts.sourceServerId ?? nextServerId++;
  const targetId = nextServerId++;
  const durable = opts.durable ?? false;
  const start = mode === 'local' ? startLocal : startDocker;
  const [source, target] = await Promise.allSettled([
    start({ label: 'source', binlog: true, serverId: sourceId, extraArgs: opts.sourceArgs ?? [], durable }),
    start({ label: 'target', binlog: false, serverId: targetId, extraArgs: opts.targetArgs ?? [], durable }),
  ]);
  if (source.status === 'rejected' || target.status === 'rejected') {
    await Promise.allSettled([source, target].map((r) => (r.status === 'fulfilled' ? r.value.stop() : undefined)));
    throw source.status === 'rejected' ? source.reason : (target as PromiseRejectedResult).reason;
  }
  return pair(mode, source.value, target.value);
}

/** One server with custom arguments (e.g. binlog off, or another binlog format). */
export async function startSingleServer(opts: SingleServerOptions): Promise<TestServer> {
  let mode = opts.mode;
  if (!mode) {
    const resolved = await testServerMode();
    mode = resolved === 'docker' ? 'docker' : 'local';
  }
  const spec: ServerSpec = {
    label: opts.label ?? 'single',
    binlog: opts.binlog,
    serverId: opts.serverId ?? nextServerId++,
    extraArgs: opts.extraArgs ?? [],
    durable: opts.durable ?? false,
  };
  return mode === 'local' ? startLocal(spec) : startDocker(spec);
}

function pair(mode: ServerMode, source: TestServer, target: TestServer): ServerPair {
  return {
    mode,
    source,
    target,
    async stop() {
      const results = await Promise.allSettled([source.stop(), target.stop()]);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
  };
}

interface ServerSpec {
  readonly label: string;
  readonly binlog: boolean;
  readonly serverId: number;
  readonly extraArgs: readonly string[];
  readonly durable: boolean;
}

// ---------------------------------------------------------------------------------------------
// Shared behaviour: everything over TCP as the endpoint user

abstract class TcpServer implements TestServer {
  abstract readonly label: string;
  abstract readonly mode: ServerMode;
  abstract readonly supports: ServerCapabilities;
  abstract endpoint(): ServerEndpoint;
  abstract rootQuery(sql: string): Promise<unknown>;
  abstract stop(): Promise<void>;

  connect(options: mysql.ConnectionOptions = {}): Promise<mysql.Connection> {
    return mysql.createConnection({ ...this.endpoint(), ...options });
  }

  async query<T = mysql.RowDataPacket>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    const c = await this.connect({ multipleStatements: true });
    try {
      const [rows] = await c.query(sql, params as QueryValues);
      return rows as T[];
    } finally {
      await c.end().catch(() => c.destroy());
    }
  }

  protected unsupported(op: string): never {
    throw new UnsupportedServerOperationError(`${op}() is not supported by test server mode "${this.mode}"`);
  }

  async kill(): Promise<void> {
    this.unsupported('kill');
  }
  async restart(): Promise<void> {
    this.unsupported('restart');
  }
  async freeze(): Promise<void> {
    this.unsupported('freeze');
  }
  async thaw(): Promise<void> {
    this.unsupported('thaw');
  }
}

/** Polls until the endpoint user can connect over TCP (after a restart). */
async function waitForTcp(endpoint: ServerEndpoint, label: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const c = await mysql.createConnection({ ...endpoint, connectTimeout: 2_000 });
      await c.end();
      return;
    } catch (err) {
      if (Date.now() > deadline) {
        throw new Error(`${label} did not accept TCP connections within ${timeoutMs} ms`, { cause: err });
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// local: mariadbd processes

class LocalTestServer extends TcpServer {
  readonly mode = 'local' as const;
  readonly supports: ServerCapabilities = { kill: true, restart: true, freeze: true, serverArgs: true };

  constructor(
    readonly label: string,
    private readonly server: LocalMariaDb,
  ) {
    super();
  }

  endpoint(): ServerEndpoint {
    return this.server.endpoint();
  }
  rootQuery(sql: string): Promise<unknown> {
    return this.server.rootQuery(sql);
  }
  override kill(): Promise<void> {
    return this.server.kill();
  }
  override restart(): Promise<void> {
    return this.server.restart();
  }
  override async freeze(): Promise<void> {
    await this.server.freeze();
  }
  override async thaw(): Promise<void> {
    this.server.thaw();
  }
  stop(): Promise<void> {
    return this.server.stop();
  }
}

async function startLocal(spec: ServerSpec): Promise<TestServer> {
  const server = await LocalMariaDb.start({
    label: spec.label,
    serverId: spec.serverId,
    binlog: spec.binlog,
    extraArgs: spec.extraArgs,
    durable: spec.durable,
  });
  return new LocalTestServer(spec.label, server);
}

// ---------------------------------------------------------------------------------------------
// docker: testcontainers with host networking

const CONTAINER_SOCKET = '/run/mysqld/mysqld.sock';
const CONTAINER_DATADIR = '/var/lib/binlog-sync/data';

/** The part of testcontainers' StartedTestContainer this harness uses. */
interface Container {
  getId(): string;
  exec(command: string[]): Promise<{ output: string; stdout: string; stderr: string; exitCode: number }>;
  stop(options?: { remove?: boolean; removeVolumes?: boolean; timeout?: number }): Promise<unknown>;
}

function dockerServerArgs(spec: ServerSpec, port: number): string[] {
  // Mirrors LocalMariaDb's defaults, with container paths.
  const args = [
    '--no-defaults',
    '--user=root',
    `--datadir=${CONTAINER_DATADIR}`,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    `--socket=${CONTAINER_SOCKET}`,
    `--server-id=${spec.serverId}`,
    '--character-set-server=utf8mb4',
    '--collation-server=utf8mb4_general_ci',
    '--innodb-buffer-pool-size=256M',
    '--max-connections=500',
    '--skip-name-resolve',
  ];
  if (spec.binlog) {
    args.push(
      `--log-bin=${CONTAINER_DATADIR}/mysql-bin`,
      '--binlog-format=ROW',
      '--binlog-row-image=FULL',
      '--binlog-row-metadata=FULL',
    );
  }
  if (!spec.durable) args.push('--innodb-flush-log-at-trx-commit=2', '--sync-binlog=0');
  args.push(...spec.extraArgs);
  return args;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Undoes the escaping of `mariadb --batch` output (\\t, \\n, \\0, \\\\) and maps NULL. */
function unescapeBatchField(field: string): string | null {
  if (field === 'NULL') return null;
  return field.replace(/\\(.)/g, (_, c: string) => (c === 't' ? '\t' : c === 'n' ? '\n' : c === '0' ? '\0' : c));
}

class DockerTestServer extends TcpServer {
  readonly mode = 'docker' as const;
  readonly supports: ServerCapabilities = { kill: true, restart: true, freeze: true, serverArgs: true };

  constructor(
    readonly label: string,
    private readonly container: Container,
    private readonly port: number,
  ) {
    super();
  }

  endpoint(): ServerEndpoint {
    return { host: '127.0.0.1', port: this.port, user: LOCAL_USER, password: LOCAL_PASSWORD };
  }

  async rootQuery(sql: string): Promise<Record<string, string | null>[]> {
    const r = await this.container.exec(['mariadb', `--socket=${CONTAINER_SOCKET}`, '-uroot', '--batch', '-e', sql]);
    if (r.exitCode !== 0) throw new Error(`${this.label} (docker) root SQL failed: ${r.stderr.trim() || r.output.trim()}`);
    const lines = r.stdout.split('\n').filter((l) => l.length > 0);
    const header = lines.shift();
    if (header === undefined) return [];
    const names = header.split('\t');
    return lines.map((line) => {
      const fields = line.split('\t');
      return Object.fromEntries(names.map((n, i) => [n, unescapeBatchField(fields[i] ?? 'NULL')]));
    });
  }

  private async docker(...args: string[]): Promise<void> {
    try {
      await execFileP('docker', args, { timeout: 60_000 });
    } catch (err) {
      throw new Error(`${this.label}: docker ${args.join(' ')} failed`, { cause: err });
    }
  }

  override async kill(): Promise<void> {
    await this.docker('kill', '--signal=KILL', this.container.getId());
    // `docker kill` returns once the signal is sent; wait until the container has really stopped.
    await this.docker('wait', this.container.getId());
  }

  override async restart(): Promise<void> {
    const state = await execFileP('docker', ['inspect', '--format', '{{.State.Running}}', this.container.getId()]);
    if (state.stdout.trim() === 'true') await this.kill();
    await this.docker('start', this.container.getId());
    await waitForTcp(this.endpoint(), `${this.label} (docker)`);
  }

  override freeze(): Promise<void> {
    return this.docker('pause', this.container.getId());
  }

  override thaw(): Promise<void> {
    return this.docker('unpause', this.container.getId());
  }

  async stop(): Promise<void> {
    const state = await execFileP('docker', ['inspect', '--format', '{{.State.Paused}}', this.container.getId()]).catch(
      () => null,
    );
    if (state?.stdout.trim() === 'true') await this.thaw();
    await this.container.stop({ remove: true, removeVolumes: true, timeout: 5_000 });
  }
}

async function startDocker(spec: ServerSpec): Promise<TestServer> {
  // No reaper image can be pulled and there is no bridge network: see docs in test/support/README.md.
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
  process.env.TESTCONTAINERS_HOST_OVERRIDE ??= '127.0.0.1';
  const { GenericContainer, Wait } = await import('testcontainers');
  const port = await freePort();
  const args = dockerServerArgs(spec, port).map(shellQuote).join(' ');
  // The data dir survives `docker kill` + `docker start`, so install only on the first start.
  const script =
    `mkdir -p /run/mysqld ${CONTAINER_DATADIR} && ` +
    `if [ ! -d ${CONTAINER_DATADIR}/mysql ]; then mariadb-install-db --no-defaults --user=root ` +
    `--datadir=${CONTAINER_DATADIR} --auth-root-authentication-method=normal --skip-test-db >/dev/null; fi && ` +
    `exec mariadbd ${args}`;
  const container = await new GenericContainer(DOCKER_IMAGE)
    .withNetworkMode('host')
    .withCommand(['sh', '-c', script])
    .withAutoRemove(false)
    .withLabels({ 'binlog-sync.test': spec.label })
    .withWaitStrategy(Wait.forLogMessage(/ready for connections/))
    .withStartupTimeout(120_000)
    .start();
  const server = new DockerTestServer(spec.label, container, port);
  try {
    await server.rootQuery(
      `CREATE USER IF NOT EXISTS '${LOCAL_USER}'@'%' IDENTIFIED BY '${LOCAL_PASSWORD}';` +
        `GRANT ALL PRIVILEGES ON *.* TO '${LOCAL_USER}'@'%' WITH GRANT OPTION;`,
    );
    await waitForTcp(server.endpoint(), `${spec.label} (docker)`);
    return server;
  } catch (err) {
    await container.stop({ remove: true, removeVolumes: true }).catch(() => undefined);
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// env: servers someone else runs

function parseServerUrl(name: string): ServerEndpoint {
  const raw = process.env[name];
  if (!raw) throw new Error(`BINLOG_SYNC_TEST_SERVERS=env needs ${name}=mysql://user:pass@host:port`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch (err) {
    throw new Error(`${name} is not a URL (mysql://user:pass@host:port)`, { cause: err });
  }
  if (url.protocol !== 'mysql:' && url.protocol !== 'mariadb:') {
    throw new Error(`${name} must start with mysql:// (got ${url.protocol}//)`);
  }
  return {
    host: url.hostname,
    port: url.port ? Number(url.port) : 3306,
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
  };
}

class EnvTestServer extends TcpServer {
  readonly mode = 'env' as const;
  readonly supports: ServerCapabilities = { kill: false, restart: false, freeze: false, serverArgs: false };

  constructor(
    readonly label: string,
    private readonly ep: ServerEndpoint,
  ) {
    super();
  }

  endpoint(): ServerEndpoint {
    return this.ep;
  }
  rootQuery(sql: string): Promise<unknown> {
    return this.query(sql);
  }
  async stop(): Promise<void> {
    // Not ours to stop.
  }
}

async function envPair(opts: ServerPairOptions): Promise<ServerPair> {
  if (opts.sourceArgs?.length || opts.targetArgs?.length) {
    throw new UnsupportedServerOperationError('server arguments cannot be applied in test server mode "env"');
  }
  const sourceEp = parseServerUrl('BINLOG_SYNC_TEST_SOURCE_URL');
  const targetEp = parseServerUrl('BINLOG_SYNC_TEST_TARGET_URL');
  if (sourceEp.host === targetEp.host && sourceEp.port === targetEp.port) {
    throw new Error('BINLOG_SYNC_TEST_SOURCE_URL and BINLOG_SYNC_TEST_TARGET_URL point at the same server');
  }
  const source = new EnvTestServer('source', sourceEp);
  const target = new EnvTestServer('target', targetEp);
  // The tests assume a source that logs full row images with metadata; say so instead of failing later.
  const rows = await source.query<{ Variable_name: string; Value: string }>(
    "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('log_bin','binlog_format','binlog_row_image','binlog_row_metadata')",
  );
  const vars = new Map(rows.map((r) => [r.Variable_name, r.Value]));
  const want: Record<string, string> = { log_bin: 'ON', binlog_format: 'ROW', binlog_row_image: 'FULL', binlog_row_metadata: 'FULL' };
  const wrong = Object.entries(want).filter(([k, v]) => (vars.get(k) ?? '').toUpperCase() !== v);
  if (wrong.length > 0) {
    throw new Error(
      `BINLOG_SYNC_TEST_SOURCE_URL server is not set up for the tests: ` +
        wrong.map(([k, v]) => `${k}=${vars.get(k) ?? '(unset)'} (want ${v})`).join(', '),
    );
  }
  await target.query('SELECT 1');
  return pair('env', source, target);
}
