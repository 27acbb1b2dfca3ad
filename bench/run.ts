/**
 * @module `npm run bench`: every benchmark in one run, each figure beside its ceiling measured in the same run.
 * Prints markdown tables and writes them to bench/results.md. `npm run bench -- ingest history` runs a subset.
 */
import { writeFileSync } from 'node:fs';
import { type BenchTable, renderTable } from './harness.js';

type Suite = () => Promise<BenchTable>;

const SUITES: Record<string, Suite> = {
  ingest: async () => (await import('./ingest.js')).runIngestBench(),
  history: async () => (await import('./history.js')).runHistoryBench(),
  live: async () => {
    const m = await import('./live.js');
    return m.liveTable(await m.runLiveBench());
  },
  maas: async () => (await import('./maas.js')).runMaasBench(),
  loki: async () => (await import('./loki.js')).runLokiBench(),
  syslog: async () => (await import('./syslog.js')).runSyslogBench(),
};

const wanted = process.argv.slice(2).filter((a) => a !== '--');
const names = wanted.length > 0 ? wanted : Object.keys(SUITES);
const out: string[] = [
  `Measured ${new Date().toISOString()} on ${(await import('node:os')).cpus().length} cores, Node ${process.version}.`,
  '',
];
for (const name of names) {
  const suite = SUITES[name];
  if (!suite) {
    process.stderr.write(`unknown benchmark "${name}" (have: ${Object.keys(SUITES).join(', ')})\n`);
    process.exit(2);
  }
  process.stderr.write(`running ${name} ...\n`);
  const table = renderTable(await suite());
  process.stdout.write(`${table}\n`);
  out.push(table);
}
writeFileSync(new URL('./results.md', import.meta.url), `${out.join('\n')}\n`);
