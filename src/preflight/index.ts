export { runPreflight, type PreflightOptions } from './run.js';
export { formatPreflightReport, assertPreflightPassed, type PreflightCheck, type PreflightReport, type CheckStatus } from './report.js';
