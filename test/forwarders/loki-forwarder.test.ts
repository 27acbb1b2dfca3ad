/**
 * @module Loki delivery end to end: a real herald forwarding over HTTP to the test receiver through outages, a herald
 * restart, lost answers and a rejected entry; every event must arrive exactly once, in order, and be visible in status.
 */
import { hostname } from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HeraldEvent } from '../../src/core/event.js';
import { formatEvent, formatOptions, streamKey } from '../../src/forwarders/loki/format.js';
import type { ForwarderStatus } from '../../src/forwarders/loki/forwarder.js';
import { SAMPLES, startTestHerald, type TestHerald } from '../support/herald.js';
import { LokiReceiver } from '../support/loki-receiver.js';
import { runCli } from '../support/run-cli.js';

const ALL_TYPES = 'lifecycle,logging,ovn,security,maas';

let rx: LokiReceiver;
let t: TestHerald;

beforeEach(async () => {
  rx = await LokiReceiver.start();
  t = await startTestHerald();
});

afterEach(async () => {
  await t.cleanup();
  await rx.close();
});

/**
 * Restart on the same data directory. The CLI client pools keep-alive connections per socket path, so it waits for the
 * old server's connections to be seen closed, lest the first request go out on one of them (EPIPE).
 */
async function restart(): Promise<void> {
  t = await t.restart();
  await new Promise((r) => setTimeout(r, 50));
}

/** Fast settings so that tests do not wait for LXD's 1 s batches or 10 s timeouts. */
async function enable(extra: Record<string, string> = {}): Promise<void> {
  await t.client.call('PATCH', '/1.0', {
    config: {
      'loki.api.url': rx.url,
      'loki.types': ALL_TYPES,
      'loki.loglevel': 'debug',
      'loki.batch.max_wait': '20ms',
      'loki.retry.min_backoff': '10ms',
      'loki.retry.max_backoff': '100ms',
      'loki.api.timeout': '500ms',
      ...extra,
    },
  });
}

function status(): Promise<ForwarderStatus> {
  return t.client.call<ForwarderStatus>('GET', '/1.0/forwarders/default');
}

async function until(check: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function caughtUp(): Promise<void> {
  await until(async () => {
    const s = await status();
    return s.cursor === s.head && s.lag_events === 0;
  });
}

let seq = 0;
/** Distinct events of every forwarded type (each line unique, so each entry can be traced to its event). */
function events(n: number): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const k = seq++;
    switch (k % 5) {
      case 0:
        out.push({ type: 'logging', metadata: { message: `message ${k}`, level: 'info', context: { k: String(k) } } });
        break;
      case 1:
        out.push({
          ...SAMPLES.lifecycle,
          metadata: { ...SAMPLES.lifecycle.metadata, source: `/1.0/instances/c${k}`, name: `c${k % 3}` },
        });
        break;
      case 2:
        out.push({ ...SAMPLES.security, metadata: { ...SAMPLES.security.metadata, description: `failure ${k}` } });
        break;
      case 3:
        out.push({ ...SAMPLES.maas, metadata: { ...SAMPLES.maas.metadata, description: `step ${k}` } });
        break;
      default:
        out.push({ ...SAMPLES.operation, metadata: { ...SAMPLES.operation.metadata, description: `op ${k}` } });
    }
  }
  return out;
}

async function publish(n: number): Promise<void> {
  await t.client.call('POST', '/1.0/events', events(n));
}

/** What the receiver must hold: every forwardable stored event after `from`, per stream in id order. */
async function expected(from: number): Promise<Map<string, string[]>> {
  const all: HeraldEvent[] = [];
  let after = from;
  for (;;) {
    const page = await t.client.call<{ events: HeraldEvent[] }>('GET', `/1.0/events/history?after=${after}&limit=1000`);
    if (page.events.length === 0) break;
    const asc = [...page.events].reverse();
    all.push(...asc);
    after = (asc[asc.length - 1] as HeraldEvent).id;
  }
  const o = formatOptions({
    types: ALL_TYPES.split(','),
    loglevel: 'debug',
    labels: [],
    hostname: hostname(),
    location: 'none',
  });
  const out = new Map<string, string[]>();
  for (const e of all) {
    const entry = formatEvent(e, o);
    if (!entry) continue;
    const key = streamKey(entry.labels);
    out.set(key, [...(out.get(key) ?? []), entry.line]);
  }
  return out;
}

function received(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const e of rx.entries) {
    const key = streamKey(e.labels);
    out.set(key, [...(out.get(key) ?? []), e.line]);
  }
  return out;
}

describe('Loki forwarding', () => {
  it('delivers every event exactly once, in order, through an outage with a herald restart in the middle', async () => {
    await enable();
    const start = (await status()).cursor;
    await publish(50);
    await caughtUp();
    const before = rx.stats.accepted;
    expect(before).toBeGreaterThan(0);

    // Loki accepts a push but the answer is lost: herald must send it again, identically (Loki drops the copy).
    rx.fail('lose-answer');
    await publish(50);
    await until(async () => (await status()).retries > 0 && rx.stats.accepted > before);

    // Then Loki goes away entirely, more events arrive, and herald restarts while it is down.
    rx.fail('refuse');
    await publish(50);
    await until(async () => (await status()).consecutive_failures > 1);
    await restart();
    await publish(50);
    await until(async () => (await status()).consecutive_failures > 0);
    const down = await status();
    expect(down.state).toBe('retrying');
    expect(down.lag_events).toBeGreaterThan(0);
    expect(down.lag_seconds).toBeGreaterThanOrEqual(0);
    expect(down.oldest_unsent).not.toBeNull();
    expect(down.last_error?.message).toMatch(/ECONNREFUSED|no answer/);

    await rx.recover();
    await caughtUp();
    const up = await status();
    expect(up.state).toBe('running');
    expect(up.last_error).not.toBeNull();
    expect(up.last_success).not.toBeNull();

    expect(rx.stats.rejectedEntries).toBe(0);
    expect(rx.stats.duplicates).toBeGreaterThan(0);
    const want = await expected(start);
    const got = received();
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [k, lines] of want) expect(got.get(k), k).toEqual(lines);
    const total = [...want.values()].reduce((n, l) => n + l.length, 0);
    expect(rx.entries).toHaveLength(total);
    // Timestamps strictly increase within every stream.
    const last = new Map<string, bigint>();
    for (const e of rx.entries) {
      const ts = BigInt(e.ts);
      expect(ts > (last.get(e.stream) ?? -1n)).toBe(true);
      last.set(e.stream, ts);
    }
  });

  it('isolates an entry Loki rejects, skips it, records a logging event, and delivers the rest in order', async () => {
    await enable({ 'loki.batch.max_wait': '300ms', 'loki.types': 'logging' });
    const start = (await status()).cursor;
    rx.rejectLines((line) => (line.includes('poison') ? 'entry has an invalid label value (test rule)' : undefined));
    const batch = Array.from({ length: 20 }, (_, i) => ({
      type: 'logging',
      metadata: { message: i === 13 ? 'poison pill' : `fine ${i}`, level: 'info', context: {} },
    }));
    const res = await t.client.call<{ ids: number[] }>('POST', '/1.0/events', batch);
    const poisonId = res.ids[13] as number;
    await caughtUp();
    const s = await status();
    expect(s.entries_rejected).toBe(1);
    // Only the test's lines (herald's own log records are logging events too), in order, without the rejected one.
    const fine = rx.entries.map((e) => e.line).filter((l) => /^level="info" fine \d+$/.test(l));
    expect(fine.map((l) => l.replace(/^level="info" /, ''))).toEqual(
      batch.filter((_, i) => i !== 13).map((b) => b.metadata.message),
    );
    expect(rx.entries.some((e) => e.line.includes('poison'))).toBe(false);

    // The skipped entry is recorded as a logging event, which is itself forwarded.
    const page = await t.client.call<{ events: HeraldEvent[] }>(
      'GET',
      `/1.0/events/history?type=logging&after=${start}`,
    );
    const record = page.events.find(
      (e) => e.type === 'logging' && e.metadata.message === 'Loki rejected an event; it was skipped',
    );
    expect(record?.type === 'logging' && record.metadata.context).toMatchObject({
      target: 'default',
      event_id: String(poisonId),
      status: '400',
    });
    expect(rx.entries.some((e) => e.line.includes('Loki rejected an event'))).toBe(true);
    const metrics = (await t.client.raw('GET', '/1.0/metrics')).body;
    expect(metrics).toContain('herald_forwarder_entries_rejected_total{forwarder="loki",target="default"} 1');
  });

  it('retries 500, 429 and a hanging Loki with backoff until it answers', async () => {
    await enable({ 'loki.api.timeout': '150ms' });
    for (const mode of ['500', '429', 'hang'] as const) {
      rx.fail(mode);
      await publish(5);
      await until(async () => (await status()).consecutive_failures >= 2);
      const s = await status();
      expect(s.state).toBe('retrying');
      expect(s.last_error?.message).toContain(mode === 'hang' ? 'no answer within 150ms' : `HTTP ${mode}`);
      await rx.recover();
      await caughtUp();
    }
    const s = await status();
    expect(s.retries).toBeGreaterThanOrEqual(6);
    expect(rx.stats.rejectedEntries).toBe(0);
    expect(rx.stats.accepted).toBe(s.entries_sent);
  });

  it('does not skip entries when Loki refuses the target (401): it retries until the target is fixed', async () => {
    await enable();
    rx.fail('401');
    await publish(5);
    await until(async () => (await status()).consecutive_failures >= 3);
    const s = await status();
    expect(s.state).toBe('retrying');
    expect(s.last_error?.message).toContain('HTTP 401');
    expect(s.entries_rejected).toBe(0);
    await rx.recover();
    await caughtUp();
    expect((await status()).entries_rejected).toBe(0);
    expect(rx.stats.accepted).toBe((await status()).entries_sent);
  });

  it('shows status at GET /1.0/forwarders, in metrics, and through `herald forwarder status`', async () => {
    await enable();
    await publish(10);
    await caughtUp();
    const list = await t.client.call<ForwarderStatus[]>('GET', '/1.0/forwarders');
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({
      name: 'default',
      kind: 'loki',
      url: rx.url,
      state: 'running',
      lag_events: 0,
      lag_seconds: 0,
      retries: 0,
      entries_rejected: 0,
      last_error: null,
    });
    expect(list[0]?.entries_sent).toBe(rx.stats.accepted);
    expect(list[0]?.cursor).toBe(list[0]?.head);
    const missing = await t.client.raw('GET', '/1.0/forwarders/nope');
    expect(missing.status).toBe(404);

    const metrics = (await t.client.raw('GET', '/1.0/metrics')).body;
    expect(metrics).toMatch(/herald_forwarder_cursor\{forwarder="loki",target="default"\} \d+/);
    expect(metrics).toContain('herald_forwarder_lag_events{forwarder="loki",target="default"} 0');
    expect(metrics).toContain('herald_forwarder_up{forwarder="loki",target="default"} 1');
    expect(metrics).toContain(
      `herald_forwarder_entries_sent_total{forwarder="loki",target="default"} ${rx.stats.accepted}`,
    );

    const table = await runCli(['--data', t.dir, 'forwarder', 'status']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^NAME\s+KIND\s+STATE\s+CURSOR\s+LAG/);
    expect(table.stdout).toContain(rx.url);
    const json = await runCli(['--data', t.dir, 'forwarder', 'status', 'default', '--format', 'json']);
    expect(JSON.parse(json.stdout)[0]).toMatchObject({ name: 'default', state: 'running' });
  });

  it('sends gzip with basic auth and the tenant header', async () => {
    await enable({ 'loki.auth.username': 'u', 'loki.auth.password': 'p', 'loki.tenant': 'team-a' });
    await publish(2);
    await caughtUp();
    const h = rx.requestHeaders.at(-1);
    expect(h?.['content-encoding']).toBe('gzip');
    expect(h?.authorization).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
    expect(h?.['x-scope-orgid']).toBe('team-a');
    await t.client.call('PATCH', '/1.0', { config: { 'loki.api.bearer_token': 'tok' } });
    await publish(2);
    await caughtUp();
    expect(rx.requestHeaders.at(-1)?.authorization).toBe('Bearer tok');
  });

  it('forwards to named targets independently, and resumes from the stored cursor after a restart', async () => {
    const rx2 = await LokiReceiver.start();
    try {
      await enable();
      await t.client.call('PATCH', '/1.0', {
        config: { 'loki.audit.api.url': rx2.url, 'loki.audit.types': 'security', 'loki.audit.batch.max_wait': '20ms' },
      });
      await publish(10);
      await caughtUp();
      await until(async () => {
        const s = await t.client.call<ForwarderStatus>('GET', '/1.0/forwarders/audit');
        return s.cursor === s.head;
      });
      expect(rx2.entries.length).toBe(2);
      expect(rx2.entries.every((e) => e.labels.type === 'security')).toBe(true);
      rx2.fail('refuse');
      await publish(10);
      await restart();
      const audit = await t.client.call<ForwarderStatus>('GET', '/1.0/forwarders/audit');
      expect(audit.lag_events).toBeGreaterThan(0);
      await rx2.recover();
      await until(async () => {
        const s = await t.client.call<ForwarderStatus>('GET', '/1.0/forwarders/audit');
        return s.cursor === s.head;
      });
      expect(rx2.entries.length).toBe(4);
    } finally {
      await rx2.close();
    }
  });
});
