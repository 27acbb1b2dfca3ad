/** @module herald's own log records as `logging` events: published once, batched, debug gated, no feedback loop. */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { EventStore, StoredEvent } from '../../src/core/store.js';
import { InProcessFabric } from '../../src/fabric/in-process/fabric.js';
import { Logger } from '../../src/service/log.js';
import { DEBUG_CONFIG_KEY, LogEvents, logRecordEvent } from '../../src/service/log-events.js';
import { Metrics } from '../../src/service/metrics.js';
import { Publisher } from '../../src/service/publisher.js';
import { SqliteStore } from '../../src/stores/sqlite/store.js';
import { startTestHerald, type TestHerald, tempDir } from '../support/herald.js';

const tick = () => new Promise((r) => setImmediate(r));

function logging(events: StoredEvent[]) {
  return events
    .map((e) => JSON.parse(e.json) as { type: string; metadata: Record<string, unknown>; project?: string })
    .filter((e) => e.type === 'logging');
}

const opened: Array<{ store: EventStore; dir: string }> = [];
afterAll(async () => {
  for (const o of opened) {
    await o.store.close();
    rmSync(o.dir, { recursive: true, force: true });
  }
});

function newStore(): SqliteStore {
  const dir = tempDir('herald-log-events-');
  const store = new SqliteStore({ path: join(dir, 'herald.db') });
  opened.push({ store, dir });
  return store;
}

/** A publisher over a real store, with a logger whose stderr is captured. */
function rig(opts: { sinkLevel?: 'debug' | 'info'; store?: EventStore } = {}) {
  const lines: string[] = [];
  const log = new Logger({ write: (l) => lines.push(l), level: 'debug', sinkLevel: opts.sinkLevel });
  const store = opts.store ?? newStore();
  const fabric = new InProcessFabric();
  const publisher = new Publisher(store, fabric, { location: 'none' });
  const metrics = new Metrics();
  const sink = new LogEvents({ log, publisher, fabric, metrics });
  return { log, store, fabric, publisher, sink, lines, metrics };
}

describe('log records as logging events', () => {
  it('shapes a record as LXD does: logrus level, string context with sorted keys, record time', () => {
    const time = new Date('2026-01-02T03:04:05.678Z');
    expect(
      logRecordEvent({ level: 'critical', message: 'Disk full', context: { path: '/x', free: '0' }, time }),
    ).toEqual({
      type: 'logging',
      timestamp: '2026-01-02T03:04:05.678Z',
      metadata: { message: 'Disk full', level: 'fatal', context: { free: '0', path: '/x' } },
    });
    const w = logRecordEvent({ level: 'warning', message: 'm', context: {}, time });
    expect(w.metadata.level).toBe('warning');
  });

  it('publishes every record of a tick in one transaction, with no project and the member location', async () => {
    const { log, store, publisher, sink } = rig();
    for (let i = 0; i < 50; i++) log.info('Event listener server handler started', { listener: String(i), n: i });
    log.warn('Slow consumer cut off', { listener: 'abc' });
    log.error('Source reconnect failed', { err: 'ECONNREFUSED' });
    await sink.flush();
    expect(publisher.stats.transactions).toBe(1);
    const events = logging(await store.readAfter(0, 100));
    expect(events).toHaveLength(52);
    expect(events[0]).toMatchObject({
      type: 'logging',
      location: 'none',
      metadata: { message: 'Event listener server handler started', level: 'info', context: { listener: '0', n: '0' } },
    });
    expect(events[0]?.project).toBeUndefined();
    expect(events[50]?.metadata).toEqual({
      message: 'Slow consumer cut off',
      level: 'warning',
      context: { listener: 'abc' },
    });
    expect(events[51]?.metadata.level).toBe('error');
    expect(sink.stats.published).toBe(52);
  });

  it('does not publish debug records by default, and does when the sink level is debug', async () => {
    const quiet = rig();
    quiet.log.debug('Retention pruned events', { count: 3 });
    quiet.log.info('visible');
    await quiet.sink.flush();
    expect(logging(await quiet.store.readAfter(0, 10)).map((e) => e.metadata.message)).toEqual(['visible']);
    // still written to stderr
    expect(quiet.lines.some((l) => l.includes('Retention pruned events'))).toBe(true);

    const loud = rig({ sinkLevel: 'debug' });
    loud.log.debug('Retention pruned events', { count: 3 });
    await loud.sink.flush();
    expect(logging(await loud.store.readAfter(0, 10))[0]?.metadata).toEqual({
      message: 'Retention pruned events',
      level: 'debug',
      context: { count: '3' },
    });
  });

  it('does not publish records written while its own events are fanned out (no loop through listeners)', async () => {
    const { log, store, fabric, sink, lines } = rig({ sinkLevel: 'debug' });
    // A subscriber that logs for every batch it is handed: without the guard, each log event would make another.
    fabric.subscribe((events) => log.debug('Delivered events to listener', { count: events.length }));
    log.info('first');
    await sink.flush();
    for (let i = 0; i < 20; i++) await tick();
    await sink.flush();
    expect(logging(await store.readAfter(0, 100)).map((e) => e.metadata.message)).toEqual(['first']);
    expect(lines.filter((l) => l.includes('Delivered events to listener'))).toHaveLength(1);
    expect(sink.stats.suppressed).toBe(1);
  });

  it('still publishes records from other publishers’ fan-out', async () => {
    const { log, store, fabric, publisher, sink } = rig();
    fabric.subscribe((events) => {
      if (events.some((e) => e.fields.type === 'lifecycle')) log.info('Lifecycle seen');
    });
    await publisher.publishRaw({
      type: 'lifecycle',
      metadata: { action: 'instance-started', source: '/1.0/instances/c1' },
    });
    await sink.flush();
    expect(logging(await store.readAfter(0, 100)).map((e) => e.metadata.message)).toEqual(['Lifecycle seen']);
  });

  it('reports a failed publish on stderr only, once, and does not retry it as an event', async () => {
    const failing: EventStore = Object.assign(newStore(), {
      append: async () => {
        throw new Error('disk I/O error');
      },
    });
    const { log, sink, lines, metrics } = rig({ store: failing });
    log.error('Store write failed', { err: 'disk I/O error' });
    await sink.flush();
    for (let i = 0; i < 20; i++) await tick();
    await sink.flush();
    expect(sink.stats.failed).toBe(1);
    expect(lines.filter((l) => l.includes('Publishing log events failed'))).toHaveLength(1);
    expect(sink.stats.suppressed).toBe(1);
    expect(metrics.render()).toMatch(/herald_log_events_dropped_total 1/);
  });

  it('cannot loop through a store that logs its own failures: one attempt, then a pause', async () => {
    let attempts = 0;
    let log: Logger | undefined;
    const failing: EventStore = Object.assign(newStore(), {
      append: async () => {
        attempts++;
        // As a publisher or store that reports a failed commit would: a new record, caused by the log event.
        log?.error('Commit failed', { err: 'disk I/O error' });
        throw new Error('disk I/O error');
      },
    });
    const r = rig({ store: failing });
    log = r.log;
    r.log.error('first failure');
    const end = Date.now() + 300;
    while (Date.now() < end) {
      await r.sink.flush();
      await new Promise((res) => setTimeout(res, 5));
    }
    // One publish of the first record (the publisher tries the batch, then the request alone); nothing after it.
    expect(attempts).toBeGreaterThanOrEqual(1);
    expect(attempts).toBeLessThanOrEqual(2);
    expect(r.sink.stats.failed).toBe(1);
    expect(r.sink.stats.dropped).toBe(attempts);
    // stderr has everything
    expect(r.lines.filter((l) => l.includes('Commit failed')).length).toBe(attempts);
  });

  it('drops records past the pending limit instead of holding a flood', async () => {
    const lines: string[] = [];
    const log = new Logger({ write: (l) => lines.push(l) });
    const store = newStore();
    const fabric = new InProcessFabric();
    const publisher = new Publisher(store, fabric, { location: 'none' });
    const sink = new LogEvents({ log, publisher, fabric, maxPending: 10 });
    for (let i = 0; i < 25; i++) log.info('flood', { i });
    await sink.flush();
    expect(await store.count()).toBe(10);
    expect(sink.stats.dropped).toBe(15);
  });

  it('stops taking records when detached', async () => {
    const { log, store, sink } = rig();
    sink.detach();
    log.info('after detach');
    await sink.flush();
    expect(await store.count()).toBe(0);
  });
});

describe('in a running herald', () => {
  let t: TestHerald | undefined;
  afterEach(async () => {
    await t?.cleanup();
    t = undefined;
  });

  it('publishes its log records, visible through the history API as type=logging', async () => {
    t = await startTestHerald({ logEvents: true });
    t.herald.log.warn('Forwarder retrying', { target: 'loki1', attempt: 2 });
    await t.herald.logEvents?.flush();
    const res = await t.herald.app.inject({ method: 'GET', url: '/1.0/events/history?type=logging&limit=100' });
    const events = (res.json() as { metadata: { events: Array<{ metadata: { message: string } }> } }).metadata.events;
    const mine = events.find((e) => e.metadata.message === 'Forwarder retrying');
    expect(mine?.metadata).toEqual({
      message: 'Forwarder retrying',
      level: 'warning',
      context: { attempt: '2', target: 'loki1' },
    });
  });

  it(`turns debug records on and off with the ${DEBUG_CONFIG_KEY} config key`, async () => {
    t = await startTestHerald({ logEvents: true });
    const h = t.herald;
    h.log.debug('hidden debug');
    await h.config.set(DEBUG_CONFIG_KEY, 'true');
    h.log.debug('shown debug');
    await h.config.set(DEBUG_CONFIG_KEY, 'false');
    h.log.debug('hidden again');
    await h.logEvents?.flush();
    const messages = logging(await h.store.readAfter(0, 1000)).map((e) => e.metadata.message);
    expect(messages).toContain('shown debug');
    expect(messages).not.toContain('hidden debug');
    expect(messages).not.toContain('hidden again');
    await expect(h.config.set(DEBUG_CONFIG_KEY, 'yes')).rejects.toThrow(/true or false/);
  });

  it('is off unless asked for (herald serve asks)', async () => {
    t = await startTestHerald();
    t.herald.log.warn('not published');
    await new Promise((r) => setTimeout(r, 20));
    expect(logging(await t.herald.store.readAfter(0, 1000))).toHaveLength(0);
    expect(t.herald.logEvents).toBeUndefined();
  });
});
