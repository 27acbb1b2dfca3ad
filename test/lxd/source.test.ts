/**
 * @module The LXD source's own rules, against a scripted LXD (a unix-socket server speaking LXD's GET /1.0 and events
 * websocket) where the real daemon cannot be made to misbehave: actions newer than herald's catalogue, frames herald
 * cannot store, silence, refusals, subscribing to itself; plus URL parsing, backoff and the add-time checks.
 */
import { rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type WebSocket, WebSocketServer } from 'ws';
import { createSelfSignedCertificate } from '../../src/runtime/tls-listener.js';
import { parseLxdUrl } from '../../src/sources/lxd/client.js';
import { ingestLxdFrame } from '../../src/sources/lxd/ingest.js';
import { BACKOFF_DEFAULTS, backoffDelay, type SourceStatus } from '../../src/sources/lxd/source.js';
import { startTestHerald, type TestHerald, tempDir } from '../support/herald.js';
import { eventsAfter, sleep, until } from './helpers.js';

/** A scripted LXD on a unix socket. */
class FakeLxd {
  readonly socket: string;
  readonly sockets: WebSocket[] = [];
  readonly queries: string[] = [];
  auth = 'trusted';
  refuseEvents: { status: number; error: string } | undefined;
  ping = true;
  private server: Server | undefined;
  private readonly wss = new WebSocketServer({ noServer: true });

  readonly dir = tempDir('herald-fake-lxd-');

  constructor() {
    this.socket = join(this.dir, 'unix.socket');
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/1.0') {
        const metadata = {
          api_extensions: [],
          auth: this.auth,
          environment: { server: 'lxd', server_name: 'fake', server_version: '5.0.2' },
        };
        res.end(JSON.stringify({ type: 'sync', status: 'Success', status_code: 200, metadata }));
      } else {
        res.statusCode = 404;
        res.end(JSON.stringify({ type: 'error', error: 'not found', error_code: 404 }));
      }
    });
    this.server.on('upgrade', (req, socket, head) => {
      this.queries.push(req.url ?? '');
      if (this.refuseEvents) {
        const body = JSON.stringify({
          type: 'error',
          error: this.refuseEvents.error,
          error_code: this.refuseEvents.status,
        });
        socket.end(`HTTP/1.1 ${this.refuseEvents.status} Forbidden\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        this.sockets.push(ws);
        if (this.ping) ws.ping('keepalive');
      });
    });
    await new Promise<void>((r) => this.server?.listen(this.socket, r));
  }

  send(frame: unknown): void {
    const data = typeof frame === 'string' ? frame : `${JSON.stringify(frame)}\n`;
    for (const ws of this.sockets) if (ws.readyState === ws.OPEN) ws.send(data);
  }

  dropAll(): void {
    for (const ws of this.sockets) ws.terminate();
    this.sockets.length = 0;
  }

  async stop(): Promise<void> {
    this.dropAll();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server?.closeAllConnections();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

let t: TestHerald;
let lxd: FakeLxd;

beforeEach(async () => {
  t = await startTestHerald({ sourceBackoff: { initialMs: 50, maxMs: 200, silenceMs: 400 } });
  lxd = new FakeLxd();
  await lxd.start();
});
afterEach(async () => {
  await t.cleanup();
  await lxd.stop();
});

const addSource = (extra: Record<string, unknown> = {}) =>
  t.client.call<SourceStatus>('POST', '/1.0/sources', { name: 'fake', url: `unix://${lxd.socket}`, ...extra });

// biome-ignore lint/suspicious/noExplicitAny: events as parsed JSON
const records = async (): Promise<any[]> =>
  (await eventsAfter(t, 0)).filter((e) => e.type === 'logging' && e.metadata.context?.source === 'fake');

describe('LXD source against a scripted LXD', () => {
  it('subscribes with all-projects and no type, and stores frames unchanged, id from another herald dropped', async () => {
    const s = await addSource();
    expect(s.connected).toBe(true);
    expect(lxd.queries).toEqual(['/1.0/events?all-projects=true']);
    const frame = {
      type: 'lifecycle',
      timestamp: '2020-11-21T20:43:00.322486066Z',
      metadata: {
        action: 'profile-created',
        source: '/1.0/profiles/p',
        requestor: { username: 'root', protocol: 'unix', address: '@' },
      },
      location: 'member1',
      project: 'default',
    };
    lxd.send(frame);
    lxd.send({ ...frame, metadata: { ...frame.metadata, source: '/1.0/profiles/q' }, id: 99 });
    lxd.send({
      type: 'logging',
      timestamp: '2020-11-21T20:43:01Z',
      metadata: { message: 'm', level: 'info', context: {} },
    });
    await until('three events', async () => (await eventsAfter(t, 0)).filter((e) => e.timestamp < '2021').length === 3);
    const stored = (await eventsAfter(t, 0)).filter((e) => e.timestamp < '2021');
    expect(stored.map(({ id: _id, ...rest }) => JSON.stringify(rest))).toEqual([
      JSON.stringify(frame),
      JSON.stringify({ ...frame, metadata: { ...frame.metadata, source: '/1.0/profiles/q' } }),
      // No location came with it, and none is made up.
      JSON.stringify({
        type: 'logging',
        timestamp: '2020-11-21T20:43:01Z',
        metadata: { message: 'm', level: 'info', context: {} },
      }),
    ]);
    expect(stored[1].id).not.toBe(99);
  });

  it('keeps actions newer than the catalogue as sent (noted once); records frames it cannot store', async () => {
    await addSource();
    const unknown = {
      type: 'lifecycle',
      timestamp: '2026-11-21T20:43:00Z',
      metadata: { action: 'instance-teleported', source: '/1.0/instances/c1', context: { to: 'mars' } },
      location: 'none',
      project: 'default',
    };
    lxd.send(unknown);
    lxd.send(unknown);
    lxd.send({
      type: 'security',
      timestamp: '2026-11-21T20:43:00Z',
      metadata: { name: 'authn_new_thing:x', level: 'warning', description: 'd' },
    });
    lxd.send('not json at all');
    lxd.send({ type: 'custom', timestamp: '2026-11-21T20:43:00Z', metadata: {} });
    await until('the stored and recorded events', async () => (await eventsAfter(t, 0)).length >= 7);
    await sleep(100);
    const all = await eventsAfter(t, 0);
    const kept = all.filter((e) => e.metadata.action === 'instance-teleported');
    expect(kept).toHaveLength(2);
    expect(JSON.stringify({ ...kept[0], id: undefined })).toBe(JSON.stringify({ ...unknown, id: undefined }));
    expect(all.filter((e) => e.metadata.name === 'authn_new_thing:x')).toHaveLength(1);
    const msgs = (await records()).map((e) => [e.metadata.level, e.metadata.message]);
    expect(msgs).toEqual([
      ['info', 'LXD source "fake" connected'],
      ['warning', 'LXD source "fake" sent "instance-teleported", unknown to herald; stored as sent'],
      ['warning', 'LXD source "fake" sent "authn_new_thing:x", unknown to herald; stored as sent'],
      // One record per 5 s window; the next carries the count of what was skipped meanwhile.
      ['warning', 'LXD source "fake" received an event herald cannot store'],
    ]);
    const rejected = (await records()).at(-1);
    expect(rejected.metadata.context).toMatchObject({ type: '', rejected: '1' });
    expect(rejected.metadata.context.reason).toMatch(/^not JSON/);
    const s = await t.client.call<SourceStatus>('GET', '/1.0/sources/fake');
    expect(s.events_rejected).toBe(2);
    expect(s.events_stored).toBe(3);
    expect(s.unknown_names).toEqual(['instance-teleported', 'authn_new_thing:x']);
  });

  it('drops a silent connection (no pings) and records the gap with the reason', async () => {
    lxd.ping = false;
    await addSource();
    await until(
      'the silence disconnect',
      async () => (await records()).some((e) => e.metadata.level === 'warning'),
      5000,
    );
    const gap = (await records()).find((e) => e.metadata.message === 'LXD source "fake" disconnected');
    expect(gap.metadata.context.error).toBe('no ping or event from LXD for 0.4 s');
    await until('the reconnect', async () =>
      (await records()).some((e) => e.metadata.message === 'LXD source "fake" reconnected'),
    );
  });

  it('says why it cannot subscribe (refused, untrusted), recorded once while it retries', async () => {
    lxd.refuseEvents = { status: 403, error: 'not authorized' };
    const s = await addSource();
    expect(s.connected).toBe(false);
    expect(s.status).toBe('connecting');
    expect(s.last_error).toBe('GET /1.0/events refused: HTTP 403: not authorized');
    await until('several attempts', () => lxd.queries.length >= 4);
    expect((await records()).map((e) => e.metadata.message)).toEqual(['LXD source "fake" cannot connect']);
    lxd.refuseEvents = undefined;
    lxd.auth = 'untrusted';
    await until('the untrusted error', async () =>
      /does not trust this connection/.test(
        (await t.client.call<SourceStatus>('GET', '/1.0/sources/fake')).last_error ?? '',
      ),
    );
    lxd.auth = 'trusted';
    await until(
      'the connection',
      async () => (await t.client.call<SourceStatus>('GET', '/1.0/sources/fake')).connected,
    );
    // log records are published on the tick after they are written, so the status can be ahead of them
    await until('the reconnect record', async () =>
      (await records()).some((e) => e.metadata.message === 'LXD source "fake" reconnected'),
    );
    expect((await records()).map((e) => e.metadata.message)).toEqual([
      'LXD source "fake" cannot connect',
      'LXD source "fake" reconnected',
    ]);
  });

  it('refuses to subscribe to this herald itself', async () => {
    await expect(
      t.client.call('POST', '/1.0/sources', { name: 'me', url: `unix://${t.herald.socketPath}` }),
    ).rejects.toThrow(/is this herald itself/);
  });

  it('refuses bad sources with the reason', async () => {
    const c = createSelfSignedCertificate({ commonName: 'x', usage: 'client' });
    const other = createSelfSignedCertificate({ commonName: 'y', usage: 'client' });
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ name: 'bad name!' }, /source name "bad name!" must be/],
      [{ type: 'incus' }, /source type "incus" is not supported/],
      [{ url: 'http://127.0.0.1:8443' }, /over https:\/\/ or its unix socket/],
      [{ url: 'relative/path' }, /neither https/],
      [{ certificate: c.cert, key: c.key }, /a unix socket source takes no certificate/],
      [{ url: 'https://127.0.0.1:1', certificate: c.cert }, /give both the client certificate and its key/],
      [
        { url: 'https://127.0.0.1:1', certificate: c.cert, key: other.key },
        /does not belong to the client certificate/,
      ],
      [{ url: 'https://127.0.0.1:1' }, /cannot reach 127\.0\.0\.1:1.*--server-cert FILE/],
    ];
    for (const [extra, message] of cases) await expect(addSource(extra)).rejects.toThrow(message);
    await addSource();
    await expect(addSource()).rejects.toThrow(/source "fake" already exists/);
    // Sources are admin-only: they are not in the restricted list.
    const { accessOf } = await import('../../src/server/auth.js');
    expect(accessOf('GET', '/1.0/sources')).toBe('admin');
    expect(accessOf('GET', '/1.0/projects')).toBe('trusted');
  });
});

describe('LXD source parts', () => {
  it('parses LXD URLs as lxc does (port 8443 by default)', () => {
    expect(parseLxdUrl('/var/lib/lxd/unix.socket')).toEqual({ kind: 'unix', socketPath: '/var/lib/lxd/unix.socket' });
    expect(parseLxdUrl('unix:///var/lib/lxd/unix.socket')).toEqual({
      kind: 'unix',
      socketPath: '/var/lib/lxd/unix.socket',
    });
    expect(parseLxdUrl('https://lxd1')).toEqual({ kind: 'https', host: 'lxd1', port: 8443 });
    expect(parseLxdUrl('https://[::1]:9443')).toEqual({ kind: 'https', host: '::1', port: 9443 });
    expect(() => parseLxdUrl('https://lxd1:8443/1.0')).toThrow(/server address only/);
  });

  it('backs off exponentially with jitter, capped', () => {
    const o = { ...BACKOFF_DEFAULTS };
    expect(backoffDelay(0, o, () => 0)).toBe(250);
    expect(backoffDelay(0, o, () => 1)).toBe(500);
    expect(backoffDelay(3, o, () => 1)).toBe(4000);
    expect(backoffDelay(20, o, () => 1)).toBe(30_000);
    expect(backoffDelay(20, o, () => 0)).toBe(15_000);
  });

  it('ingests frames: stored, catalogue misses kept, the rest rejected with the reason', () => {
    const ok = ingestLxdFrame(
      '{"type":"logging","timestamp":"2026-01-01T00:00:00Z","metadata":{"message":"m","level":"debug","context":{}},"location":"none"}\n',
    );
    expect(ok.kind).toBe('stored');
    const miss = ingestLxdFrame(
      '{"type":"lifecycle","timestamp":"2026-01-01T00:00:00Z","metadata":{"action":"x-y","source":"/1.0"}}',
    );
    expect(miss).toMatchObject({ kind: 'stored', unknown: 'x-y' });
    expect(
      ingestLxdFrame('{"type":"lifecycle","timestamp":"nope","metadata":{"action":"x-y","source":"/1.0"}}'),
    ).toMatchObject({
      kind: 'rejected',
      type: 'lifecycle',
    });
    expect(ingestLxdFrame('{"type":"logging","metadata":{"message":"m","level":"loud","context":{}}}')).toMatchObject({
      kind: 'rejected',
      type: 'logging',
    });
    expect(
      ingestLxdFrame(`{"type":"logging","metadata":{"message":"${'x'.repeat(70_000)}","level":"info","context":{}}}`),
    ).toMatchObject({
      kind: 'rejected',
      reason: expect.stringMatching(/over the 65536-byte limit/),
    });
  });
});
