import { describe, expect, it } from 'vitest';
import { parsePipelineConfig } from '../../../src/config/load.js';
import { schemaChangesPolicy } from '../../../src/config/schema.js';
import { configProblems as problemsOf, pipelineFile } from '../../support/pipeline-file.js';

const KAFKA = 'transport: { kind: kafka, brokers: ["k:9092"], topic: t.changes }';

const withRest = (rest: string): string => pipelineFile({ rest });

describe('schemaChanges', () => {
  it('defaults to apply (embedded) and to ignore with kafka, where apply is not available', () => {
    expect(schemaChangesPolicy(parsePipelineConfig(withRest(''), 'p.yaml', {}))).toBe('apply');
    expect(schemaChangesPolicy(parsePipelineConfig(withRest(KAFKA), 'p.yaml', {}))).toBe('ignore');
  });

  it('takes apply, stop or ignore as written', () => {
    for (const policy of ['apply', 'stop', 'ignore'] as const) {
      expect(schemaChangesPolicy(parsePipelineConfig(withRest(`schemaChanges: ${policy}`), 'p.yaml', {}))).toBe(policy);
    }
    expect(schemaChangesPolicy(parsePipelineConfig(withRest(`${KAFKA}\nschemaChanges: stop`), 'p.yaml', {}))).toBe('stop');
  });

  it('refuses other values and apply with kafka, saying what to use', () => {
    expect(problemsOf(withRest('schemaChanges: replicate'))).toEqual(['schemaChanges: expected one of apply, stop, ignore, got "replicate"']);
    expect(problemsOf(withRest(`${KAFKA}\nschemaChanges: apply`))).toEqual([
      'schemaChanges: apply is not available with transport.kind: kafka (a DDL is a barrier across all partitions, which separate sink workers cannot share): use stop (halt before it; apply it on the target by hand, then continue past it) or ignore',
    ]);
  });
});
