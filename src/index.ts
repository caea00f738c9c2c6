/**
 * The core's public surface: connectors import from here, never from src/core/* directly, and the
 * core never imports a connector (the composition root, src/assembly/connectors.ts, wires them).
 */
export * from './core/event.js';
export * from './core/position.js';
export * from './core/ports.js';
export * from './core/errors.js';
export * from './core/backoff.js';
export * from './core/log.js';
export * from './core/table-filter.js';
export * from './core/json.js';
export * from './core/decoder-form.js';
export * from './core/quarantine.js';
export { RowIdentifier, exactIdentity, exactToken, mutationRowId, FOLDED_MARK, type ColumnFold, type KeyPlace } from './core/key.js';
export { orderGroups, OrderGroupProgress, type ForeignKeyLink } from './core/order-groups.js';
export { readForeignKeys, type ForeignKey, type ForeignKeyRule } from './preflight/foreign-keys.js';
export * from './core/network-errors.js';
export * from './core/server-version.js';
export { lexSql, tokenizeSql, SqlCursor, SqlLexError, type SqlToken, type SqlTokenKind } from './core/sql-lexer.js';
export { ddlScope, describeDdlScope, type DdlScope } from './core/ddl-scope.js';
export { SchemaHistory, historyOps, type HistoryOp, type RecordedDdl } from './core/schema-history.js';
export { classifyStatement, dmlWriteTargets, parseXid, type StatementClass } from './core/sql-statement.js';
// For the Kafka transport, which drives the same placement, lanes and watermark as the embedded one.
export { Partitioner, type Routed } from './core/partitioner.js';
export { LaneScheduler, type LaneBatch, type Round } from './core/lanes.js';
export { applyRounds, type ApplyRoundsOptions } from './core/partition-applier.js';
export { Watermark, commitOptionsOf, sameCheckpoint } from './core/watermark.js';
export { appendMutations } from './core/router.js';
export * from './core/source-identity.js';
export * from './core/gtid-position.js';
export * from './core/source-continuity.js';
