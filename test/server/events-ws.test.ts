/** @module GET /1.0/events over the real unix socket with real websockets: LXD semantics, resume, slow consumers. */
import { connect as netConnect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ForbiddenError, QueryError } from '../../src/core/errors.js';
import type { Identity } from '../../src/core/permissions.js';
import { originAllowed, parseStreamRequest } from '../../src/server/events-ws.js';
import { CLOSE_CODES } from '../../src/service/hub.js';
import { SAMPLES, startTestHerald, type TestHerald } from '../support/herald.js';

/** Only the events a test publishes: herald's own log records would otherwise arrive as `logging` events. */
const QUIET = { logEvents: false } as const;

interface Received {
  readonly id: number;
  readonly type: string;
  readonly project?: string;
  readonly [k: string]: unknown;
}

/** A websocket listener that records everything it is sent. */
class Listener {
  readonly ws: WebSocket;
  readonly events: Received[] = [];
  readonly raw: string[] = [];
  readonly pings: string[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;
  socket: Socket | undefined;

  constructor(socketPath: string, query = '', opts: WebSocket.ClientOptions = {}) {
    this.ws = new WebSocket(`ws+unix:${socketPath}:/1.0/events${query ? `?${query}` : ''}`, {
      ...opts,
      // keep the socket, so that a test can stop reading it like a stalled client
      createConnection: (o: { socketPath?: string }) => {
        this.socket = netConnect(o.socketPath as string);
        return this.socket;
      },
    } as WebSocket.ClientOptions);
    this.ws.on('message', (data: Buffer, binary: boolean) => {
      expect(binary).toBe(false);
      const text = data.toString('utf8');
      this.raw.push(text);
      this.events.push(JSON.parse(text) as Received);
    });
    this.ws.on('ping', (d: Buffer) => this.pings.push(d.toString()));
    this.ws.on('error', () => {});
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
    this.closed = new Promise((resolve) =>
      this.ws.once('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() })),
    );
  }

  ids(): number[] {
    return this.events.map((e) => e.id);
  }

  close(): void {
    this.ws.terminate();
  }
}

const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

async function until(cond: () => boolean, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The raw HTTP answer to a websocket handshake that the server refuses. */
function refusedHandshake(socketPath: string, path: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws+unix:${socketPath}:${path}`);
    ws.on('open', () => reject(new Error('upgraded')));
    ws.on('error', () => {});
    ws.on('unexpected-response', (req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString();
      });
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body });
      });
    });
  });
}

const web = {
  ...SAMPLES.lifecycle,
  project: 'web',
  metadata: { ...SAMPLES.lifecycle.metadata, source: '/1.0/instances/c1?project=web', project: 'web' },
};
const webOperation = { ...SAMPLES.operation, project: 'web' };

let t: TestHerald;
beforeAll(async () => {
  t = await startTestHerald({ ...QUIET, live: { pingIntervalMs: 200 } });
});
afterAll(async () => {
  await t.cleanup();
});

const publish = (events: unknown) => t.client.call<{ ids: number[] }>('POST', '/1.0/events', events);
const listen = async (query = '', opts: WebSocket.ClientOptions = {}) => {
  const l = new Listener(t.herald.socketPath, query, opts);
  await l.opened;
  return l;
};

describe('LXD query semantics', () => {
  it('sends one JSON text frame per event, in LXD key order with the id, ending in a newline', async () => {
    const l = await listen('type=lifecycle');
    const { ids } = await publish(SAMPLES.lifecycle);
    await until(() => l.events.length === 1, 'the event');
    const text = l.raw[0] as string;
    expect(text.endsWith('}\n')).toBe(true);
    expect(Object.keys(JSON.parse(text))).toEqual(['type', 'timestamp', 'metadata', 'location', 'project', 'id']);
    expect(l.events[0]?.id).toBe(ids[0]);
    l.close();
  });

  it('defaults to the five LXD types (never maas) and delivers maas only to listeners that name it', async () => {
    const all = await listen();
    const maas = await listen('type=lifecycle%2Cmaas');
    const repeated = await listen('type=logging&type=ovn');
    const { ids } = await publish([
      SAMPLES.lifecycle,
      SAMPLES.logging,
      SAMPLES.ovn,
      SAMPLES.operation,
      SAMPLES.security,
      SAMPLES.maas,
    ]);
    const [lc, lg, ovn, op, sec, ma] = ids as [number, number, number, number, number, number];
    await until(() => all.events.length === 5 && maas.events.length === 2 && repeated.events.length === 2, 'events');
    expect(all.ids()).toEqual([lc, lg, ovn, op, sec]);
    expect(maas.ids()).toEqual([lc, ma]);
    expect(repeated.ids()).toEqual([lg, ovn]);
    for (const l of [all, maas, repeated]) l.close();
  });

  it('answers bad queries before the upgrade with LXD error responses', async () => {
    const socket = t.herald.socketPath;
    const bogus = await refusedHandshake(socket, '/1.0/events?type=lifecycle,bogus');
    expect(bogus.status).toBe(400);
    expect(bogus.type).toBe('application/json');
    expect(JSON.parse(bogus.body)).toMatchObject({
      type: 'error',
      status: '',
      status_code: 0,
      error_code: 400,
      error: '"bogus" is not a supported event type',
    });
    const both = await refusedHandshake(socket, '/1.0/events?project=web&all-projects=true');
    expect(both.status).toBe(400);
    expect(JSON.parse(both.body).error).toBe('Cannot specify a project when requesting all projects');
    const since = await refusedHandshake(socket, '/1.0/events?since=yesterday');
    expect(since.status).toBe(400);
    expect(JSON.parse(since.body).error).toContain('since');
    const level = await refusedHandshake(socket, '/1.0/events?level=loud');
    expect(level.status).toBe(400);
    const elsewhere = await refusedHandshake(socket, '/1.0/instances');
    expect(elsewhere.status).toBe(404);
  });

  it("checks the Origin as LXD's upgrader does", async () => {
    expect(originAllowed(undefined, 'unix.socket')).toBe(true);
    expect(originAllowed('wss://127.0.0.1:8443', '127.0.0.1:8443')).toBe(true);
    expect(originAllowed('https://evil.example', '127.0.0.1:8443')).toBe(false);
    expect(originAllowed('https://127.0.0.1', '127.0.0.1:8443')).toBe(false);
    expect(originAllowed('ws+unix://herald', 'herald')).toBe(true);
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws+unix:${t.herald.socketPath}:/1.0/events`, { origin: 'https://evil.example' });
      ws.on('error', () => {});
      ws.on('unexpected-response', (req, res) => {
        req.destroy();
        resolve(res.statusCode ?? 0);
      });
    });
    expect(refused).toBe(403);
  });

  it('answers a plain GET (no upgrade) as LXD does: 400, after the same checks', async () => {
    const plain = await t.client.raw('GET', '/1.0/events');
    expect(plain.status).toBe(400);
    expect(plain.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(plain.body).toBe('Bad Request\n');
    const bad = await t.client.raw('GET', '/1.0/events?type=nope');
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error).toBe('"nope" is not a supported event type');
  });

  it('defaults and checks types by identity (non-admins: operation and lifecycle; privileged types are 403)', () => {
    const bob: Identity = {
      kind: 'restricted',
      username: 'bob',
      protocol: 'tls',
      address: '10.0.0.2',
      server: [],
      projects: { default: ['can_view_events', 'can_view_operations'] },
    };
    const now = Date.now();
    const q = (s: string) => parseStreamRequest(new URLSearchParams(s), bob, now);
    expect(q('').filter.types).toEqual(['operation', 'lifecycle']);
    expect(q('').filter.scope).toEqual({ kind: 'project', project: 'default' });
    expect(q('type=maas').filter.types).toEqual(['maas']);
    expect(() => q('type=logging')).toThrow(ForbiddenError);
    expect(() => q('type=lifecycle,security')).toThrow(ForbiddenError);
    expect(() => q('type=x')).toThrow(QueryError);
    expect(q('all-projects=yes').filter.scope).toEqual({ kind: 'all' });
    expect(q('since=42').resume).toEqual({ afterId: 42 });
    expect(q('since=2026-01-01T00:00:00Z').resume).toEqual({
      sinceMs: Date.parse('2026-01-01T00:00:00Z'),
      text: '2026-01-01T00:00:00Z',
    });
    expect(q('since=15m').resume).toMatchObject({ sinceMs: now - 15 * 60_000 });
  });
});

describe('project scoping', () => {
  it('sends events of no project to everyone, others to their project and to all-projects listeners', async () => {
    const def = await listen();
    const webOnly = await listen('project=web');
    const all = await listen('all-projects=true');
    const { ids } = await publish([SAMPLES.lifecycle, web, SAMPLES.logging, webOperation]);
    const [lcDefault, lcWeb, logging, opWeb] = ids as [number, number, number, number];
    await until(() => def.events.length === 2 && webOnly.events.length === 3 && all.events.length === 4, 'events');
    expect(def.ids()).toEqual([lcDefault, logging]);
    expect(webOnly.ids()).toEqual([lcWeb, logging, opWeb]);
    expect(all.ids()).toEqual([lcDefault, lcWeb, logging, opWeb]);
    for (const l of [def, webOnly, all]) l.close();
  });
});

describe('herald filters', () => {
  it('filters by minimum level, location, action and username', async () => {
    const warn = await listen('all-projects=1&level=warning');
    const here = await listen('all-projects=1&location=m2');
    const started = await listen(
      'all-projects=1&type=lifecycle,security,maas&action=instance-started&action=authn_login_fail',
    );
    const alice = await listen('all-projects=1&type=lifecycle,maas&username=alice');
    const { ids } = await publish([
      SAMPLES.lifecycle,
      { ...SAMPLES.logging, metadata: { ...SAMPLES.logging.metadata, level: 'error' } },
      { ...SAMPLES.logging, location: 'm2' },
      SAMPLES.security,
      SAMPLES.maas,
    ]);
    const [lc, err, m2, sec] = ids as [number, number, number, number, number];
    await until(
      () =>
        warn.events.length === 2 &&
        here.events.length === 1 &&
        started.events.length === 2 &&
        alice.events.length === 1,
      'events',
    );
    expect(warn.ids()).toEqual([err, sec]);
    expect(here.ids()).toEqual([m2]);
    expect(started.ids()).toEqual([lc, sec]);
    expect(alice.ids()).toEqual([lc]);
    for (const l of [warn, here, started, alice]) l.close();
  });
});

describe('keepalive', () => {
  it('pings with "keepalive" at once and keeps clients that answer', async () => {
    const l = await listen();
    await until(() => l.pings.length >= 3, 'three pings');
    expect(l.pings[0]).toBe('keepalive');
    expect(l.ws.readyState).toBe(WebSocket.OPEN);
    l.close();
  });

  it('drops a client that misses more than two pongs, without a close frame', async () => {
    const l = await listen('', { autoPong: false });
    const closed = await l.closed;
    expect(closed.code).toBe(1006);
    expect(l.pings.length).toBe(3);
  });

  it('drops a client that sends a data frame, as LXD does', async () => {
    const l = await listen();
    l.ws.send('{"hello":1}');
    expect((await l.closed).code).toBe(1006);
  });
});

describe('resume', () => {
  it('replays after since=<id> and goes live with no gap and no duplicate under concurrent publishing', async () => {
    const start = (await publish(Array.from({ length: 40 }, () => SAMPLES.logging))).ids[0] as number;
    const listeners: Array<{ since: number; l: Listener }> = [];
    let publishing = true;
    let rounds = 0;
    const flood = (async () => {
      for (let i = 0; i < 80; i++) {
        const n = 1 + (i % 5);
        await Promise.all([publish(Array.from({ length: n }, () => SAMPLES.logging)), publish(SAMPLES.lifecycle)]);
        rounds++;
      }
      publishing = false;
    })();
    // Two listeners join per publishing round, while the next round commits: spread over the whole flood, and as many
    // on a slow machine as on a fast one (joining on a timer made hundreds on a slow one, and the test time out).
    for (let seen = 0; publishing; await new Promise((r) => setTimeout(r, 1))) {
      if (rounds === seen) continue;
      seen = rounds;
      for (let k = 0; k < 2; k++) {
        const head = await t.herald.store.headId();
        const since = start - 1 + Math.floor(Math.random() * (head - start + 2));
        listeners.push({ since, l: new Listener(t.herald.socketPath, `since=${since}`) });
      }
    }
    await flood;
    const head = await t.herald.store.headId();
    expect(listeners.length).toBeGreaterThan(5);
    await until(() => listeners.every(({ l }) => l.ids().at(-1) === head), 'every listener to reach the head');
    for (const { since, l } of listeners) {
      expect(l.ids()).toEqual(range(since + 1, head));
      l.close();
    }
  });

  it('replays only what the listener may receive', async () => {
    const { ids } = await publish([SAMPLES.lifecycle, web, SAMPLES.maas, SAMPLES.logging, SAMPLES.lifecycle]);
    const [first, , , , last] = ids as [number, number, number, number, number];
    const l = await listen(`type=lifecycle&since=${first - 1}`);
    await until(() => l.events.length === 2, 'the replay');
    expect(l.ids()).toEqual([first, last]);
    l.close();
  });

  it('closes with 4410 and a 410 Gone reason when since is older than retention', async () => {
    const t2 = await startTestHerald(QUIET);
    try {
      await t2.client.call(
        'POST',
        '/1.0/events',
        Array.from({ length: 30 }, () => SAMPLES.logging),
      );
      await t2.herald.store.prune({ maxCount: 10 }, Date.now());
      const l = new Listener(t2.herald.socketPath, 'since=5');
      expect(await l.closed).toEqual({
        code: CLOSE_CODES.GONE,
        reason: '410 Gone: since=5 is older than retention (oldest available id 21)',
      });
      const ok = new Listener(t2.herald.socketPath, 'since=20');
      await until(() => ok.events.length === 10, 'the replay');
      ok.close();
    } finally {
      await t2.cleanup();
    }
  });
});

describe('slow consumers', () => {
  it('closes a stalled listener with 4008 and its last id, while the others get everything', async () => {
    const t2 = await startTestHerald({
      ...QUIET,
      live: { maxQueueEvents: 20, highWaterBytes: 16 * 1024, closeGraceMs: 20_000 },
    });
    try {
      const fast = new Listener(t2.herald.socketPath);
      const slow = new Listener(t2.herald.socketPath);
      await Promise.all([fast.opened, slow.opened]);
      slow.socket?.pause();
      const big = { type: 'logging', metadata: { message: 'x'.repeat(4000), level: 'info' } };
      const total = 400;
      for (let i = 0; i < total / 20; i++) await t2.client.call('POST', '/1.0/events', Array(20).fill(big));
      await until(() => fast.events.length === total, 'the fast listener');
      expect(t2.herald.hub.stats.slowConsumers).toBe(1);
      expect(t2.herald.hub.size).toBe(1);
      slow.socket?.resume();
      const closed = await slow.closed;
      expect(closed.code).toBe(CLOSE_CODES.SLOW_CONSUMER);
      const m = /^slow consumer: last id (\d+)$/.exec(closed.reason);
      expect(m).not.toBeNull();
      const last = Number(m?.[1]);
      // everything up to the id in the reason arrived, in order, and nothing after it
      expect(slow.ids()).toEqual(range(1, last));
      expect(last).toBeLessThan(total);
      expect(fast.ids()).toEqual(range(1, total));
      // and the reason is a resume point
      const again = new Listener(t2.herald.socketPath, `since=${last}`);
      await until(() => again.events.length === total - last, 'the resume');
      expect(again.ids()).toEqual(range(last + 1, total));
      fast.close();
      again.close();
    } finally {
      await t2.cleanup();
    }
  });
});

describe('shutdown and metrics', () => {
  it('counts listeners and deliveries, and closes listeners with 1001 when the server stops', async () => {
    const t2 = await startTestHerald(QUIET);
    const l = new Listener(t2.herald.socketPath);
    await l.opened;
    await t2.client.call('POST', '/1.0/events', SAMPLES.logging);
    await until(() => l.events.length === 1, 'the event');
    const metrics = await t2.client.raw('GET', '/1.0/metrics');
    expect(metrics.body).toContain('herald_live_listeners 1');
    expect(metrics.body).toMatch(/herald_live_deliveries_total 1\b/);
    await t2.cleanup();
    expect(await l.closed).toEqual({ code: 1001, reason: 'server shutting down' });
  });
});
