/**
 * The fast paths (record-batch-fastpath.ts, request-framing-fastpath.ts, partition-grouping-fastpath.ts,
 * record-batch-decoder-fastpath.ts) replace functions inside kafkajs's modules, written against one
 * kafkajs release. Another release may lay them out differently, so they stand aside for any other version (kafkajs's own code, slower,
 * same bytes), the client logs which path is in use, and test/unit/kafka/kafkajs-release.test.ts fails
 * when the installed kafkajs is not this one, so that an upgrade re-checks them first.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The kafkajs release the fast paths were written and tested against. */
export const KAFKAJS_FASTPATH_RELEASE = '2.2.4';

/** `BINLOG_SYNC_KAFKA_FASTPATH=0` leaves kafkajs's own encoders in place (record batches, Produce requests, framing, grouping) and its record batch decoder (Fetch responses). */
export const KAFKA_FASTPATH_ENV = 'BINLOG_SYNC_KAFKA_FASTPATH';

export const installedKafkajsRelease: string = (require('kafkajs/package.json') as { version: string }).version;

export interface KafkaFastPathChoice {
  readonly on: boolean;
  readonly reason: string;
}

/** Whether the fast paths may replace kafkajs's functions in this process, and why (for the start-up log line). */
export function kafkaFastPathChoice(env: NodeJS.ProcessEnv = process.env, installed: string = installedKafkajsRelease): KafkaFastPathChoice {
  if (env[KAFKA_FASTPATH_ENV] === '0') return { on: false, reason: `${KAFKA_FASTPATH_ENV}=0` };
  if (installed !== KAFKAJS_FASTPATH_RELEASE) {
    return { on: false, reason: `kafkajs ${installed} is installed; the fast paths replace internals of kafkajs ${KAFKAJS_FASTPATH_RELEASE} only` };
  }
  return { on: true, reason: `kafkajs ${installed}` };
}
