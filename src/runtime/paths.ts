/** @module Where a herald data directory keeps things, shared by the server and the CLI clients. */
import { join, resolve } from 'node:path';

export function dataDir(explicit?: string): string {
  return resolve(explicit ?? process.env.HERALD_DIR ?? 'herald-data');
}

export function paths(dir: string) {
  return {
    dir,
    database: join(dir, 'herald.db'),
    unixSocket: join(dir, 'unix.socket'),
    config: join(dir, 'herald.json'),
  };
}
