/** @module The store contract suite: every EventStore implementation must pass it (run per dialect). */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ALL_SCOPE, type EventFilter } from '../../src/core/filter.js';
import { type PreparedEvent, prepareBatch } from '../../src/core/prepare.js';
import type { EventStore } from '../../src/core/store.js';
import { SAMPLES } from '../support/herald.js';

export interface StoreHarness {
  /** a fresh, empty store */
  open(): Promise<EventStore>;
  /** close and reopen the same store (restart durability) */
  reopen(store: EventStore): Promise<EventStore>;
  destroy(store: EventStore): Promise<void>;
}

const opts = { location: 'none' };

function prep(raw: unknown): PreparedEvent[] {
  return prepareBatch(raw, opts);
}

function lifecycle(project: string, action = 'instance-started', username = 'alice'): unknown {
  return {
    type: 'lifecycle',
    project,
    metadata: {
      action,
      source: `/1.0/instances/c1${project === 'default' ? '' : `?project=${project}`}`,
      requestor: { username, protocol: 'tls', address: '10.0.0.1' },
      name: 'c1',
      project,
    },
  };
}

const all: EventFilter = { scope: ALL_SCOPE };

export function storeContract(name: string, harness: StoreHarness): void {
  describe(`store contract: ${name}`, () => {
    let store: EventStore;
    beforeEach(async () => {
      store = await harness.open();
    });
    afterEach(async () => {
      await harness.destroy(store);
    });

    it('assigns strictly increasing ids across every type, in append order', async () => {
      const a = await store.append(prep(Object.values(SAMPLES)));
      const b = await store.append(prep([SAMPLES.logging, SAMPLES.maas]));
      const ids = [...a, ...b].map((e) => e.id);
      expect(ids).toEqual([...ids].sort((x, y) => x - y));
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids[0]).toBe(1);
      expect(await store.headId()).toBe(ids[ids.length - 1]);
    });

    it('returns the exact canonical JSON with the id appended', async () => {
      const [p] = prep(SAMPLES.lifecycle);
      const [s] = await store.append([p as PreparedEvent]);
      const [read] = await store.page({ filter: all, limit: 1 });
      expect(read?.json).toBe(s?.json);
      const parsed = JSON.parse(read?.json as string);
      expect(Object.keys(parsed)).toEqual(['type', 'timestamp', 'metadata', 'location', 'project', 'id']);
      expect(parsed.id).toBe(s?.id);
    });

    it('keeps ids and data across a restart, and never reuses an id after pruning', async () => {
      await store.append(prep([SAMPLES.logging, SAMPLES.logging, SAMPLES.logging]));
      store = await harness.reopen(store);
      expect(await store.headId()).toBe(3);
      expect(await store.count()).toBe(3);
      expect(await store.prune({ maxCount: 1 }, Date.now())).toBe(2);
      expect(await store.prunedThrough()).toBe(2);
      store = await harness.reopen(store);
      const [next] = await store.append(prep(SAMPLES.logging));
      expect(next?.id).toBe(4);
      expect(await store.prunedThrough()).toBe(2);
    });

    it('pages newest first by keyset, with before and after windows', async () => {
      await store.append(prep(Array.from({ length: 25 }, () => SAMPLES.logging)));
      const first = await store.page({ filter: all, limit: 10 });
      expect(first.map((e) => e.id)).toEqual([25, 24, 23, 22, 21, 20, 19, 18, 17, 16]);
      const second = await store.page({ filter: all, before: 16, limit: 10 });
      expect(second.map((e) => e.id)).toEqual([15, 14, 13, 12, 11, 10, 9, 8, 7, 6]);
      const after = await store.page({ filter: all, after: 3, limit: 4 });
      expect(after.map((e) => e.id)).toEqual([7, 6, 5, 4]);
    });

    it('reads ascending after a cursor, bounded by an upper id', async () => {
      await store.append(prep(Array.from({ length: 10 }, () => SAMPLES.logging)));
      expect((await store.readAfter(2, 3)).map((e) => e.id)).toEqual([3, 4, 5]);
      expect((await store.readAfter(7, 100, undefined, 9)).map((e) => e.id)).toEqual([8, 9]);
    });

    it('applies every filter key the same way as the live interpreter', async () => {
      await store.append(
        prep([
          lifecycle('default'),
          lifecycle('web', 'instance-stopped', 'bob'),
          SAMPLES.logging,
          { ...SAMPLES.logging, metadata: { ...SAMPLES.logging.metadata, level: 'debug', message: 'noisy thing' } },
          SAMPLES.security,
          { ...SAMPLES.security, metadata: { ...SAMPLES.security.metadata, name: 'authz_fail:can_edit:/1.0/x' } },
          SAMPLES.maas,
          { ...SAMPLES.maas, metadata: { ...SAMPLES.maas.metadata, event_type: 'NODE_CHANGED_STATUS' } },
          { ...SAMPLES.ovn, location: 'member2' },
        ]),
      );
      const ids = async (filter: Partial<EventFilter>) =>
        (await store.readAfter(0, 100, { scope: ALL_SCOPE, ...filter })).map((e) => e.id);
      expect(await ids({ types: ['lifecycle'] })).toEqual([1, 2]);
      expect(await ids({ scope: { kind: 'project', project: 'web' } })).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
      expect(await ids({ scope: { kind: 'project', project: 'default' }, types: ['lifecycle'] })).toEqual([1]);
      expect(await ids({ locations: ['member2'] })).toEqual([9]);
      expect(await ids({ actions: ['instance-stopped'] })).toEqual([2]);
      expect(await ids({ actions: ['authz_fail'] })).toEqual([6]);
      expect(await ids({ actions: ['authn_login_fail:tls'] })).toEqual([5]);
      expect(await ids({ actions: ['authn'] })).toEqual([]);
      expect(await ids({ level: { audit: true } })).toEqual([1, 2, 5, 6, 7]);
      expect(await ids({ level: { min: 30 } })).toEqual([5, 6]);
      expect(await ids({ level: { min: 20, excludeAudit: true } })).toEqual([3, 9]);
      expect(await ids({ level: { min: 10, excludeAudit: true } })).toEqual([3, 4, 8, 9]);
      expect(await ids({ usernames: ['bob'] })).toEqual([2]);
      expect(await ids({ usernames: ['admin'] })).toEqual([7, 8]);
      expect(await ids({ nodes: ['e86c7h'] })).toEqual([7, 8]);
      expect(await ids({ hostnames: ['valued-moth', 'c1'] })).toEqual([1, 2, 7, 8]);
      expect(await ids({ q: 'noisy' })).toEqual([4]);
      expect(await ids({ types: [] })).toEqual([]);
      const future = Date.now() + 3_600_000;
      expect(await ids({ sinceMs: future })).toEqual([]);
      expect(await ids({ untilMs: future })).toHaveLength(9);
    });

    it('filters MAAS node attributes recorded on the event', async () => {
      await store.append(prep([SAMPLES.maas, { ...SAMPLES.maas, metadata: { ...SAMPLES.maas.metadata, zone: 'z2' } }]));
      const page = (nodes: Parameters<EventStore['page']>[1]) =>
        store.page({ filter: all, limit: 10 }, nodes).then((r) => r.map((e) => e.id));
      expect(await page({ zone: 'z2' })).toEqual([2]);
      expect(await page({ macs: ['52:54:00:aa:bb:cc'] })).toEqual([2, 1]);
      expect(await page({ macs: ['52:54:00:aa:bb:cd'] })).toEqual([]);
      expect(await page({ pool: 'default', zone: 'default' })).toEqual([1]);
    });

    it('keeps durable state for cursors and configuration', async () => {
      await store.setState('forwarder.a.cursor', '42');
      await store.setState('config.x', '1');
      await store.setState('config.y', '2');
      store = await harness.reopen(store);
      expect(await store.getState('forwarder.a.cursor')).toBe('42');
      expect(await store.listState('config.')).toEqual([
        ['config.x', '1'],
        ['config.y', '2'],
      ]);
      await store.setState('config.x', undefined);
      expect(await store.getState('config.x')).toBeUndefined();
    });

    it('prunes by age as a prefix of the log', async () => {
      const old = { ...SAMPLES.logging, timestamp: '2020-01-01T00:00:00Z' };
      await store.append(prep([old, old, SAMPLES.logging, old]));
      expect(await store.prune({ maxAgeMs: 86_400_000 }, Date.now())).toBe(2);
      // The old event after a newer one stays: retention removes a prefix so "pruned through" is exact.
      expect((await store.readAfter(0, 10)).map((e) => e.id)).toEqual([3, 4]);
      expect(await store.prunedThrough()).toBe(2);
    });
  });
}
