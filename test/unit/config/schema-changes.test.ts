import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/core/errors.js';
import { parsePipelineConfig } from '../../../src/config/load.js';
import { schemaChangesPolicy } from '../../../src/config/schema.js';

const KAFKA = 'transport: { kind: kafka, brokers: ["k:9092"], topic: t.changes }';

function pipelineFile(rest: string): string {
  return ['name: unit', 'source:', '  host: 127.0.0.1', '  user: sync', '  serverId: 5401', '  include: ["shop.*"]', 'target:', '  host: 127.0.0.1', '  user: sync', rest].join('\n');
}

function problemsOf(text: string): readonly string[] {
  try {
    parsePipelineConfig(text, 'p.yaml', {});
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('schemaChanges', () => {
  it('defaults to apply (embedded) and to ignore with kafka, where apply is not available', () => {
    expect(schemaChangesPolicy(parsePipelineConfig(pipelineFile(''), 'p.yaml', {}))).toBe('apply');
    expect(schemaChangesPolicy(parsePipelineConfig(pipelineFile(KAFKA), 'p.yaml', {}))).toBe('ignore');
  });

  it('takes apply, stop or ignore as written', () => {
    for (const policy of ['apply', 'stop', 'ignore'] as const) {
      expect(schemaChangesPolicy(parsePipelineConfig(pipelineFile(`schemaChanges: ${policy}`), 'p.yaml', {}))).toBe(policy);
    }
    expect(schemaChangesPolicy(parsePipelineConfig(pipelineFile(`${KAFKA}\nschemaChanges: stop`), 'p.yaml', {}))).toBe('stop');
  });

  it('refuses other values and apply with kafka, saying what to use', () => {
    expect(problemsOf(pipelineFile('schemaChanges: replicate'))).toEqual(['schemaChanges: expected one of apply, stop, ignore, got "replicate"']);
    expect(problemsOf(pipelineFile(`${KAFKA}\nschemaChanges: apply`))).toEqual([
      'schemaChanges: apply is not available with transport.kind: kafka (a DDL is a barrier across all partitions, which separate sink workers cannot share): use stop (halt before it; apply it on the target by hand, then continue past it) or ignore',
    ]);
  });
});
