// The write workload lives in src/local (the `binlog-sync demo` command writes it too); tests import it here.
export {
  createWorkloadSchema,
  runWorkload,
  WORKLOAD_TABLES,
  type WorkloadCounts,
  type WorkloadOptions,
} from '../../src/local/workload.js';
