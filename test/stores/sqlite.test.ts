/** @module Runs the store contract suite on the SQLite store (real database files). */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { EventStore } from '../../src/core/store.js';
import { SqliteStore } from '../../src/stores/sqlite/store.js';
import { tempDir } from '../support/herald.js';
import { storeContract } from './contract.js';

const files = new WeakMap<EventStore, string>();

storeContract('sqlite', {
  async open() {
    const path = join(tempDir('herald-store-'), 'herald.db');
    const s = new SqliteStore({ path });
    files.set(s, path);
    return s;
  },
  async reopen(store) {
    const path = files.get(store) as string;
    await store.close();
    const s = new SqliteStore({ path });
    files.set(s, path);
    return s;
  },
  async destroy(store) {
    await store.close();
    const path = files.get(store);
    if (path) rmSync(join(path, '..'), { recursive: true, force: true });
  },
});
