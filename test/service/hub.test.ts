/** @module The live hub on a real store and fabric: order, shared encoding, filters, bounded queues, resume, retention. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ALL_SCOPE, type EventFilter } from '../../src/core/filter.js';
import { type Identity, LOCAL_ADMIN } from '../../src/core/permissions.js';
import {
  CLOSE_CODES,
  type Frame,
  Hub,
  type HubOptions,
  type ListenerHandle,
  type ListenerSink,
  type ResumePoint,
} from '../../src/service/hub.js';
import { SAMPLES, startTestHerald, type TestHerald } from '../support/herald.js';

/** Only the events a test publishes: herald's own log records would otherwise arrive as `logging` events. */
const QUIET = { logEvents: false } as const;

/** An in-memory transport: records frames; `stall()` makes its buffer look full, as a socket nobody reads. */
class MemorySink implements ListenerSink {
  bufferedAmount = 0;
  readonly frames: Frame[] = [];
  closed: { code: number; reason: string } | undefined;
  private stalled = false;

  send(frame: Frame): void {
    this.frames.push(frame);
    if (this.stalled) this.bufferedAmount += frame.data.length;
  }
  close(code: number, reason: string): void {
    this.closed = { code, reason };
  }
  stall(bytes = Number.MAX_SAFE_INTEGER): void {
    this.stalled = true;
    this.bufferedAmount = bytes;
  }
  unstall(): void {
    this.stalled = false;
    this.bufferedAmount = 0;
  }
  ids(): number[] {
    return this.frames.map((f) => (JSON.parse(f.data.toString('utf8')) as { id: number }).id);
  }
}

const ALL: EventFilter = { scope: ALL_SCOPE };
const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
const until = async (cond: () => boolean, what: string, ms = 10_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

let t: TestHerald;
let hub: Hub;
beforeEach(async () => {
  t = await startTestHerald({ ...QUIET, listen: false });
});
afterEach(async () => {
  hub?.close();
  await t.cleanup();
});

function newHub(opts: HubOptions = {}): Hub {
  hub = new Hub({ store: t.herald.store, fabric: t.herald.fabric }, opts);
  return hub;
}

function attach(
  sink: MemorySink,
  filter: EventFilter = ALL,
  resume?: ResumePoint,
  identity: Identity = LOCAL_ADMIN,
): ListenerHandle {
  return hub.attach({ filter, identity, sink, resume });
}

const publish = (events: unknown[]) => t.herald.publisher.publishRaw(events);
const logs = (n: number, tag = 'm') =>
  Array.from({ length: n }, (_, i) => ({ type: 'logging', metadata: { message: `${tag}${i}`, level: 'info' } }));

describe('fan-out', () => {
  it('delivers every event once, in id order, one shared encoding per event', async () => {
    newHub();
    const a = new MemorySink();
    const b = new MemorySink();
    attach(a);
    attach(b);
    await publish(logs(7));
    await publish(logs(3));
    expect(a.ids()).toEqual(range(1, 10));
    expect(b.ids()).toEqual(range(1, 10));
    for (let i = 0; i < 10; i++) expect(a.frames[i]).toBe(b.frames[i]);
    const text = (a.frames[0] as Frame).data.toString('utf8');
    expect(text.endsWith('}\n')).toBe(true);
    expect(Object.keys(JSON.parse(text))).toEqual(['type', 'timestamp', 'metadata', 'location', 'id']);
    expect(hub.stats.deliveries).toBe(20);
  });

  it('applies the filter and the permission function to each listener', async () => {
    newHub();
    const lifecycleOnly = new MemorySink();
    attach(lifecycleOnly, { types: ['lifecycle'], scope: { kind: 'project', project: 'default' } });
    const restricted: Identity = {
      kind: 'restricted',
      username: 'bob',
      protocol: 'tls',
      address: '10.0.0.2',
      server: [],
      projects: { default: ['can_view_events'] },
    };
    const bob = new MemorySink();
    attach(bob, ALL, undefined, restricted);
    const web = { ...SAMPLES.lifecycle, project: 'web', metadata: { ...SAMPLES.lifecycle.metadata, project: 'web' } };
    // ids: 1 lifecycle/default, 2 lifecycle/web, 3 logging, 4 security, 5 maas (no project)
    await publish([SAMPLES.lifecycle, web, SAMPLES.logging, SAMPLES.security, SAMPLES.maas]);
    expect(lifecycleOnly.ids()).toEqual([1]);
    // bob sees the default project's lifecycle event, nothing privileged and nothing of no project (needs server rights)
    expect(bob.ids()).toEqual([1]);
  });

  it('queues behind a full transport and sends the queue in order when it drains', async () => {
    newHub({ highWaterBytes: 1000 });
    const s = new MemorySink();
    const h = attach(s);
    await publish(logs(2));
    s.stall(1000);
    await publish(logs(5));
    expect(s.ids()).toEqual([1, 2]);
    s.unstall();
    h.drained();
    expect(s.ids()).toEqual(range(1, 7));
    await publish(logs(1));
    expect(s.ids()).toEqual(range(1, 8));
  });

  it('closes a listener past its event bound with its last id, frees it, and leaves the others alone', async () => {
    newHub({ maxQueueEvents: 5 });
    const fast = new MemorySink();
    const slow = new MemorySink();
    attach(fast);
    const h = attach(slow);
    await publish(logs(3));
    slow.stall();
    await publish(logs(20));
    expect(slow.closed).toEqual({ code: CLOSE_CODES.SLOW_CONSUMER, reason: 'slow consumer: last id 3' });
    expect(h.lastId).toBe(3);
    expect(slow.ids()).toEqual([1, 2, 3]);
    expect(fast.ids()).toEqual(range(1, 23));
    expect(hub.size).toBe(1);
    expect(hub.stats.slowConsumers).toBe(1);
    await publish(logs(2));
    expect(slow.ids()).toEqual([1, 2, 3]);
    expect(fast.ids()).toEqual(range(1, 25));
  });

  it('bounds a queue by bytes as well', async () => {
    newHub({ maxQueueBytes: 4096 });
    const slow = new MemorySink();
    attach(slow);
    slow.stall();
    const big = { type: 'logging', metadata: { message: 'x'.repeat(1500), level: 'info' } };
    await publish([big, big]);
    expect(slow.closed).toBeUndefined();
    await publish([big]);
    // nothing was ever sent: the resume point is the id before the first one queued
    expect(slow.closed).toEqual({ code: CLOSE_CODES.SLOW_CONSUMER, reason: 'slow consumer: last id 0' });
  });

  it('closes every listener with 1001 when the hub closes', async () => {
    newHub();
    const s = new MemorySink();
    attach(s);
    hub.close();
    expect(s.closed?.code).toBe(CLOSE_CODES.GOING_AWAY);
    const late = new MemorySink();
    attach(late);
    expect(late.closed?.code).toBe(CLOSE_CODES.GOING_AWAY);
  });
});

describe('resume', () => {
  it('replays after the id, then goes live, with no gap and no duplicate while publishing continues', async () => {
    newHub({ replayChunk: 7 });
    await publish(logs(50));
    const sinks: Array<{ since: number; sink: MemorySink }> = [];
    let publishing = true;
    const publisher = (async () => {
      for (let i = 0; i < 60; i++) {
        // several requests in flight at once, so batches commit while listeners join and replay
        await Promise.all([publish(logs(1 + (i % 4))), publish(logs(2))]);
      }
      publishing = false;
    })();
    while (publishing) {
      const head = await t.herald.store.headId();
      const since = Math.floor(Math.random() * (head + 1));
      const sink = new MemorySink();
      attach(sink, ALL, { afterId: since });
      sinks.push({ since, sink });
      await new Promise((r) => setImmediate(r));
    }
    await publisher;
    const head = await t.herald.store.headId();
    await until(() => sinks.every(({ sink }) => sink.ids().at(-1) === head), 'every listener to reach the head');
    expect(sinks.length).toBeGreaterThan(5);
    for (const { since, sink } of sinks) expect(sink.ids()).toEqual(range(since + 1, head));
  });

  it('replays through the filter', async () => {
    newHub();
    await publish([SAMPLES.lifecycle, SAMPLES.logging, SAMPLES.lifecycle, SAMPLES.maas, SAMPLES.lifecycle]);
    const s = new MemorySink();
    attach(s, { types: ['lifecycle'], scope: ALL_SCOPE }, { afterId: 1 });
    await until(() => s.ids().length === 2, 'the replay');
    await publish([SAMPLES.logging, SAMPLES.lifecycle]);
    expect(s.ids()).toEqual([3, 5, 7]);
  });

  it('holds live events until the replay is done, bounded like any queue', async () => {
    newHub({ maxQueueEvents: 3 });
    await publish(logs(10));
    const s = new MemorySink();
    s.stall();
    const h = attach(s, ALL, { afterId: 4 });
    // replay waits for the transport; live events pile up in the queue meanwhile
    await new Promise((r) => setTimeout(r, 20));
    await publish(logs(4));
    expect(s.closed?.code).toBe(CLOSE_CODES.SLOW_CONSUMER);
    expect(s.closed?.reason).toBe(`slow consumer: last id ${h.lastId}`);
    expect(s.ids().at(-1) ?? 4).toBe(h.lastId);
  });

  it('starts after the newest id when the point is ahead of the log, dropping nothing newer', async () => {
    newHub();
    await publish(logs(3));
    const s = new MemorySink();
    attach(s, ALL, { afterId: 5 });
    await new Promise((r) => setTimeout(r, 10));
    await publish(logs(4));
    expect(s.ids()).toEqual([6, 7]);
  });

  it('says 410 Gone when the point is older than retention', async () => {
    newHub();
    await publish(logs(20));
    await t.herald.store.prune({ maxCount: 5 }, Date.now());
    expect(await t.herald.store.prunedThrough()).toBe(15);
    const old = new MemorySink();
    attach(old, ALL, { afterId: 3 });
    await until(() => old.closed !== undefined, 'the close');
    expect(old.closed).toEqual({
      code: CLOSE_CODES.GONE,
      reason: '410 Gone: since=3 is older than retention (oldest available id 16)',
    });
    expect(old.frames).toHaveLength(0);
    const ok = new MemorySink();
    attach(ok, ALL, { afterId: 15 });
    await until(() => ok.ids().length === 5, 'the replay');
    expect(ok.ids()).toEqual(range(16, 20));
    expect(ok.closed).toBeUndefined();
  });

  it('maps a time to the first event at or after it', async () => {
    newHub();
    const at = (s: string) => ({ type: 'logging', timestamp: s, metadata: { message: s, level: 'info' } });
    await publish([at('2026-01-01T00:00:00Z'), at('2026-01-01T00:10:00Z'), at('2026-01-01T00:20:00Z')]);
    const s = new MemorySink();
    attach(s, ALL, { sinceMs: Date.parse('2026-01-01T00:05:00Z'), text: '2026-01-01T00:05:00Z' });
    await until(() => s.ids().length === 2, 'the replay');
    expect(s.ids()).toEqual([2, 3]);
    const none = new MemorySink();
    attach(none, ALL, { sinceMs: Date.parse('2027-01-01T00:00:00Z'), text: '2027' });
    await new Promise((r) => setTimeout(r, 10));
    await publish(logs(1));
    expect(none.ids()).toEqual([4]);
  });
});
