/**
 * Throwaway MariaDB servers as local processes: used by `binlog-sync demo`, the test harness and the
 * benchmark. Each server lives in its own temp directory, listens on 127.0.0.1 on a free port, and has
 * a password user for TCP (root only works over the socket). `stop()` kills it and removes the files.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';

const execFileP = promisify(execFile);

export interface LocalServerOptions {
  /** A label for temp dirs and messages (e.g. "source"). */
  readonly label: string;
  readonly serverId: number;
  /** Write a binlog (ROW, FULL image, FULL metadata unless overridden by `extraArgs`). */
  readonly binlog: boolean;
  /** Extra mariadbd arguments, appended last so they override the defaults. */
  readonly extraArgs?: readonly string[];
  readonly port?: number;
  /** Keep `innodb_flush_log_at_trx_commit=1` and `sync_binlog` defaults (durable); default true. */
  readonly durable?: boolean;
}

export interface ServerEndpoint {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
}

export const LOCAL_USER = 'sync';
export const LOCAL_PASSWORD = 'sync-pass';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function which(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/bin', '/sbin'])) {
    const p = join(dir, cmd);
    if (existsSync(p)) return p;
  }
  return null;
}

export class MariaDbNotInstalledError extends Error {
  override readonly name = 'MariaDbNotInstalledError';
}

export function mariadbBinaries(): { mariadbd: string; installDb: string } {
  const mariadbd = which('mariadbd') ?? which('mysqld');
  const installDb = which('mariadb-install-db') ?? which('mysql_install_db');
  if (!mariadbd || !installDb) {
    throw new MariaDbNotInstalledError(
      'MariaDB server binaries not found (mariadbd, mariadb-install-db). Install them with: apt-get update && apt-get install -y mariadb-server mariadb-client  (or run scripts/ensure-mariadb.sh)',
    );
  }
  return { mariadbd, installDb };
}

/** A running throwaway server. Can be killed (-9) and restarted on the same data dir and port. */
export class LocalMariaDb {
  private proc: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();

  private constructor(
    readonly options: LocalServerOptions,
    readonly dir: string,
    readonly port: number,
  ) {}

  static async start(options: LocalServerOptions): Promise<LocalMariaDb> {
    const { installDb } = mariadbBinaries();
    const dir = await mkdtemp(join(tmpdir(), `binlog-sync-${options.label}-`));
    const port = options.port ?? (await freePort());
    const server = new LocalMariaDb(options, dir, port);
    try {
      await execFileP(installDb, [
        '--no-defaults',
        '--user=root',
        `--datadir=${join(dir, 'data')}`,
        '--auth-root-authentication-method=normal',
        '--skip-test-db',
        // Our own tmpdir: parallel installs sharing /tmp have collided on temporary tables.
        `--tmpdir=${dir}`,
      ], { env: { ...process.env, TMPDIR: dir } });
      await server.launch();
      await server.rootQuery(
        `CREATE USER IF NOT EXISTS '${LOCAL_USER}'@'%' IDENTIFIED BY '${LOCAL_PASSWORD}';` +
          `GRANT ALL PRIVILEGES ON *.* TO '${LOCAL_USER}'@'%' WITH GRANT OPTION;`,
      );
      return server;
    } catch (err) {
      await server.stop();
      throw err;
    }
  }

  get socket(): string {
    return join(this.dir, 'mysqld.sock');
  }

  get errorLog(): string {
    return join(this.dir, 'error.log');
  }

  endpoint(): ServerEndpoint {
    return { host: '127.0.0.1', port: this.port, user: LOCAL_USER, password: LOCAL_PASSWORD };
  }

  get running(): boolean {
    return this.proc !== null;
  }

  private args(): string[] {
    const o = this.options;
    const args = [
      '--no-defaults',
      '--user=root',
      `--datadir=${join(this.dir, 'data')}`,
      `--port=${this.port}`,
      '--bind-address=127.0.0.1',
      `--socket=${this.socket}`,
      `--pid-file=${join(this.dir, 'mysqld.pid')}`,
      `--log-error=${this.errorLog}`,
      `--tmpdir=${this.dir}`,
      `--server-id=${o.serverId}`,
      '--character-set-server=utf8mb4',
      '--collation-server=utf8mb4_general_ci',
      '--innodb-buffer-pool-size=256M',
      '--max-connections=500',
      '--skip-name-resolve',
    ];
    if (o.binlog) {
      args.push(
        `--log-bin=${join(this.dir, 'data', 'mysql-bin')}`,
        '--binlog-format=ROW',
        '--binlog-row-image=FULL',
        '--binlog-row-metadata=FULL',
      );
    }
    if (o.durable === false) args.push('--innodb-flush-log-at-trx-commit=2', '--sync-binlog=0');
    args.push(...(o.extraArgs ?? []));
    return args;
  }

  private async launch(): Promise<void> {
    const { mariadbd } = mariadbBinaries();
    const proc = spawn(mariadbd, this.args(), { stdio: 'ignore', detached: false });
    this.proc = proc;
    this.exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    proc.once('exit', () => {
      if (this.proc === proc) this.proc = null;
    });
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (this.proc !== proc) {
        const log = await readFile(this.errorLog, 'utf8').catch(() => '');
        throw new Error(`${this.options.label} MariaDB exited during start-up. Last log lines:\n${log.split('\n').slice(-15).join('\n')}`);
      }
      try {
        const c = await mysql.createConnection({ socketPath: this.socket, user: 'root' });
        await c.end();
        return;
      } catch {
        if (Date.now() > deadline) throw new Error(`${this.options.label} MariaDB did not accept connections within 60 s (see ${this.errorLog})`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /** Runs SQL as root over the socket (multiple statements allowed). */
  async rootQuery(sql: string): Promise<unknown> {
    const c = await mysql.createConnection({ socketPath: this.socket, user: 'root', multipleStatements: true });
    try {
      const [rows] = await c.query(sql);
      return rows;
    } finally {
      await c.end();
    }
  }

  /** SIGKILL, as a crash would. */
  async kill(): Promise<void> {
    const p = this.proc;
    if (!p) return;
    p.kill('SIGKILL');
    await this.exited;
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.launch();
  }

  /**
   * SIGSTOP / SIGCONT: a frozen server that keeps its sockets open (a silent connection). Resolves once
   * the kernel reports the process stopped (a signal is delivered asynchronously to running threads).
   */
  async freeze(): Promise<void> {
    const p = this.proc;
    if (!p?.pid) return;
    p.kill('SIGSTOP');
    for (let i = 0; i < 100; i++) {
      const stat = await readFile(`/proc/${p.pid}/stat`, 'utf8').catch(() => '');
      if (/^\d+ \(.*\) T /.test(stat)) return;
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  thaw(): void {
    this.proc?.kill('SIGCONT');
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (p) {
      p.kill('SIGCONT');
      p.kill('SIGTERM');
      const t = setTimeout(() => p.kill('SIGKILL'), 10_000);
      await this.exited;
      clearTimeout(t);
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}
