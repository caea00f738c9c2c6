export { createKafka, type KafkaClientSettings } from './client.js';
export { ensureTopic, topicMaxMessageBytes, type TopicSettings } from './topics.js';
export { KafkaPublisher, fencedError, isFenced, type KafkaPublisherOptions, type PublisherStats } from './publisher.js';
export { KafkaSinkWorker, type KafkaSinkWorkerOptions, type SinkWorkerStats } from './sink-worker.js';
export { KafkaPositionStore, readPublishedPosition, publisherGroup, publisherTransactionalId, type PublishedPosition } from './published-position.js';
export { encodeMutation, decodeMutation, EnvelopeError, TX_HEADER, POSITION_HEADER, ENVELOPE_VERSION, type Envelope, type EncodedMessage } from './envelope.js';
