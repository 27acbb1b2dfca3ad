/**
 * @module Ingest benchmark: publish over the unix socket to a real `herald serve` child process (batches of 1,000, and
 * single-event POSTs), beside raw better-sqlite3 inserts (batched, and one durable row per transaction).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { DemoGenerator } from '../src/demo/generator.js';
import { BENCH_DIR } from './fixtures.js';
import { type BenchTable, fmt } from './harness.js';
import { load, postRequest } from './http-load.js';

// The compiled server run as `npm start` runs it, through the bin's node flags (`npm run bench` builds first).
const BIN = fileURLToPath(new URL('../bin/herald.js', import.meta.url));

function rawSqlite(batch: number, seconds: number, dir: string): number {
  const path = join(dir, `raw-${batch}.db`);
  rmSync(path, { force: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL)');
  const ins = db.prepare('INSERT INTO t (body) VALUES (?)');
  const body = JSON.stringify(new DemoGenerator(1).batch(1)[0]);
  const tx = db.transaction((n: number) => {
    for (let i = 0; i < n; i++) ins.run(body);
  });
  let rows = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    tx(batch);
    rows += batch;
  }
  const rate = rows / ((performance.now() - start) / 1000);
  db.close();
  rmSync(path, { force: true });
  return rate;
}

async function startServer(dir: string): Promise<ChildProcess> {
  const child = spawn(BIN, ['--data', dir, 'serve'], { stdio: 'ignore' });
  for (let i = 0; i < 200 && !existsSync(join(dir, 'unix.socket')); i++) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 300));
  return child;
}

export async function runIngestBench(seconds = 5): Promise<BenchTable> {
  const dir = join(BENCH_DIR, 'ingest');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(BENCH_DIR, { recursive: true });
  const rawBatch = rawSqlite(1000, seconds, BENCH_DIR);
  const rawSingle = rawSqlite(1, seconds, BENCH_DIR);

  const server = await startServer(dir);
  const socketPath = join(dir, 'unix.socket');
  try {
    const gen = new DemoGenerator(3);
    const batches = Array.from({ length: 20 }, () =>
      postRequest('/1.0/events', JSON.stringify(gen.batch(1000).slice(0, 1000))),
    );
    const singles = gen.batch(2000).map((e) => postRequest('/1.0/events', JSON.stringify(e)));
    await load(socketPath, batches, 2, 1); // warm-up
    const batchRate = (await load(socketPath, batches, 4, seconds)) * 1000;
    const singleRate = await load(socketPath, singles, 64, seconds);
    return {
      title: 'Ingest (publish over the unix socket to `herald serve`, durable on return)',
      rows: [
        {
          metric: 'batches of 1,000 events, events/s',
          value: fmt(batchRate),
          ceiling: `${fmt(rawBatch)} raw batched better-sqlite3 rows/s`,
          target: '≥ 100,000',
          ok: batchRate >= 100_000,
        },
        {
          metric: 'single-event POSTs, requests/s (64 connections)',
          value: fmt(singleRate),
          ceiling: `${fmt(rawSingle)} raw durable 1-row transactions/s`,
          target: '≥ 8,000',
          ok: singleRate >= 8_000,
        },
      ],
      notes: [
        'Server: a separate `herald serve` process, the compiled bin/herald.js as `npm start` runs it (SQLite, WAL, ' +
          'synchronous=FULL, group commit, up to two transactions in flight); client: this process, with a lean ' +
          'keep-alive HTTP client (bench/http-load.ts). ' +
          'Events are demo traffic (all six types), validated, listed in posting lists and stored.',
      ],
    };
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { renderTable } = await import('./harness.js');
  process.stdout.write(renderTable(await runIngestBench()));
}
