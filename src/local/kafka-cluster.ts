/**
 * Throwaway Apache Kafka clusters as local `java` processes (KRaft: every node is broker and
 * controller), for the tests, the benchmark and `scripts/kafka.sh start`. The broker jars come from
 * Maven Central (`scripts/kafka.sh fetch`). Each node listens on 127.0.0.1 on free ports and keeps its
 * log in a temp directory; a node can be killed (-9) and restarted on its data, as a crash would.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, openSync, closeSync } from 'node:fs';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './mariadb-server.js';

const execFileP = promisify(execFile);

/** The broker version scripts/kafka/pom.xml pins; the cache folder is named after it. */
export const KAFKA_VERSION = '4.1.1';

export class KafkaNotInstalledError extends Error {
  override readonly name = 'KafkaNotInstalledError';
}

/** Where `scripts/kafka.sh fetch` puts the broker jars (override: BINLOG_SYNC_KAFKA_LIBS). */
export function kafkaLibs(): string {
  const dir = process.env.BINLOG_SYNC_KAFKA_LIBS ?? join(homedir(), '.cache', 'binlog-sync', `kafka-${KAFKA_VERSION}`, 'libs');
  if (!existsSync(dir) || !readdirSync(dir).some((f) => f.startsWith('kafka_2.13-'))) {
    throw new KafkaNotInstalledError(`the Apache Kafka broker jars are not in ${dir}. Fetch them from Maven Central with: bash scripts/kafka.sh fetch`);
  }
  return dir;
}

export interface LocalKafkaOptions {
  /** Nodes in the cluster (each broker and controller); default 1. */
  readonly brokers?: number;
  readonly label?: string;
  /** Extra server.properties lines for every node (e.g. `min.insync.replicas=2`). */
  readonly properties?: Readonly<Record<string, string | number>>;
}

interface KafkaNode {
  readonly id: number;
  readonly port: number;
  readonly controllerPort: number;
  readonly dir: string;
  proc: ChildProcess | null;
  exited: Promise<void>;
}

/**
 * The JVM of a local node: a small heap, and the C1 compiler only. A node here lives for a test or a
 * bench (minutes), and with the JVM's default tiered compilation it spent those minutes compiling: over
 * the bench's OLTP runs over Kafka, the C1/C2 compiler threads took 8.6 of the broker's 21 µs of CPU per
 * row event, on the two cores the publisher and sink worker share with it, and still 4–10 µs in the
 * fourth run. With C1 only: 0.5 µs of 14 (the compiled code costs about what C2's did, 13 against 12.5
 * µs). A long-running broker (compose/, production) keeps the default: it has finished compiling.
 */
const BROKER_JVM_OPTIONS = ['-Xms128m', '-Xmx512m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1'];

export class LocalKafkaCluster {
  private constructor(
    private readonly root: string,
    private readonly nodes: KafkaNode[],
    private readonly libs: string,
  ) {}

  static async start(options: LocalKafkaOptions = {}): Promise<LocalKafkaCluster> {
    const libs = kafkaLibs();
    const count = options.brokers ?? 1;
    const root = await mkdtemp(join(tmpdir(), `binlog-sync-kafka-${options.label ?? 'test'}-`));
    const nodes: KafkaNode[] = [];
    for (let id = 1; id <= count; id++) {
      nodes.push({ id, port: await freePort(), controllerPort: await freePort(), dir: join(root, `node-${id}`), proc: null, exited: Promise.resolve() });
    }
    const cluster = new LocalKafkaCluster(root, nodes, libs);
    try {
      const voters = nodes.map((n) => `${n.id}@127.0.0.1:${n.controllerPort}`).join(',');
      const replication = Math.min(3, count);
      const { stdout } = await execFileP('java', ['-cp', `${libs}/*`, 'kafka.tools.StorageTool', 'random-uuid']);
      const clusterId = stdout.trim();
      for (const n of nodes) {
        const props: Record<string, string | number> = {
          'process.roles': 'broker,controller',
          'node.id': n.id,
          'controller.quorum.voters': voters,
          listeners: `PLAINTEXT://127.0.0.1:${n.port},CONTROLLER://127.0.0.1:${n.controllerPort}`,
          'advertised.listeners': `PLAINTEXT://127.0.0.1:${n.port}`,
          'controller.listener.names': 'CONTROLLER',
          'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
          'inter.broker.listener.name': 'PLAINTEXT',
          'log.dirs': join(n.dir, 'data'),
          'offsets.topic.replication.factor': replication,
          'offsets.topic.num.partitions': 4,
          'transaction.state.log.replication.factor': replication,
          'transaction.state.log.min.isr': Math.min(2, replication),
          'transaction.state.log.num.partitions': 4,
          'group.initial.rebalance.delay.ms': 0,
          'auto.create.topics.enable': 'false',
          ...(options.properties ?? {}),
        };
        await execFileP('mkdir', ['-p', n.dir]);
        await writeFile(join(n.dir, 'server.properties'), Object.entries(props).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
        await execFileP('java', ['-cp', `${libs}/*`, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', join(n.dir, 'server.properties')]);
      }
      // Controllers of a multi-node quorum wait for each other: start them all, then wait for all.
      await Promise.all(nodes.map((n) => cluster.launch(n)));
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  /** `host:port` of every node, for kafkajs `brokers`. */
  get brokers(): string[] {
    return this.nodes.map((n) => `127.0.0.1:${n.port}`);
  }

  get size(): number {
    return this.nodes.length;
  }

  /** Process ids of the running nodes (the bench reads their CPU time). */
  get pids(): number[] {
    return this.nodes.flatMap((n) => (n.proc?.pid !== undefined ? [n.proc.pid] : []));
  }

  private node(id: number): KafkaNode {
    const n = this.nodes.find((x) => x.id === id);
    if (!n) throw new RangeError(`no Kafka node ${id} (nodes 1..${this.nodes.length})`);
    return n;
  }

  private async launch(n: KafkaNode): Promise<void> {
    const logFile = join(n.dir, 'broker.log');
    const fd = openSync(logFile, 'a');
    const proc = spawn('java', [...BROKER_JVM_OPTIONS, '-cp', `${this.libs}/*`, 'kafka.Kafka', join(n.dir, 'server.properties')], {
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    n.proc = proc;
    n.exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    proc.once('exit', () => {
      if (n.proc === proc) n.proc = null;
    });
    const deadline = Date.now() + 90_000;
    while (!(await portOpen(n.port))) {
      if (n.proc !== proc) {
        const log = await readFile(logFile, 'utf8').catch(() => '');
        throw new Error(`Kafka node ${n.id} exited during start-up. Last log lines:\n${log.split('\n').slice(-20).join('\n')}`);
      }
      if (Date.now() > deadline) throw new Error(`Kafka node ${n.id} did not listen on 127.0.0.1:${n.port} within 90 s (see ${logFile})`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** SIGKILL one node, as a crash would. */
  async kill(id: number): Promise<void> {
    const n = this.node(id);
    n.proc?.kill('SIGKILL');
    await n.exited;
  }

  /** Starts a killed node again on its data. */
  async restart(id: number): Promise<void> {
    const n = this.node(id);
    await this.kill(id);
    await this.launch(n);
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.nodes.map(async (n) => {
        const p = n.proc;
        if (!p) return;
        p.kill('SIGTERM');
        const t = setTimeout(() => p.kill('SIGKILL'), 5_000);
        await n.exited;
        clearTimeout(t);
      }),
    );
    await rm(this.root, { recursive: true, force: true });
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
