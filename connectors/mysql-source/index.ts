export { MySqlSource } from './mysql-source.js';
export type { MySqlSourceOptions } from './options.js';
export { SOURCE_DEFAULTS } from './options.js';
export type { ReaderStats } from './binlog-reader.js';
export { TableFilter, ALWAYS_EXCLUDED_SCHEMAS } from '../../src/index.js';
export { compileRowDecoder, type ColumnSpec, type RowDecoder } from './row-decoder.js';
export { SchemaCache, type TableInfo } from './schema-cache.js';
