/**
 * `runPreflight`: connects to the source and the target with the pipeline's credentials and checks
 * everything that would otherwise fail later, mid-stream, with a worse message. Returns a report (data);
 * it throws only for programming errors. Every check that cannot run becomes a failed check saying why.
 */
import mysql, { type Connection } from 'mysql2/promise';
import { startSetting, type PipelineConfig } from '../config/schema.js';
import { describeError } from '../core/errors.js';
import type { BinlogPosition } from '../core/position.js';
import { parseGrants } from './grants.js';
import { makeReport, type PreflightCheck, type PreflightReport } from './report.js';
import {
  binlogSettingsChecks,
  includedTablesCheck,
  listBinlogFiles,
  listIncludedTables,
  readServerSettings,
  replicationPrivilegeCheck,
  selectPrivilegeCheck,
  serverIdCheck,
  startPositionCheck,
  tableKeysCheck,
  qualifiedName,
  type SourceTable,
} from './source-checks.js';
import { quoteAccount, rows, sqlErrorCode } from './sql.js';
import { targetForeignKeysCheck } from './foreign-keys-check.js';
import { targetKeysCheck } from './keys-check.js';
import { targetTablesCheck } from './target-checks.js';
import { allowPendingSchemaChanges } from './pending-ddl.js';
import { schemaChangesPolicy } from '../config/schema.js';
import { readTriggers, targetTriggersCheck } from './triggers.js';
import { mergedRoutesCheck, routingOf, tableSettingsCheck } from './routing.js';
import { RowTransforms } from '../core/row-transforms.js';

export interface PreflightOptions {
  /** The pipeline's saved position, if it has one: it is where `run` resumes, so it must still exist. */
  readonly checkpoint?: BinlogPosition;
  /** Per connection attempt; default 5000 ms. */
  readonly connectTimeoutMs?: number;
  /**
   * What the process will touch (Kafka mode splits the pipeline): `pipeline` (default) checks both
   * sides; `publisher` only the source (its position lives in Kafka, and a target outage must not stop
   * publishing); `sink-worker` the target, and its tables against the source's when the source answers
   * (a source outage must not stop draining the topic: then the comparison is a warning).
   */
  readonly role?: 'pipeline' | 'publisher' | 'sink-worker';
  /**
   * Tables parked in quarantine (`db.table`): their changes wait in the dead-letter table until
   * `quarantine retry`, so a target definition that cannot take them is a warning, not a refusal.
   */
  readonly parkedTables?: readonly string[];
}

interface Endpoint {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
}

async function connect(e: Endpoint, timeoutMs: number): Promise<Connection> {
  return mysql.createConnection({
    host: e.host,
    port: e.port,
    user: e.user,
    password: e.password,
    connectTimeout: timeoutMs,
    supportBigNumbers: true,
  });
}

function connectFailure(side: 'source' | 'target', e: Endpoint, err: unknown): PreflightCheck {
  const { code, errno } = sqlErrorCode(err);
  const where = `${e.user}@${e.host}:${e.port}`;
  let fix: string;
  if (code === 'ER_ACCESS_DENIED_ERROR' || errno === 1045) {
    fix = [
      `Check ${side}.user / ${side}.password (and the variables they come from). To create the user, as an admin on the ${side}:`,
      `CREATE USER ${quoteAccount(`${e.user}@%`)} IDENTIFIED BY '<password>';`,
      side === 'source'
        ? `GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT ON *.* TO ${quoteAccount(`${e.user}@%`)};`
        : `GRANT SELECT, INSERT, UPDATE, DELETE, CREATE ON *.* TO ${quoteAccount(`${e.user}@%`)};`,
    ].join('\n');
  } else if (code === 'ECONNREFUSED') {
    fix = `Nothing listens on ${e.host}:${e.port}: start the server, or correct ${side}.host / ${side}.port in the pipeline file.`;
  } else if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    fix = `The host name ${e.host} does not resolve: correct ${side}.host.`;
  } else if (code === 'ETIMEDOUT' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
    fix = `${e.host}:${e.port} does not answer: check ${side}.host / ${side}.port and any firewall between here and there.`;
  } else {
    fix = `Check ${side}.host, ${side}.port, ${side}.user and ${side}.password, and that the server accepts connections from here.`;
  }
  return {
    id: `${side}.connect`,
    title: `${side === 'source' ? 'Source' : 'Target'} reachable`,
    status: 'fail',
    detail: `cannot connect as ${where}: ${describeError(err)}`,
    fix,
  };
}

/** Runs one check; an unexpected error becomes that check's failure instead of ending the run. */
async function guarded(id: string, title: string, run: () => Promise<PreflightCheck | PreflightCheck[]>): Promise<PreflightCheck[]> {
  try {
    const r = await run();
    return Array.isArray(r) ? r : [r];
  } catch (err) {
    return [{ id, title, status: 'fail', detail: `the check could not run: ${describeError(err)}`, fix: 'Fix the error above (often a missing privilege) and check again.' }];
  }
}

export async function runPreflight(config: PipelineConfig, options: PreflightOptions = {}): Promise<PreflightReport> {
  const timeout = options.connectTimeoutMs ?? 5000;
  const role = options.role ?? 'pipeline';
  const checks: PreflightCheck[] = [];
  let tables: SourceTable[] = [];
  let source: Connection | undefined;
  let target: Connection | undefined;
  try {
    try {
      source = await connect(config.source, timeout);
    } catch (err) {
      const failure = connectFailure('source', config.source, err);
      checks.push(
        role === 'sink-worker'
          ? { ...failure, status: 'warn', detail: `${failure.detail}; this sink worker applies what is in Kafka without it, but the target tables were not compared with the source's` }
          : failure,
      );
    }
    if (source && role === 'sink-worker') {
      // Only the source's table definitions, for the target comparisons below: its binlog settings,
      // privileges and position are the publisher's checks.
      const src = source;
      checks.push(...(await guarded('source.tables', 'Included tables', async () => {
        tables = await listIncludedTables(src, config.source);
        return includedTablesCheck(tables, config.source);
      })));
    } else if (source) {
      const src = source;
      const settings = await readServerSettings(src).catch((err: unknown) => err as Error);
      if (settings instanceof Error) {
        checks.push({ id: 'source.connect', title: 'Source reachable', status: 'fail', detail: `connected, but cannot read the server's settings: ${describeError(settings)}`, fix: 'Check the source user and the server.' });
      } else {
        checks.push({ id: 'source.connect', title: 'Source reachable', status: 'ok', detail: `${settings.account} on ${config.source.host}:${config.source.port}, ${settings.version}` });
        checks.push(...binlogSettingsChecks(settings, config.source));
        const grantLines = await rows(src, 'SHOW GRANTS')
          .then((rs) => rs.map((r) => String(Object.values(r)[0])))
          .catch(() => null);
        const grants = grantLines ? parseGrants(grantLines) : null;
        if (grants) checks.push(replicationPrivilegeCheck(grants, settings));
        else checks.push({ id: 'source.replication-privileges', title: 'Source user replication privileges', status: 'warn', detail: 'SHOW GRANTS failed: privileges not checked' });
        checks.push(...(await guarded('source.server-id', 'Replica server id', () => serverIdCheck(src, settings, config.source.serverId))));
        const listed = await guarded('source.tables', 'Included tables', async () => {
          tables = await listIncludedTables(src, config.source);
          return includedTablesCheck(tables, config.source);
        });
        checks.push(...listed);
        if (grants) checks.push(selectPrivilegeCheck(grants, tables, config.source, settings));
        const transforms = new RowTransforms({ routes: config.routes, tables: config.tables, keyless: config.keyless });
        checks.push(tableKeysCheck(tables, config.source, (name) => transforms.keyless({ schema: name.slice(0, name.indexOf('.')), name: name.slice(name.indexOf('.') + 1) }) === 'full-row'));
        const start = startSetting(config.source);
        const resumeAt: { position: BinlogPosition; origin: 'checkpoint' | 'start' } | undefined = options.checkpoint
          ? { position: options.checkpoint, origin: 'checkpoint' }
          : typeof start === 'object' && 'file' in start
            ? { position: { file: start.file, pos: start.position }, origin: 'start' }
            : undefined;
        if (resumeAt && settings.logBin) {
          checks.push(
            ...(await guarded('source.start-position', 'Start position on the source', async () =>
              startPositionCheck(await listBinlogFiles(src), resumeAt.position, resumeAt.origin),
            )),
          );
        } else if (settings.logBin) {
          // Here start is earliest, latest or a GTID ({file, position} starts are checked above).
          const what = typeof start === 'string' ? `start: ${start}` : `start: ${JSON.stringify(start)}`;
          checks.push({ id: 'source.start-position', title: 'Start position on the source', status: 'ok', detail: `no checkpoint yet; ${what} is resolved when the pipeline starts` });
        }
      }
    }

    if (role !== 'publisher') {
      try {
        target = await connect(config.target, timeout);
        checks.push({ id: 'target.connect', title: 'Target reachable', status: 'ok', detail: `${config.target.user}@${config.target.host}:${config.target.port}` });
      } catch (err) {
        checks.push(connectFailure('target', config.target, err));
      }
    }
    // Target tables are the routed ones, with the columns the pipeline copies (routing.ts).
    const routing = routingOf(config);
    const merged = mergedRoutesCheck(tables, routing);
    if (merged) checks.push(merged);
    const settings = tableSettingsCheck(tables, config);
    if (settings) checks.push(settings);
    if (target && source && tables.length > 0) {
      const [tgt, src] = [target, source];
      checks.push(...(await guarded('target.tables', 'Target tables and columns', () => targetTablesCheck(tgt, src, tables, routing, new Set(options.parkedTables ?? [])))));
      checks.push(
        ...(await guarded('target.triggers', 'Target tables without triggers', async () =>
          targetTriggersCheck(await readTriggers(tgt, [...new Map(tables.map((t) => routing.target(t)).map((t) => [qualifiedName(t), t])).values()]), config.target.allowTriggers),
        )),
      );
      checks.push(...(await guarded('target.keys', 'Target keys match the source', () => targetKeysCheck(src, tgt, tables, config.source, routing))));
      checks.push(
        ...(await guarded('target.foreign-keys', 'Target foreign keys match the source', () => targetForeignKeysCheck(src, tgt, tables, config))),
      );
    }
  } finally {
    await Promise.all([source?.end().catch(() => undefined), target?.end().catch(() => undefined)]);
  }
  const resumingUnderApply = options.checkpoint !== undefined && schemaChangesPolicy(config) === 'apply';
  return makeReport(
    checks.map((c) => allowPendingSchemaChanges(c, resumingUnderApply)),
    tables.map(qualifiedName),
  );
}
