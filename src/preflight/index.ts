export { runPreflight, type PreflightOptions } from './run.js';
export { formatPreflightReport, assertPreflightPassed, type PreflightCheck, type PreflightReport, type CheckStatus } from './report.js';
export {
  readForeignKeys,
  foreignKeyDefinition,
  describeForeignKey,
  rulesFromCreateTable,
  sameRule,
  changesChildRows,
  type ForeignKey,
  type ForeignKeyRule,
} from './foreign-keys.js';
export { compareForeignKeys, targetForeignKeysCheck, type ForeignKeyDifference } from './foreign-keys-check.js';
export { readTableKeys, type TableKeySchema, type UniqueIndex, type KeyPart, type TableColumn } from './table-keys.js';
export { compareTableKeys, targetKeysCheck, type KeyDifference } from './keys-check.js';
export { readTriggers, targetTriggersCheck, dropTriggerStatement, type TableTrigger } from './triggers.js';
export { qualifiedName, type TableName, type Queryable } from './sql.js';
