// Every pipeline file the project ships (config/, compose/) must load: they are documentation users copy.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadPipelineConfig } from '../../../src/config/load.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const files = [
  ...readdirSync(join(root, 'config')).filter((f) => f.endsWith('.yaml')).map((f) => join(root, 'config', f)),
  join(root, 'compose', 'pipeline.yaml'),
];
// Variables that files use without a default.
const env = { SOURCE_PORT: '3306', TARGET_PORT: '3307', SOURCE_USER: 'u', TARGET_USER: 'u', SOURCE_PASSWORD: 'p', TARGET_PASSWORD: 'p', SOURCE_HOST: 'h', TARGET_HOST: 'h', DEMO_SOURCE_PORT: '1', DEMO_TARGET_PORT: '2', DEMO_USER: 'u', DEMO_PASSWORD: 'p', SYNC_DB: 'fz', START_FILE: 'mysql-bin.000001', START_POS: '4', KAFKA_BROKER_1: 'k1:9092', KAFKA_BROKER_2: 'k2:9092', KAFKA_BROKER_3: 'k3:9092' };

describe('shipped pipeline files', () => {
  it.each(files)('%s loads', async (file) => {
    const config = await loadPipelineConfig(file, env);
    expect(config.name).toMatch(/^[A-Za-z0-9_.-]+$/);
    expect(config.source.include.length).toBeGreaterThan(0);
  });
});
