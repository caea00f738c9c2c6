// The pipeline file's routes, tables (columns, mask, filter, keyless) and keyless keys.
import { describe, expect, it } from 'vitest';
import { parsePipelineConfig } from '../../../src/config/load.js';
import { configProblems as problemsOf, pipelineFile } from '../../support/pipeline-file.js';

/** A valid file over shop_* tables, with `rest` (and a transport section) added. */
function file(rest: string, transport = ''): string {
  return pipelineFile({ source: 'include: ["shop_*.*"]', rest: [transport, rest].join('\n') });
}

describe('routes, tables and keyless in the pipeline file', () => {
  it('defaults: no routes, no table settings, keyless refuse', () => {
    const c = parsePipelineConfig(file(''), 'p.yaml', {});
    expect(c.routes).toEqual([]);
    expect(c.tables).toEqual({});
    expect(c.keyless).toBe('refuse');
  });

  it('reads every setting', () => {
    const c = parsePipelineConfig(
      file(
        [
          'routes:',
          '  - { from: "shop_*.orders", to: "all.orders" }',
          'keyless: full-row',
          'tables:',
          '  "shop_*.customers":',
          '    columns: { exclude: ["internal_*"] }',
          '    mask: { email: hash, phone: null }',
          "    filter: \"country IN ('DE', 'FR') AND deleted_at IS NULL\"",
          '    keyless: refuse',
        ].join('\n'),
      ),
      'p.yaml',
      {},
    );
    expect(c.routes).toEqual([{ from: 'shop_*.orders', to: 'all.orders' }]);
    expect(c.keyless).toBe('full-row');
    expect(c.tables['shop_*.customers']).toEqual({
      columns: { exclude: ['internal_*'] },
      mask: { email: 'hash', phone: 'null' },
      filter: "country IN ('DE', 'FR') AND deleted_at IS NULL",
      keyless: 'refuse',
    });
  });

  it('names each bad value with its path', () => {
    const problems = problemsOf(
      file(
        [
          'routes:',
          '  - { from: "shop", to: "x.y" }',
          '  - { from: "a.b", to: "c.*" }',
          'keyless: maybe',
          'tables:',
          '  "nodot": { filter: "a = 1" }',
          '  "shop_1.t":',
          '    mask: { email: sha1 }',
          "    filter: \"a = 'x\"",
          '    colums: {}',
        ].join('\n'),
      ),
    );
    const text = problems.join('\n');
    expect(text).toMatch(/routes\[0\]\.from: "shop" is not a db\.table pattern/);
    expect(text).toMatch(/routes\[1\]\.to: "c\.\*" has 1 wildcards but from "a\.b" has 0/);
    expect(text).toMatch(/keyless: expected refuse or full-row, got "maybe"/);
    expect(text).toMatch(/"nodot" is not a db\.table pattern/);
    expect(text).toMatch(/tables\["shop_1\.t"\]\.mask\.email: expected hash or null, got "sha1"/);
    expect(text).toMatch(/tables\["shop_1\.t"\]\.filter: unterminated string starting at character 5/);
    expect(text).toMatch(/tables\["shop_1\.t"\]\.colums/);
  });

  it('refuses routes, tables and full-row with the Kafka transport', () => {
    const kafka = 'transport:\n  kind: kafka\n  brokers: ["k:9092"]\n  topic: t';
    const problems = problemsOf(file('routes:\n  - { from: "a.*", to: "b.*" }\ntables:\n  "a.t": { filter: "x = 1" }\nkeyless: full-row', kafka)).join('\n');
    expect(problems).toMatch(/routes: not available with transport\.kind: kafka/);
    expect(problems).toMatch(/tables: not available with transport\.kind: kafka/);
    expect(problems).toMatch(/keyless: full-row is not available with transport\.kind: kafka/);
  });
});
