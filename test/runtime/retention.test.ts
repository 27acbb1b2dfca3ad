/** @module Retention runs in the background of a real server: it prunes a prefix, ids go on, history says what is gone. */
import { afterAll, describe, expect, it } from 'vitest';
import { SAMPLES, startTestHerald, type TestHerald } from '../support/herald.js';

let t: TestHerald | undefined;
afterAll(async () => {
  await t?.cleanup();
});

async function until(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('background retention', () => {
  it('keeps at most maxCount events, oldest pruned first, while publishing goes on', async () => {
    t = await startTestHerald({ retention: { maxCount: 5 }, retentionIntervalMs: 20 });
    const client = t.client;
    for (let i = 0; i < 4; i++)
      await client.call(
        'POST',
        '/1.0/events',
        Array.from({ length: 5 }, () => SAMPLES.logging),
      );
    const store = t.herald.store;
    await until(async () => (await store.count()) <= 5);
    const page = await client.call<{ events: Array<{ id: number }> }>('GET', '/1.0/events/history?limit=100');
    expect(page.events.map((e) => e.id)).toEqual([20, 19, 18, 17, 16]);
    expect(await store.prunedThrough()).toBe(15);
    const next = await client.call<{ ids: number[] }>('POST', '/1.0/events', SAMPLES.lifecycle);
    expect(next.ids).toEqual([21]);
  });
});
