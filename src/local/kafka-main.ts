/**
 * `scripts/kafka.sh start [--brokers N]`: a throwaway local Kafka cluster in the foreground, for trying
 * Kafka mode by hand. Prints the bootstrap servers; SIGINT/SIGTERM stop it and remove its data.
 */
import { parseArgs } from 'node:util';
import { LocalKafkaCluster } from './kafka-cluster.js';

const { values } = parseArgs({ options: { brokers: { type: 'string', default: '1' } } });
const brokers = Number(values.brokers);
if (!Number.isInteger(brokers) || brokers < 1) {
  console.error(`--brokers ${values.brokers}: expected a whole number ≥ 1`);
  process.exit(2);
}
const cluster = await LocalKafkaCluster.start({ brokers, label: 'manual' });
console.log(`kafka: ${brokers} node(s) up; brokers: ${cluster.brokers.join(',')}`);
console.log('kafka: Ctrl-C stops the cluster and removes its data');
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void cluster.stop().then(() => process.exit(0));
  });
}
