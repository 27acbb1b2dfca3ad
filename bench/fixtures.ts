/** @module Benchmark fixtures: large SQLite event stores built once into .bench-data/ and reused across runs. */
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type PreparedEvent, prepareBatch } from '../src/core/prepare.js';
import { DemoGenerator } from '../src/demo/generator.js';
import { SqliteStore } from '../src/stores/sqlite/store.js';

export const BENCH_DIR = join(process.cwd(), '.bench-data');

/** A realistic pool of prepared events (demo traffic), reused cyclically to fill big stores quickly. */
export function preparedPool(n: number, seed = 1): PreparedEvent[] {
  return prepareBatch(new DemoGenerator(seed).batch(n), { location: 'none' });
}

/**
 * A store of `count` events drawn cyclically from `pool()`, built once (synchronous=off while building, then
 * checkpointed) as .bench-data/<name>-<count>.db so later runs reuse it. Returns the path; open it with SqliteStore.
 */
export async function buildBenchStore(
  name: string,
  count: number,
  pool: () => PreparedEvent[],
  log: (s: string) => void = () => {},
): Promise<string> {
  mkdirSync(BENCH_DIR, { recursive: true });
  const path = join(BENCH_DIR, `${name}-${count}.db`);
  if (existsSync(path)) return path;
  const tmp = `${path}.building`;
  for (const ext of ['', '-wal', '-shm']) rmSync(`${tmp}${ext}`, { force: true });
  const store = new SqliteStore({ path: tmp, synchronous: 'off' });
  const events = pool();
  const started = Date.now();
  for (let done = 0; done < count; ) {
    const n = Math.min(10_000, count - done);
    const batch: PreparedEvent[] = new Array(n);
    for (let i = 0; i < n; i++) batch[i] = events[(done + i) % events.length] as PreparedEvent;
    await store.append(batch);
    done += n;
    if (done % 500_000 === 0) {
      log(`  built ${done.toLocaleString()} events (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    }
  }
  store.db.pragma('wal_checkpoint(TRUNCATE)');
  await store.close();
  renameSync(tmp, path);
  for (const ext of ['-wal', '-shm']) rmSync(`${tmp}${ext}`, { force: true });
  return path;
}

/** A store of demo traffic (all six types). */
export function benchStorePath(count: number, log?: (s: string) => void): Promise<string> {
  return buildBenchStore('events', count, () => preparedPool(50_000), log);
}
