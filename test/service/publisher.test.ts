/** @module The publish path over a real SQLite store: pipelined transactions, id order, and a failing group. */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { PreparedEvent } from '../../src/core/prepare.js';
import type { EventStore, StoredEvent } from '../../src/core/store.js';
import { InProcessFabric } from '../../src/fabric/in-process/fabric.js';
import { Publisher } from '../../src/service/publisher.js';
import { SqliteStore } from '../../src/stores/sqlite/store.js';
import { SAMPLES, tempDir } from '../support/herald.js';

const tick = () => new Promise((r) => setImmediate(r));
const opened: Array<{ store: EventStore; dir: string }> = [];
afterAll(async () => {
  for (const o of opened) {
    await o.store.close();
    rmSync(o.dir, { recursive: true, force: true });
  }
});

/**
 * A real store, watched: how many appends are in flight at once, and which appends fail. A batch holding an event
 * whose message is `poison` fails as a full disk would, so the publisher's retry path runs against real commits.
 */
function rig() {
  const dir = tempDir('herald-publisher-');
  const real = new SqliteStore({ path: join(dir, 'herald.db') });
  opened.push({ store: real, dir });
  const seen = { inFlight: 0, maxInFlight: 0, appends: [] as number[] };
  const store = Object.create(real) as SqliteStore;
  store.append = async (events: readonly PreparedEvent[]): Promise<StoredEvent[]> => {
    seen.appends.push(events.length);
    seen.inFlight++;
    seen.maxInFlight = Math.max(seen.maxInFlight, seen.inFlight);
    try {
      if (events.some((e) => e.body.includes('"poison"'))) throw new Error('disk full');
      return await real.append(events);
    } finally {
      seen.inFlight--;
    }
  };
  const fabric = new InProcessFabric();
  const fanned: number[] = [];
  fabric.subscribe((events) => {
    for (const e of events) fanned.push(e.id);
  });
  const publisher = new Publisher(store, fabric, { location: 'none' });
  return { publisher, seen, fanned };
}

const many = (n: number, message = 'm') =>
  Array.from({ length: n }, () => ({ ...SAMPLES.logging, metadata: { ...SAMPLES.logging.metadata, message } }));
const idsOf = (stored: StoredEvent[]) => stored.map((e) => e.id);

describe('Publisher', () => {
  it('starts a second transaction beside the one being written when a large request waits, in id order', async () => {
    const { publisher, seen, fanned } = rig();
    const first = publisher.publishRaw(many(600));
    await tick(); // the first transaction is now with the writer
    const second = publisher.publishRaw(many(600));
    const third = publisher.publishRaw(many(600));
    const acks = await Promise.all([first, second, third]);
    expect(seen.maxInFlight).toBe(2);
    const all = acks.flatMap(idsOf);
    expect(all).toEqual(all.map((_, i) => (all[0] as number) + i));
    expect(fanned).toEqual(all);
  });

  it('waits for the commit and groups small requests rather than starting a second transaction', async () => {
    const { publisher, seen } = rig();
    const first = publisher.publishRaw(many(600));
    await tick();
    const small = Array.from({ length: 20 }, () => publisher.publishRaw(SAMPLES.logging));
    await Promise.all([first, ...small]);
    expect(seen.maxInFlight).toBe(1);
    expect(seen.appends).toEqual([600, 20]);
  });

  it('retries a failed group request by request after what was in flight, fanning out in id order', async () => {
    const { publisher, seen, fanned } = rig();
    const a = publisher.publishRaw(many(600));
    await tick();
    const b = publisher.publishRaw(many(300, 'poison'));
    const c = publisher.publishRaw(many(300));
    const d = publisher.publishRaw(many(600)); // waits: two transactions are in flight
    await expect(b).rejects.toThrow('disk full');
    const [ra, rc, rd] = await Promise.all([a, c, d]);
    // a; b and c as one group once 600 events waited (it fails); d, started when a was acknowledged and before the
    // failure was seen; then b alone (fails again) and c alone.
    expect(seen.appends).toEqual([600, 600, 600, 300, 300]);
    const all = [ra, rd, rc].flatMap((r) => idsOf(r as StoredEvent[]));
    expect(all).toEqual(all.map((_, i) => (all[0] as number) + i));
    expect(fanned).toEqual(all);
  });
});
