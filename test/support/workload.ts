// The write workload lives in src/local (the `binlog-sync demo` command writes it too); tests import it here.
import { createWorkloadSchema } from '../../src/local/workload.js';
import { startServerPair, type ServerPair } from './servers.js';

export { createWorkloadSchema, runWorkload, WORKLOAD_TABLES, type WorkloadCounts, type WorkloadOptions } from '../../src/local/workload.js';

/** A source/target pair with the workload tables created in `db` on both sides. */
export async function startPairWithWorkloadSchema(db: string): Promise<ServerPair> {
  const servers = await startServerPair();
  await createWorkloadSchemaOnPair(servers, db);
  return servers;
}

/** The workload tables in `db` on both sides of a running pair. */
export async function createWorkloadSchemaOnPair(servers: ServerPair, db: string): Promise<void> {
  for (const s of [servers.source, servers.target]) {
    const c = await s.connect();
    try {
      await createWorkloadSchema(c, db);
    } finally {
      await c.end();
    }
  }
}
