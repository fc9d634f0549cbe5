/** `rootspan` CLI as a library: run it in-process, or reuse its report shapes. */
export { main, type Io } from './main.js';
export { parseArgs, USAGE, UsageError, type Args, type AnalyzeArgs } from './args.js';
export { humanReport, toJsonReport, toJsonIncident, type JsonReport, type JsonIncident, type Summary } from './report.js';
export { decodersFor, idleCores } from './cores.js';
