/** The variables config/test-kafka-pipeline.yaml reads for its Kafka cluster. */
export function kafkaEnv(brokers: readonly string[], topic: string): Record<string, string> {
  const b = (i: number): string => brokers[i % brokers.length]!;
  return { KAFKA_BROKER_1: b(0), KAFKA_BROKER_2: b(1), KAFKA_BROKER_3: b(2), KAFKA_TOPIC: topic };
}
