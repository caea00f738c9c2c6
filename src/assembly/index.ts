/**
 * Pipeline assembly: builds pipelines from a pipeline file over the configured connectors, in one
 * place for every command (run, source, sink, replay, demo), the bench and the tests.
 * `connectors.ts` is the composition root: the only module under src/ that imports from connectors/.
 */
export { createPipeline, runPipeline, type RunOptions } from './embedded.js';
export { runKafkaMode, sinkGroup, type KafkaModeOptions, type KafkaRole } from './kafka.js';
export {
  openCheckpointReader,
  openConnectors,
  openKafkaConnectors,
  readPublishedPosition,
  type CheckpointReader,
  type KafkaConnectors,
  type OpenConnectors,
  type OpenOptions,
} from './connectors.js';
export { reportProgress, summarize } from './progress.js';
