/** @module Runs the store contract suite on the SQLite store (real database files). */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { ALL_SCOPE, matches } from '../../src/core/filter.js';
import { prepareBatch } from '../../src/core/prepare.js';
import type { EventStore } from '../../src/core/store.js';
import { DemoGenerator } from '../../src/demo/generator.js';
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

describe('sqlite store: schema upgrade', () => {
  it('upgrades a version 1 log (secondary indexes) to posting lists, keeping ids and answers', async () => {
    const dir = tempDir('herald-store-v1-');
    const path = join(dir, 'herald.db');
    try {
      // Build a version 2 log, then turn it back into version 1: its indexes and no posting rows.
      const events = prepareBatch(new DemoGenerator(5).batch(500), { location: 'none' });
      let store = new SqliteStore({ path });
      const stored = await store.append(events);
      await store.close();
      const db = new Database(path);
      db.exec(`DELETE FROM postings;
        CREATE INDEX events_type ON events (type, id);
        CREATE INDEX events_username ON events (username, id) WHERE username != '';
        PRAGMA user_version = 1;`);
      db.close();

      store = new SqliteStore({ path });
      const check = new Database(path, { readonly: true });
      expect(check.pragma('user_version', { simple: true })).toBe(2);
      expect(
        check.prepare(`SELECT count(*) AS n FROM sqlite_master WHERE type = 'index' AND name LIKE 'events_%'`).get(),
      ).toEqual({ n: 0 });
      check.close();
      for (const filter of [
        { scope: ALL_SCOPE, types: ['lifecycle' as const] },
        { scope: ALL_SCOPE, usernames: ['admin'] },
        { scope: ALL_SCOPE, level: { audit: true as const } },
      ]) {
        const want = stored.filter((e) => matches(e.fields, filter)).map((e) => e.id);
        expect(want.length).toBeGreaterThan(0);
        expect((await store.page({ filter, limit: 1000 })).map((e) => e.id)).toEqual(want.reverse());
      }
      const [next] = await store.append(events.slice(0, 1));
      expect(next?.id).toBe(stored.length + 1);
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
