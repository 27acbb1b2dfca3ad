/** @module The store contract suite: every EventStore implementation must pass it (run per dialect). */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ALL_SCOPE, type EventFilter, matches } from '../../src/core/filter.js';
import { type PreparedEvent, prepareBatch } from '../../src/core/prepare.js';
import type { EventStore, StoredEvent } from '../../src/core/store.js';
import { DemoGenerator } from '../../src/demo/generator.js';
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

/** A small deterministic PRNG, so a failing query can be reproduced from its seed. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

/** A random filter over the values that occur in `events`: one to three keys, each with one to three values. */
function randomFilter(events: readonly StoredEvent[], rand: () => number): EventFilter {
  const pick = <T>(values: readonly T[]): T => values[Math.floor(rand() * values.length)] as T;
  const some = <T>(values: readonly T[]): T[] => [
    ...new Set(Array.from({ length: 1 + Math.floor(rand() * 3) }, () => pick(values))),
  ];
  const f = events.map((e) => e.fields);
  const distinct = <T>(get: (x: (typeof f)[number]) => T | null | ''): T[] =>
    [...new Set(f.map(get))].filter((v): v is T => v !== null && v !== '');
  const securityPrefixes = distinct((x) => (x.type === 'security' ? x.action.split(':')[0] : null));
  const dims: Array<(filter: Record<string, unknown>) => void> = [
    (o) => (o.types = some(distinct((x) => x.type))),
    (o) => (o.types = [pick(distinct((x) => x.type))]),
    (o) => (o.scope = { kind: 'project', project: pick(distinct((x) => x.project)) }),
    (o) => (o.locations = some(distinct((x) => x.location))),
    (o) => (o.actions = some([...distinct((x) => x.action), ...securityPrefixes])),
    (o) => (o.level = rand() < 0.3 ? { audit: true } : { min: pick([10, 20, 30, 40]), excludeAudit: rand() < 0.3 }),
    (o) => (o.usernames = some(distinct((x) => x.username))),
    (o) => (o.nodes = some(distinct((x) => x.node))),
    (o) => (o.hostnames = some(distinct((x) => x.hostname))),
    (o) => (o.sinceMs = pick(f).timeMs),
    (o) => (o.q = pick(['instance', 'error', 'deploy', 'zzz-none'])),
  ];
  const out: Record<string, unknown> = { scope: ALL_SCOPE };
  for (let k = 1 + Math.floor(rand() * 3); k > 0; k--) pick(dims)(out);
  return out as unknown as EventFilter;
}

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

    it('answers random filters and cursors exactly as the live interpreter over every event', async () => {
      const gen = new DemoGenerator(7);
      const rand = rng(11);
      const stored: StoredEvent[] = [];
      // Transactions of very different sizes, so a key's ids are spread over many small posting rows, or a large
      // transaction lists one key's ids in several rows.
      while (stored.length < 3000) stored.push(...(await store.append(prep(gen.batch(1 + Math.floor(rand() * 400))))));
      stored.push(...(await store.append(prep(gen.batch(2500)))));
      while (stored.length < 6000) stored.push(...(await store.append(prep(gen.batch(1 + Math.floor(rand() * 60))))));
      await store.prune({ maxCount: stored.length - 150 }, Date.now());
      const live = stored.slice(150);
      const head = (live[live.length - 1] as StoredEvent).id;
      for (let q = 0; q < 300; q++) {
        const filter = randomFilter(live, rand);
        const want = live.filter((e) => matches(e.fields, filter)).map((e) => e.id);
        const limit = 1 + Math.floor(rand() * 120);
        const cursor = 100 + Math.floor(rand() * (head - 50));
        const context = JSON.stringify({ q, filter, limit, cursor });
        const newest = await store.page({ filter, limit });
        expect(
          newest.map((e) => e.id),
          context,
        ).toEqual(want.slice(-limit).reverse());
        // A JSON-only read is the same page, byte for byte.
        const lean = await store.page({ filter, limit, read: 'json' });
        expect(
          lean.map((e) => e.json),
          context,
        ).toEqual(newest.map((e) => e.json));
        const before = await store.page({ filter, before: cursor, limit });
        expect(
          before.map((e) => e.id),
          context,
        ).toEqual(
          want
            .filter((id) => id < cursor)
            .slice(-limit)
            .reverse(),
        );
        const after = await store.page({ filter, after: cursor, limit });
        expect(
          after.map((e) => e.id),
          context,
        ).toEqual(
          want
            .filter((id) => id > cursor)
            .slice(0, limit)
            .reverse(),
        );
        const until = cursor + Math.floor(rand() * 500);
        const read = await store.readAfter(cursor, limit, filter, until);
        expect(
          read.map((e) => e.id),
          context,
        ).toEqual(want.filter((id) => id > cursor && id <= until).slice(0, limit));
        for (const e of read) expect(e.json).toBe((live.find((x) => x.id === e.id) as StoredEvent).json);
      }
    });

    it('stores every fact and body exactly, whatever the characters (non-ASCII, astral, quotes, empty, null)', async () => {
      const odd = ['Zoë', 'ノード-1', 'host \u{1F680} "quoted" \\ back', '', 'Ωmega\u2028line'];
      const raw = odd.flatMap((s, i) => [
        {
          type: 'maas',
          project: s,
          location: s || 'none',
          metadata: {
            event_type: 'NODE_POWERED_ON',
            level: 'AUDIT',
            node: i % 2 ? null : `node-${s}`,
            hostname: s,
            username: s,
            description: `${s} powered on`,
            zone: i % 2 ? undefined : s,
            pool: s,
            domain: s,
            agent_name: s,
            mac_addresses: i % 2 ? [] : ['52:54:00:aa:bb:cc', '52:54:00:aa:bb:cd'],
          },
        },
        { ...(lifecycle('default', 'instance-started', s) as object), location: s || 'none' },
      ]);
      const written = prep(raw);
      const stored = await store.append(written);
      const read = await store.readAfter(0, 100);
      expect(read.map((e) => e.id)).toEqual(stored.map((e) => e.id));
      for (const [i, e] of read.entries()) {
        expect(e.json).toBe(stored[i]?.json);
        expect(e.fields).toEqual(written[i]?.fields);
      }
    });

    it('reads only the JSON when asked to, and says so if the facts are then used', async () => {
      await store.append(prep([SAMPLES.lifecycle, SAMPLES.maas]));
      const [maas, lifecycle] = await store.page({ filter: all, limit: 10, read: 'json' });
      expect(JSON.parse(maas?.json as string)).toMatchObject({ id: 2, type: 'maas' });
      expect(JSON.parse(lifecycle?.json as string)).toMatchObject({ id: 1, type: 'lifecycle' });
      expect(() => maas?.fields).toThrow(/read for its JSON only/);
      const [full] = await store.page({ filter: all, limit: 1 });
      expect(full?.fields.type).toBe('maas');
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
