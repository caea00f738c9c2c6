// The docker-mode subset (`npx vitest run --config vitest.docker.config.ts`): the tests that kill, restart
// and freeze servers run again with every MariaDB server in a testcontainers container on the local image
// (scripts/build-local-images.sh), so `docker kill`, `docker start` and `docker pause` are the faults.
// CI runs it after the main suite when an engine can be started (scripts/docker-engine.sh).
import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

export const DOCKER_SUBSET = [
  'test/integration/pipeline-crash.test.ts', // the daemon killed -9 at random moments
  'test/integration/pipeline-types.test.ts', // type fidelity
  'test/integration/pipeline-recovery.test.ts', // source and target killed and restarted; the source paused (frozen)
];

// Not mergeConfig: it would append this include list to the main one instead of replacing it.
export default defineConfig({
  test: {
    ...base.test,
    include: DOCKER_SUBSET,
    env: { BINLOG_SYNC_TEST_SERVERS: 'docker' },
    globalSetup: [...[base.test?.globalSetup ?? []].flat(), 'test/support/docker-global-setup.ts'],
  },
});
