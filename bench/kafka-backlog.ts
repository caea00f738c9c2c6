/**
 * Issue 11's memory bound with a backlog waiting in Kafka: the publisher publishes a bulk backlog of
 * millions of row events while no sink worker runs, then one sink worker starts on the full topic and
 * drains it. Each process's peak RSS is the figure (≤ 300 MB each); the target is then verified equal
 * to the source. The catch-up scenarios cannot show this: there the sink worker keeps up with the
 * publisher, so little ever waits in the topic.
 */
import type { LocalMariaDb } from '../src/local/mariadb-server.js';
import { bulkSchema, prepareDatabase, writeBulk } from './backlog.js';
import { runChild } from './child.js';
import type { Tuning } from './child-spec.js';
import { formatMb as mb, rate, type KafkaBacklogRun } from './report.js';
import { buildBacklog, kafkaSpecs, startSource, verify, type KafkaBench } from './scenarios.js';

/** Rows per INSERT … SELECT transaction of the backlog. */
const ROWS_PER_TX = 100_000;

export async function kafkaBacklogScenario(target: LocalMariaDb, rows: number, kafka: KafkaBench, tuning: Tuning, log: (line: string) => void): Promise<KafkaBacklogRun> {
  const source = await startSource('bench-kafka-backlog-source');
  try {
    const rowsPerTx = Math.min(rows, ROWS_PER_TX);
    const transactions = Math.max(1, Math.round(rows / rowsPerTx));
    log(`kafka-backlog: writing ${transactions} INSERT … SELECT transactions of ${rowsPerTx} rows…`);
    const b = await buildBacklog(source.server, bulkSchema(), `${transactions} INSERT … SELECT tx × ${rowsPerTx} rows`, () => writeBulk(source.server.endpoint(), { transactions, rowsPerTx }));
    const src = source.server.endpoint();
    await prepareDatabase(target.endpoint(), b.schema);
    const [publisherSpec, sinkSpec] = kafkaSpecs('kafka-backlog', src, target.endpoint(), b, kafka.brokers, tuning);
    log(`kafka-backlog: publishing the whole backlog to Kafka, no sink worker running…`);
    const publisher = await runChild(publisherSpec);
    log(`kafka-backlog: published in ${(publisher.ms / 1000).toFixed(1)} s (peak RSS ${mb(publisher.peakRssBytes)}); one sink worker drains the topic…`);
    const sink = await runChild(sinkSpec);
    await verify('kafka-backlog', target.endpoint(), { source: src });
    const rowEvents = transactions * rowsPerTx; // one WRITE_ROWS row per inserted row
    log(`kafka-backlog: drained in ${(sink.ms / 1000).toFixed(1)} s (peak RSS ${mb(sink.peakRssBytes)}), target verified`);
    return {
      description: b.backlog.description,
      rowEvents,
      publish: { ms: publisher.ms, rowsPerSec: rate(rowEvents, publisher.ms), peakRssBytes: publisher.peakRssBytes, peakHeapUsedBytes: publisher.peakHeapUsedBytes },
      drain: { ms: sink.ms, rowsPerSec: rate(rowEvents, sink.ms), peakRssBytes: sink.peakRssBytes, peakHeapUsedBytes: sink.peakHeapUsedBytes },
    };
  } finally {
    await source.stop();
  }
}
