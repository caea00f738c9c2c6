/**
 * The kafkajs client as the pipeline file describes it (brokers, ssl, sasl, client id), with its log
 * lines going to our logger: kafkajs reports retries of an unreachable broker as errors; they are
 * warnings to us (we retry), and what stops the pipeline is logged by the pipeline itself.
 */
import './kafkajs-fastpaths.js'; // before kafkajs: it replaces functions kafkajs takes when it loads
import { readFileSync } from 'node:fs';
import { Kafka, logLevel, type KafkaConfig, type SASLOptions } from 'kafkajs';
import type { Logger } from '../../src/index.js';
import { installRecordBatchFastPath } from './record-batch-fastpath.js';
import { installRecordBatchDecoderFastPath } from './record-batch-decoder-fastpath.js';
import { installProduceRequestFastPath, requestFramingInstalled } from './request-framing-fastpath.js';
import { kafkaFastPathChoice } from './kafkajs-release.js';
import { partitionGroupingInstalled } from './partition-grouping-fastpath.js';

/** The start-up line saying which encoders are in use is logged once per process. */
let announced = false;

export interface KafkaClientSettings {
  readonly brokers: readonly string[];
  readonly clientId?: string;
  readonly ssl?: boolean | { readonly ca?: string | undefined; readonly cert?: string | undefined; readonly key?: string | undefined; readonly rejectUnauthorized: boolean };
  readonly sasl?: { readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; readonly username: string; readonly password: string };
}

function ssl(s: NonNullable<KafkaClientSettings['ssl']>): NonNullable<KafkaConfig['ssl']> {
  if (typeof s === 'boolean') return s;
  const read = (file: string | undefined): string | undefined => (file === undefined ? undefined : readFileSync(file, 'utf8'));
  return { rejectUnauthorized: s.rejectUnauthorized, ...(s.ca ? { ca: [read(s.ca)!] } : {}), ...(s.cert ? { cert: read(s.cert) } : {}), ...(s.key ? { key: read(s.key) } : {}) };
}

/**
 * kafkajs warnings that are not the operator's business: the partitioner notice (we place every message
 * ourselves), the retry limit of the idempotent producer (a send that fails after its retries aborts
 * the whole Kafka transaction and the publisher starts again from its last commit, so no duplicate
 * results), and coordinator hand-overs it retries itself.
 */
const NOISE = [/switched default partitioner/, /Limiting retries for the idempotent producer/, /coordinator is loading/, /not the correct coordinator/, /group coordinator is not available/, /concurrent operation on the same transaction/];

export function createKafka(settings: KafkaClientSettings, logger: Logger): Kafka {
  const log = logger.child({ component: 'kafka' });
  // Before the first send, which loads kafkajs's Produce request module (see the fast path's notes).
  const fast = kafkaFastPathChoice();
  let recordDecoding = false;
  if (fast.on) {
    installRecordBatchFastPath();
    installProduceRequestFastPath();
    // Before the first fetch, which loads kafkajs's Fetch response modules.
    recordDecoding = installRecordBatchDecoderFastPath();
  }
  if (!announced) {
    announced = true;
    const fields = { kafkaFastPath: fast.on, reason: fast.reason, requestFraming: requestFramingInstalled, partitionGrouping: partitionGroupingInstalled, recordDecoding };
    if (fast.on) log.info(fields, `Kafka encoding: binlog-sync's fast paths over ${fast.reason}`);
    else log.info(fields, `Kafka encoding: kafkajs's own encoders (${fast.reason}): same bytes, more CPU per message`);
  }
  return new Kafka({
    clientId: settings.clientId ?? 'binlog-sync',
    brokers: [...settings.brokers],
    ...(settings.ssl !== undefined ? { ssl: ssl(settings.ssl) } : {}),
    ...(settings.sasl ? { sasl: settings.sasl as SASLOptions } : {}),
    connectionTimeout: 5_000,
    requestTimeout: 30_000,
    // kafkajs retries each request itself; past these it throws and our own loops take over.
    retry: { initialRetryTime: 200, maxRetryTime: 5_000, retries: 8 },
    logLevel: logLevel.WARN,
    logCreator: () => (entry) => {
      const { message, ...rest } = entry.log;
      const fields = { namespace: entry.namespace, ...rest };
      const said = `${message} ${typeof rest.error === 'string' ? rest.error : ''}`;
      if (entry.level <= logLevel.WARN && !NOISE.some((n) => n.test(said))) log.warn(fields, `kafkajs: ${message}`);
      else log.debug(fields, `kafkajs: ${message}`);
    },
  });
}
