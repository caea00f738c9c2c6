import { describe, expect, it } from 'vitest';
import { allowPendingSchemaChanges } from '../../../src/preflight/pending-ddl.js';
import type { PreflightCheck } from '../../../src/preflight/report.js';

const columns: PreflightCheck = { id: 'target.tables', title: 'Target tables and columns', status: 'fail', detail: 'shop.items on the target lacks column s1', fix: 'ALTER TABLE …' };

describe('allowPendingSchemaChanges', () => {
  it('turns a column or key mismatch into a warning when resuming under schemaChanges: apply', () => {
    const c = allowPendingSchemaChanges(columns, true);
    expect(c.status).toBe('warn');
    expect(c.detail).toContain('shop.items on the target lacks column s1');
    expect(c.detail).toContain('schemaChanges: apply');
    expect(c.fix).toBe('ALTER TABLE …');
    expect(allowPendingSchemaChanges({ ...columns, id: 'target.keys' }, true).status).toBe('warn');
  });

  it('leaves everything else as it is', () => {
    expect(allowPendingSchemaChanges(columns, false)).toBe(columns);
    const grants: PreflightCheck = { ...columns, id: 'source.grants' };
    expect(allowPendingSchemaChanges(grants, true)).toBe(grants);
    const ok: PreflightCheck = { ...columns, status: 'ok' };
    expect(allowPendingSchemaChanges(ok, true)).toBe(ok);
  });
});
