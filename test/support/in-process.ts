/**
 * Runs the pipeline in the test process (the daemon's own `runPipeline`), configured from
 * config/test-pipeline.yaml, for tests that need to watch or disturb it closely.
 */
import { loadPipelineConfig } from '../../src/config/load.js';
import { createLogger, type Logger } from '../../src/core/log.js';
import type { Pipeline, PipelineResult } from '../../src/core/pipeline.js';
import { runPipeline } from '../../src/assembly/index.js';
import type { TestServer } from './servers.js';
import { pipelineEnv, TEST_PIPELINE, waitForCatchUp } from './pipeline-process.js';

export interface RunningPipeline {
  readonly pipeline: Promise<Pipeline>;
  readonly result: Promise<PipelineResult>;
  /** Waits until the stored checkpoint reaches the source head. */
  caughtUp(timeoutMs?: number): Promise<void>;
  /** SIGTERM equivalent: drain and store a final checkpoint. */
  stop(): Promise<PipelineResult>;
}

export interface InProcessOptions {
  /** Where the daemon logs (a test that asserts on log lines passes its own); default: stdout at TEST_LOG_LEVEL or warn. */
  readonly logger?: Logger;
}

export async function startInProcess(source: TestServer, target: TestServer, vars: Record<string, string>, options: InProcessOptions = {}): Promise<RunningPipeline> {
  const env = { ...process.env, ...pipelineEnv(source.endpoint(), target.endpoint(), vars) };
  const config = await loadPipelineConfig(TEST_PIPELINE, env);
  const logger = options.logger ?? createLogger({ name: config.name, level: process.env.TEST_LOG_LEVEL ?? 'warn' });
  const ac = new AbortController();
  let started!: (p: Pipeline) => void;
  const pipeline = new Promise<Pipeline>((r) => (started = r));
  const result = runPipeline({ config, logger, signal: ac.signal, progressEveryMs: 60_000, onStarted: started });
  // Surface a failure to start (preflight) through `pipeline` too.
  result.catch(() => undefined);
  return {
    pipeline: Promise.race([pipeline, result.then(() => Promise.reject(new Error('pipeline ended before starting')))]),
    result,
    caughtUp: async (timeoutMs) => {
      await Promise.race([waitForCatchUp(source.endpoint(), target.endpoint(), config.name, timeoutMs), result.then(() => Promise.reject(new Error('pipeline ended')))]);
    },
    stop: async () => {
      ac.abort();
      return result;
    },
  };
}
