export { MySqlSink, DEFAULT_POOL_SIZE, type MySqlSinkOptions } from './target-applier.js';
export {
  buildStatements,
  buildTableStatements,
  formatKey,
  quoteIdentifier,
  quoteTable,
  sqlLiteral,
  DEFAULT_LIMITS,
  DEFAULT_MAX_ROWS_PER_STATEMENT,
  DEFAULT_MAX_STATEMENT_BYTES,
  type BuiltStatement,
  type StatementKind,
  type StatementLimits,
} from './statement-builder.js';
export { classifyMySqlError, refusesTableData, remedyFor, type Classification, type ErrorClass } from './error-classifier.js';
export {
  MySqlCheckpointStore,
  CHECKPOINT_DATABASE,
  CHECKPOINT_TABLE,
  type MySqlCheckpointStoreOptions,
  type StoredCheckpoint,
} from './checkpoint-store.js';
export {
  PipelineLock,
  HeldPipelineLock,
  PipelineLockKeeper,
  pipelineLockName,
  type HeldLock,
  type LockHolder,
  type PipelineLockKeeperOptions,
  type PipelineLockOptions,
} from './pipeline-lock.js';
export { LockGate, type LockProof, type WriteFence } from './write-fence.js';
export {
  inspectTargetTable,
  inspectTargetTables,
  type Queryable,
  type TargetTableCheck,
  type TargetTableReport,
} from './target-schema.js';
export {
  openTargetConnection,
  SESSION_SETUP_SQL,
  TARGET_SQL_MODE,
  type TargetEndpoint,
} from './target-connection.js';
export { MySqlPartitionOffsets, PARTITIONS_TABLE, type MySqlPartitionOffsetsOptions } from './partition-offsets.js';
export { MySqlRequestStore, REQUESTS_TABLE } from './requests.js';
export { MySqlQuarantineStore, QUARANTINE_TABLE, QUARANTINED_TABLES_TABLE, type ParkedChange, type ParkedCursor } from './quarantine-store.js';
