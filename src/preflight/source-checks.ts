/**
 * Checks on the source server: binlog settings, the replication user's privileges, our replica id,
 * the tables the pipeline would copy and their keys, and whether a start position still exists.
 * Each function returns data (a `PreflightCheck`); none throws for a problem it was built to find.
 */
import type { Connection } from 'mysql2/promise';
import type { SourceConfig } from '../config/schema.js';
import { formatPosition, type BinlogPosition } from '../core/position.js';
import { canSelect, hasGlobal, type Grants } from './grants.js';
import type { PreflightCheck } from './report.js';
import { qualifiedName, quoteAccount, quoteIdent, rows, type TableName } from './sql.js';
import { foldColumn, readTableKeys } from './table-keys.js';
// The same filter the binlog reader applies, so preflight lists exactly the tables that will be copied.
import { ALWAYS_EXCLUDED_SCHEMAS, TableFilter } from '../core/table-filter.js';

export interface ServerSettings {
  /** `SELECT VERSION()`, e.g. `10.11.19-MariaDB-0+deb12u1-log`. */
  readonly version: string;
  readonly flavor: 'mariadb' | 'mysql';
  readonly versionNumber: readonly [number, number, number];
  readonly serverId: number;
  readonly logBin: boolean;
  readonly binlogFormat: string;
  readonly binlogRowImage: string;
  /** Undefined on servers without the variable (MySQL < 8.0.1, MariaDB < 10.5). */
  readonly binlogRowMetadata: string | undefined;
  /** `CURRENT_USER()`: the account the grants belong to, e.g. `sync@%`. */
  readonly account: string;
}

export async function readServerSettings(conn: Connection): Promise<ServerSettings> {
  const vars = new Map<string, string>();
  for (const r of await rows(
    conn,
    "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('version', 'server_id', 'log_bin', 'binlog_format', 'binlog_row_image', 'binlog_row_metadata')",
  )) {
    vars.set(String(r.Variable_name).toLowerCase(), String(r.Value));
  }
  const [who] = await rows(conn, 'SELECT CURRENT_USER() AS account');
  const version = vars.get('version') ?? '';
  const nums = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  return {
    version,
    flavor: /mariadb/i.test(version) ? 'mariadb' : 'mysql',
    versionNumber: nums ? [Number(nums[1]), Number(nums[2]), Number(nums[3])] : [0, 0, 0],
    serverId: Number(vars.get('server_id') ?? 0),
    logBin: (vars.get('log_bin') ?? 'OFF').toUpperCase() === 'ON',
    binlogFormat: (vars.get('binlog_format') ?? '').toUpperCase(),
    binlogRowImage: (vars.get('binlog_row_image') ?? '').toUpperCase(),
    binlogRowMetadata: vars.get('binlog_row_metadata')?.toUpperCase(),
    account: String(who?.account ?? ''),
  };
}

function atLeast(v: readonly [number, number, number], min: readonly [number, number, number]): boolean {
  for (let i = 0; i < 3; i++) if (v[i]! !== min[i]!) return v[i]! > min[i]!;
  return true;
}

function daemon(s: ServerSettings): string {
  return s.flavor === 'mariadb' ? 'mariadbd' : 'mysqld';
}

/** A global variable that can be set at run time: the statement, and how to keep it after a restart. */
function setGlobalFix(s: ServerSettings, variable: string, value: string): string {
  return [
    `SET GLOBAL ${variable} = '${value}';`,
    `-- new sessions use it; reconnect the applications that write to the tables. Keep it after a restart:`,
    `-- my.cnf [mysqld]: ${variable} = ${value}   (or start ${daemon(s)} with --${variable.replace(/_/g, '-')}=${value})`,
  ].join('\n');
}

export function binlogSettingsChecks(s: ServerSettings, source: SourceConfig): PreflightCheck[] {
  const checks: PreflightCheck[] = [];
  checks.push(
    s.logBin
      ? { id: 'source.binlog', title: 'Source binlog enabled', status: 'ok', detail: 'log_bin=ON' }
      : {
          id: 'source.binlog',
          title: 'Source binlog enabled',
          status: 'fail',
          detail: 'log_bin=OFF: the source writes no binlog, so there are no changes to read',
          fix: [
            `The binlog cannot be switched on at run time: restart the server with it, e.g.`,
            `  ${daemon(s)} --log-bin=mysql-bin --server-id=${s.serverId > 0 ? s.serverId : 1} --binlog-format=ROW --binlog-row-image=FULL --binlog-row-metadata=FULL`,
            `or in my.cnf [mysqld]: log_bin = mysql-bin`,
          ].join('\n'),
        },
  );
  checks.push(
    s.binlogFormat === 'ROW'
      ? { id: 'source.binlog-format', title: 'Source binlog_format', status: 'ok', detail: 'binlog_format=ROW' }
      : {
          id: 'source.binlog-format',
          title: 'Source binlog_format',
          status: 'fail',
          detail: `binlog_format=${s.binlogFormat || '(unknown)'}: changes must be logged as rows (ROW), not as statements`,
          fix: setGlobalFix(s, 'binlog_format', 'ROW'),
        },
  );
  checks.push(
    s.binlogRowImage === 'FULL'
      ? { id: 'source.binlog-row-image', title: 'Source binlog_row_image', status: 'ok', detail: 'binlog_row_image=FULL' }
      : {
          id: 'source.binlog-row-image',
          title: 'Source binlog_row_image',
          status: 'fail',
          detail: `binlog_row_image=${s.binlogRowImage || '(unknown)'}: updates must carry every column (FULL) so that the target row can be written whole`,
          fix: setGlobalFix(s, 'binlog_row_image', 'FULL'),
        },
  );
  checks.push(rowMetadataCheck(s, source.allowNoRowMetadata));
  return checks;
}

const ROW_METADATA_RISK =
  'the binlog then carries no column names, so each row is decoded with the table as it is now: rows written before an ALTER TABLE may be decoded into the wrong columns, silently';

function rowMetadataCheck(s: ServerSettings, allowed: boolean): PreflightCheck {
  const id = 'source.binlog-row-metadata';
  const title = 'Source binlog_row_metadata';
  if (s.binlogRowMetadata === 'FULL') return { id, title, status: 'ok', detail: 'binlog_row_metadata=FULL' };
  const supported = s.flavor === 'mariadb' ? atLeast(s.versionNumber, [10, 5, 0]) : atLeast(s.versionNumber, [8, 0, 1]);
  const found =
    s.binlogRowMetadata === undefined
      ? `${s.version} has no binlog_row_metadata (it needs ${s.flavor === 'mariadb' ? 'MariaDB 10.5' : 'MySQL 8.0.1'} or later)`
      : `binlog_row_metadata=${s.binlogRowMetadata}`;
  const setIt =
    s.binlogRowMetadata !== undefined && supported
      ? setGlobalFix(s, 'binlog_row_metadata', 'FULL')
      : `Upgrade the source to ${s.flavor === 'mariadb' ? 'MariaDB 10.5' : 'MySQL 8.0.1'} or later and set binlog_row_metadata = FULL.`;
  if (allowed) {
    return {
      id,
      title,
      status: 'warn',
      detail: `${found}; allowed by source.allowNoRowMetadata, but ${ROW_METADATA_RISK}. Do not ALTER replicated tables while events written before the change are still unread.`,
      fix: setIt,
    };
  }
  return {
    id,
    title,
    status: 'fail',
    detail: `${found}: ${ROW_METADATA_RISK}`,
    fix: `${setIt}\nOr accept the risk: in the pipeline file, source.allowNoRowMetadata: true`,
  };
}

export function replicationPrivilegeCheck(grants: Grants, s: ServerSettings): PreflightCheck {
  const id = 'source.replication-privileges';
  const title = 'Source user replication privileges';
  const newNames = s.flavor === 'mariadb' && atLeast(s.versionNumber, [10, 5, 2]);
  const monitorName = newNames ? 'BINLOG MONITOR' : 'REPLICATION CLIENT';
  const missing: string[] = [];
  if (!hasGlobal(grants, ['REPLICATION SLAVE'])) missing.push('REPLICATION SLAVE');
  // MariaDB 10.5.2 renamed REPLICATION CLIENT to BINLOG MONITOR (the old name is an alias); SUPER covers it on older servers.
  if (!hasGlobal(grants, ['REPLICATION CLIENT', 'BINLOG MONITOR', 'SUPER'])) missing.push(monitorName);
  if (missing.length === 0) {
    return { id, title, status: 'ok', detail: `${s.account} may read the binlog (REPLICATION SLAVE, ${monitorName})` };
  }
  const roles = grants.roles.length > 0 ? ` (roles ${grants.roles.join(', ')} are granted but not active in this session, so not counted)` : '';
  return {
    id,
    title,
    status: 'fail',
    detail: `${s.account} lacks ${missing.join(' and ')} on *.*${roles}: ${missing.includes('REPLICATION SLAVE') ? 'it cannot read the binlog' : 'it cannot list the binlog files (SHOW BINARY LOGS)'}`,
    fix: `GRANT ${missing.join(', ')} ON *.* TO ${quoteAccount(s.account)};`,
  };
}

export async function serverIdCheck(conn: Connection, s: ServerSettings, serverId: number): Promise<PreflightCheck> {
  const id = 'source.server-id';
  const title = 'Replica server id';
  const pick = (taken: ReadonlySet<number>) => {
    let n = serverId + 1;
    while (taken.has(n) || n === s.serverId) n += 1;
    return n;
  };
  if (serverId === s.serverId) {
    return {
      id,
      title,
      status: 'fail',
      detail: `source.serverId ${serverId} is the source's own server_id: the source refuses a replica with its own id`,
      fix: `In the pipeline file: source.serverId: ${pick(new Set())}`,
    };
  }
  let replicas: { serverId: number; host: string }[];
  try {
    const modern = s.flavor === 'mysql' && atLeast(s.versionNumber, [8, 0, 22]);
    replicas = (await rows(conn, modern ? 'SHOW REPLICAS' : 'SHOW SLAVE HOSTS')).map((r) => {
      const get = (name: string) => Object.entries(r).find(([k]) => k.toLowerCase() === name)?.[1];
      return { serverId: Number(get('server_id')), host: `${String(get('host') ?? '')}:${String(get('port') ?? '')}` };
    });
  } catch (err) {
    return {
      id,
      title,
      status: 'warn',
      detail: `serverId ${serverId} differs from the source's (${s.serverId}); the registered replicas could not be listed (${err instanceof Error ? err.message : String(err)}): make sure no other replica or CDC reader uses ${serverId}, or the source disconnects one of the two`,
      fix: `GRANT ${s.flavor === 'mariadb' && atLeast(s.versionNumber, [10, 5, 2]) ? 'REPLICATION MASTER ADMIN' : 'REPLICATION SLAVE'} ON *.* TO ${quoteAccount(s.account)};  -- lets preflight list the replicas`,
    };
  }
  const clash = replicas.find((r) => r.serverId === serverId);
  if (clash) {
    return {
      id,
      title,
      status: 'fail',
      detail: `serverId ${serverId} is used by the replica ${clash.host} connected to the source: the source would disconnect one of the two`,
      fix: `In the pipeline file: source.serverId: ${pick(new Set(replicas.map((r) => r.serverId)))}`,
    };
  }
  // Binlog readers that never registered (CDC tools) show only as Binlog Dump threads, without their id.
  let unregistered = 0;
  try {
    const dumps = await rows(conn, "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'");
    unregistered = Math.max(0, Number(dumps[0]?.n ?? 0) - replicas.length);
  } catch {
    // Without PROCESS the list is just shorter; the registered replicas were checked above.
  }
  const others = replicas.length > 0 ? `; registered replicas use ${replicas.map((r) => r.serverId).join(', ')}` : '';
  if (unregistered > 0) {
    return {
      id,
      title,
      status: 'warn',
      detail: `serverId ${serverId} is free among registered replicas${others}, but ${unregistered} other binlog reader${unregistered === 1 ? ' is' : 's are'} connected without registering an id (another pipeline or CDC tool?): if one uses ${serverId}, the source disconnects one of the two`,
      fix: `Make sure each binlog reader of this source has its own id; e.g. source.serverId: ${pick(new Set(replicas.map((r) => r.serverId)))}`,
    };
  }
  return { id, title, status: 'ok', detail: `serverId ${serverId} is not in use (source server_id ${s.serverId}${others})` };
}

export { qualifiedName, type TableName } from './sql.js';

export interface SourceTable extends TableName {
  /** Column names in table order. */
  readonly columns: readonly string[];
  /** PRIMARY KEY columns, or null. */
  readonly primaryKey: readonly string[] | null;
  /** UNIQUE indexes whose columns are all NOT NULL: usable as a key. */
  readonly uniqueNotNull: readonly (readonly string[])[];
}

/** The base tables matched by include minus exclude, with columns and keys. Only tables the user can see. */
export async function listIncludedTables(conn: Connection, source: SourceConfig): Promise<SourceTable[]> {
  const filter = new TableFilter(source.include, source.exclude);
  const names = (
    await rows(
      conn,
      `SELECT TABLE_SCHEMA AS db, TABLE_NAME AS tbl FROM information_schema.TABLES
        WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA NOT IN (?) ORDER BY TABLE_SCHEMA, TABLE_NAME`,
      [ALWAYS_EXCLUDED_SCHEMAS],
    )
  )
    .map((r) => ({ db: String(r.db), table: String(r.tbl) }))
    .filter((t) => filter.matches(t.db, t.table));
  if (names.length === 0) return [];
  const keys = await readTableKeys(conn, names);
  return names.map((n) => {
    const k = keys.get(qualifiedName(n));
    const columns = k ? [...k.columns.values()] : [];
    const nullable = new Set(columns.filter((c) => c.nullable).map((c) => foldColumn(c.name)));
    return {
      ...n,
      columns: columns.map((c) => c.name),
      primaryKey: k?.primaryKey?.parts.map((p) => p.column) ?? null,
      uniqueNotNull: (k?.uniqueKeys ?? []).filter((i) => i.parts.every((p) => !nullable.has(foldColumn(p.column)))).map((i) => i.parts.map((p) => p.column)),
    };
  });
}

function listNames(names: readonly string[], max = 20): string {
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')} … and ${names.length - max} more`;
}

export function includedTablesCheck(tables: readonly SourceTable[], source: SourceConfig): PreflightCheck {
  const id = 'source.tables';
  const title = 'Included tables';
  if (tables.length > 0) {
    return { id, title, status: 'ok', detail: `${tables.length} table${tables.length === 1 ? '' : 's'}: ${listNames(tables.map(qualifiedName))}` };
  }
  const rules = `include ${JSON.stringify(source.include)}${source.exclude.length > 0 ? `, exclude ${JSON.stringify(source.exclude)}` : ''}`;
  return {
    id,
    title,
    status: 'warn',
    detail: `no base table on the source matches ${rules} (tables the user has no privilege on are invisible to it)`,
    fix: `Check source.include / source.exclude in the pipeline file against: SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE';`,
  };
}

/** SELECT on every included table (and on databases named literally by include patterns, so that their tables are visible). */
export function selectPrivilegeCheck(grants: Grants, tables: readonly SourceTable[], source: SourceConfig, s: ServerSettings): PreflightCheck {
  const id = 'source.select-privileges';
  const title = 'Source user SELECT on included tables';
  const lacking = tables.filter((t) => !canSelect(grants, t.db, t.table));
  const literalDbs = [...new Set(source.include.map((p) => p.slice(0, p.indexOf('.'))).filter((db) => !/[*?]/.test(db)))];
  const hidden = literalDbs.filter((db) => !tables.some((t) => t.db === db) && !canSelect(grants, db, '*'));
  if (lacking.length === 0 && hidden.length === 0) {
    return { id, title, status: 'ok', detail: tables.length > 0 ? `${s.account} can read all ${tables.length}` : 'no tables to read' };
  }
  const problems = [
    ...(lacking.length > 0 ? [`no SELECT on ${listNames(lacking.map(qualifiedName))}`] : []),
    ...(hidden.length > 0 ? [`no SELECT on database ${hidden.join(', ')} (its tables are invisible to the user)`] : []),
  ];
  const dbs = [...new Set([...lacking.map((t) => t.db), ...hidden])];
  return {
    id,
    title,
    status: 'fail',
    detail: `${s.account} has ${problems.join('; ')}`,
    fix: dbs.map((db) => `GRANT SELECT ON ${quoteIdent(db)}.* TO ${quoteAccount(s.account)};`).join('\n'),
  };
}

/** Every included table needs a key to address its rows on the target: its PRIMARY KEY or `source.keys`. */
export function tableKeysCheck(tables: readonly SourceTable[], source: SourceConfig, fullRow: (name: string) => boolean = () => false): PreflightCheck {
  const id = 'source.table-keys';
  const title = 'Included tables have keys';
  const problems: string[] = [];
  const fixes: string[] = [];
  const matchedByRow: string[] = [];
  for (const t of tables) {
    const name = qualifiedName(t);
    const configured = source.keys[name];
    if (configured) {
      const unknown = configured.filter((c) => !t.columns.includes(c));
      if (unknown.length > 0) {
        problems.push(`${name}: source.keys names column${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')}, which the table does not have (it has ${t.columns.join(', ')})`);
        fixes.push(`In the pipeline file, source.keys: { "${name}": [${t.primaryKey?.join(', ') ?? (t.uniqueNotNull[0]?.join(', ') || '<columns that identify a row>')}] }`);
      }
      continue;
    }
    if (t.primaryKey) continue;
    if (fullRow(name)) {
      matchedByRow.push(name);
      continue;
    }
    const unique = t.uniqueNotNull[0];
    problems.push(`${name} has no PRIMARY KEY${unique ? ` (its UNIQUE NOT NULL index on ${unique.join(', ')} can be one)` : ''}`);
    if (unique) {
      fixes.push(`ALTER TABLE ${quoteIdent(t.db)}.${quoteIdent(t.table)} ADD PRIMARY KEY (${unique.map(quoteIdent).join(', ')});`);
      fixes.push(`  -- or, without changing the table, in the pipeline file: source.keys: { "${name}": [${unique.join(', ')}] }`);
    } else {
      fixes.push(`-- ${name}: give it a primary key, e.g.`);
      fixes.push(`ALTER TABLE ${quoteIdent(t.db)}.${quoteIdent(t.table)} ADD COLUMN ${quoteIdent('id')} BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY FIRST;`);
      fixes.push(`  -- or name columns that identify a row, in the pipeline file: source.keys: { "${name}": [col1, col2] }`);
      fixes.push(`  -- or match its rows by all their columns, as native replication does: keyless: full-row (or tables: { "${name}": { keyless: full-row } })`);
    }
  }
  const included = new Set(tables.map(qualifiedName));
  const stray = Object.keys(source.keys).filter((k) => !included.has(k));
  if (problems.length === 0) {
    const extra = stray.length > 0 ? ` (source.keys entries for tables not included are unused: ${stray.join(', ')})` : '';
    const byRow = matchedByRow.length > 0 ? `; without one, matched by all columns (keyless: full-row): ${matchedByRow.join(', ')}` : '';
    return { id, title, status: stray.length > 0 ? 'warn' : 'ok', detail: `every included table has a primary key or a configured key${byRow}${extra}` };
  }
  return { id, title, status: 'fail', detail: problems.join('\n'), fix: fixes.join('\n') };
}

export interface BinlogFile {
  readonly name: string;
  readonly size: number;
}

export async function listBinlogFiles(conn: Connection): Promise<BinlogFile[]> {
  return (await rows(conn, 'SHOW BINARY LOGS')).map((r) => ({ name: String(r.Log_name), size: Number(r.File_size) }));
}

/**
 * The position the pipeline would resume from (its checkpoint, else an explicit `start: {file, position}`)
 * must still be on the server, or reading fails with error 1236.
 */
export function startPositionCheck(
  files: readonly BinlogFile[],
  position: BinlogPosition,
  origin: 'checkpoint' | 'start',
): PreflightCheck {
  const id = 'source.start-position';
  const title = 'Start position on the source';
  const where = origin === 'checkpoint' ? `the checkpoint ${formatPosition(position)}` : `source.start ${formatPosition(position)}`;
  const oldest = files[0];
  const newest = files[files.length - 1];
  const file = files.find((f) => f.name === position.file);
  if (file && position.pos <= file.size) {
    return { id, title, status: 'ok', detail: `${where} is on the server (${file.name}: ${file.size} bytes)` };
  }
  const why = file
    ? `${position.file} is only ${file.size} bytes long, so position ${position.pos} is past its end`
    : oldest
      ? `${position.file} is not among the source's binlogs (${oldest.name} … ${newest!.name}): it was purged (expire_logs_days / binlog_expire_logs_seconds, PURGE BINARY LOGS) or never existed`
      : 'the source lists no binlog files';
  const from = oldest ? `${oldest.name}:4` : 'FILE:4';
  return {
    id,
    title,
    status: 'fail',
    detail: `${where} cannot be read: ${why}. The source would answer error 1236 (could not find first log file / impossible position); the changes in between are lost to this pipeline.`,
    fix:
      origin === 'checkpoint'
        ? [
            `Re-copy the tables from the source (snapshot), then restart from a position that exists:`,
            `  binlog-sync run <pipeline.yaml> --reset-to ${from}`,
          ].join('\n')
        : `In the pipeline file: start: earliest   (or start: { file: ${oldest?.name ?? 'FILE'}, position: 4 })`,
  };
}
