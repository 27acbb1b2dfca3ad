/**
 * @module The hostile-input corpus against a real server over its real sockets (HTTPS and unix): every item is
 * answered with a 4xx and a message, the server keeps serving, and nothing partial is stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLES } from '../support/herald.js';
import { call, clientCert, rawTls, readAll, type SecureHerald, startSecureHerald, trust } from './helpers.js';

let t: SecureHerald;
const admin = clientCert('hostile-admin');

beforeAll(async () => {
  t = await startSecureHerald({
    limits: { headersTimeoutMs: 1_000, requestTimeoutMs: 2_000, connectionsCheckingIntervalMs: 200 },
  });
  await trust(t, admin);
});
afterAll(async () => {
  await t.cleanup();
});

/** After every hostile item: still serving on both sockets, and the log unchanged. */
async function stillServing(countBefore: number): Promise<void> {
  expect((await call(t, 'GET', '/1.0', undefined, { cert: admin })).status).toBe(200);
  expect((await t.client.raw('GET', '/1.0')).status).toBe(200);
  expect(await t.herald.store.count()).toBe(countBefore);
}

const deep = (n: number): unknown => {
  let v: unknown = 'bottom';
  for (let i = 0; i < n; i++) v = { d: v };
  return v;
};
const lc = SAMPLES.lifecycle;
const logging = (message: string) => `{"type":"logging","metadata":{"message":"${message}","level":"info"}}`;
const truncated = JSON.stringify([lc, lc, lc]);

/** [name, body, status, message fragment, content type] */
const BODIES: Array<[string, string | Buffer, number, RegExp, string?]> = [
  ['malformed JSON', '{"type":', 400, /not valid JSON/],
  ['a trailing comma', '{"type":"logging","metadata":{"message":"m","level":"info",}}', 400, /not valid JSON/],
  ['truncated JSON', truncated.slice(0, truncated.length / 2), 400, /not valid JSON/],
  ['an empty body', '', 400, /body is empty/],
  ['a bare literal', 'null', 400, /event 0/],
  ['a number', '42', 400, /event 0/],
  [
    'deep nesting in context',
    JSON.stringify({ ...lc, metadata: { ...lc.metadata, context: deep(100) } }),
    400,
    /nested deeper than 64 levels/,
  ],
  ['extreme nesting', `${'['.repeat(200_000)}${']'.repeat(200_000)}`, 400, /nested|JSON/],
  [
    'a huge number in a typed field',
    JSON.stringify(SAMPLES.operation).replace('"status_code":103', '"status_code":1e400'),
    400,
    /number out of range/,
  ],
  [
    'a huge number in free-form context',
    JSON.stringify({ ...lc, metadata: { ...lc.metadata, context: { n: 1 } } }).replace('"n":1', '"n":1e999'),
    400,
    /number out of range/,
  ],
  [
    'an integer beyond 2^53',
    JSON.stringify(SAMPLES.operation).replace('"status_code":103', '"status_code":123456789012345678901234567890'),
    400,
    /status_code/,
  ],
  ['a huge string', logging('x'.repeat(1024 * 1024)), 400, /over the 65536-byte limit/],
  [
    'many keys',
    JSON.stringify({
      ...lc,
      metadata: { ...lc.metadata, context: Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, i])) },
    }),
    400,
    /over the 65536-byte limit/,
  ],
  [
    'a raw NUL byte',
    Buffer.from(`{"type":"logging","metadata":{"message":"a\u0000b","level":"info"}}`),
    400,
    /not valid JSON/,
  ],
  ['an escaped NUL', logging('a\\u0000b'), 400, /NUL/],
  ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), 400, /not valid UTF-8/],
  ['an unpaired surrogate', logging('\\ud800'), 400, /surrogate/],
  [
    '__proto__ on the envelope',
    '{"type":"logging","__proto__":{"admin":true},"metadata":{"message":"m","level":"info"}}',
    400,
    /prototype/,
  ],
  [
    '__proto__ in context',
    JSON.stringify(lc).replace('"requestor"', '"context":{"__proto__":{"x":1}},"requestor"'),
    400,
    /prototype/,
  ],
  [
    'constructor.prototype',
    JSON.stringify(lc).replace('"requestor"', '"context":{"constructor":{"prototype":{"x":1}}},"requestor"'),
    400,
    /prototype|constructor/,
  ],
  ['text/plain', JSON.stringify(lc), 415, /Content-Type must be application\/json/, 'text/plain'],
  ['a form', 'type=logging', 415, /Content-Type/, 'application/x-www-form-urlencoded'],
  ['multipart', '--x\r\n\r\n--x--', 415, /Content-Type/, 'multipart/form-data; boundary=x'],
  [
    'a batch over 10,000 events',
    JSON.stringify(Array.from({ length: 10_001 }, () => SAMPLES.ovn)),
    413,
    /at most 10000 events; this one has 10001/,
  ],
  ['10,000 invalid events', JSON.stringify(Array.from({ length: 10_000 }, () => ({}))), 400, /and 19 more/],
];

describe('hostile request bodies: POST /1.0/events', () => {
  it.each(BODIES)('over HTTPS: %s', async (_name, body, status, message, type = 'application/json') => {
    const before = await t.herald.store.count();
    const r = await call(t, 'POST', '/1.0/events', undefined, {
      cert: admin,
      raw: body,
      headers: { 'content-type': type },
    });
    expect(r.status).toBe(status);
    expect(r.body).toMatchObject({ type: 'error', error_code: status });
    expect(r.body.error).toMatch(message);
    await stillServing(before);
  });

  it.each(BODIES)('over the unix socket: %s', async (_name, body, status, message, type = 'application/json') => {
    const before = await t.herald.store.count();
    const r = await t.client.raw('POST', '/1.0/events', body.toString(), { 'content-type': type });
    // The unix client sends strings; the invalid-UTF-8 and raw-NUL items are HTTPS-only byte-exact checks.
    if (Buffer.isBuffer(body)) expect(r.status).toBeGreaterThanOrEqual(400);
    else {
      expect(r.status).toBe(status);
      expect(JSON.parse(r.body).error).toMatch(message);
    }
    await stillServing(before);
  });

  it('a body over 16 MiB: 413 with a message', async () => {
    const before = await t.herald.store.count();
    const r = await call(t, 'POST', '/1.0/events', undefined, { cert: admin, raw: 'x'.repeat(16 * 1024 * 1024 + 1) });
    expect(r.status).toBe(413);
    expect(r.body.error).toMatch(/exceeds 16777216 bytes/);
    await stillServing(before);
  });

  it('hostile bodies on the trust routes too', async () => {
    for (const body of [
      JSON.stringify({ type: 'client', name: deep(100) }),
      '{"type":"client","__proto__":{}}',
      '{"type":"client","certificate":"not base64 at all!"}',
      '{"type":"client","certificate":"AAAA"}',
      '{"type":"client","name":"a\\u0000b","certificate":""}',
      '{"type":"client","projects":[1,2]}',
      '{"type":"metrics"}',
      '[',
    ]) {
      const before = await t.herald.store.count();
      const r = await call(t, 'POST', '/1.0/certificates', undefined, { cert: admin, raw: body });
      expect(r.status, body).toBeGreaterThanOrEqual(400);
      expect(r.status, body).toBeLessThan(500);
      expect(r.body.error, body).toBeTruthy();
      await stillServing(before);
    }
    const r = await call(t, 'POST', '/1.0/auth/tokens', undefined, { cert: admin, raw: '{"name":"x","admin":true}' });
    expect(r.status).toBe(400);
  });
});

describe('path parameters', () => {
  it.each([
    ['GET', '/1.0/certificates/..%2f..%2fetc%2fpasswd', 400],
    ['DELETE', '/1.0/certificates/..%2F..%2Fserver.key', 400],
    ['GET', '/1.0/certificates/%00', 400],
    ['GET', '/1.0/certificates/%zz', 400],
    ['GET', `/1.0/certificates/${'f'.repeat(600)}`, 414],
    ['DELETE', '/1.0/auth/tokens/..%2f..%2fherald.db', 400],
    ['GET', '/1.0/auth/tokens/%00', 400],
    ['GET', '/1.0/auth/tokens/..', 404],
    ['GET', '/1.0/../../../etc/passwd', 404],
    ['GET', '/1.0/events/history/../../server.key', 404],
    ['GET', '/MAAS/../1.0/metrics', 404],
  ] as const)('%s %s: %d', async (method, path, status) => {
    const before = await t.herald.store.count();
    // Raw, so that no client normalises the dots away.
    const s = await rawTls(t, admin);
    s.write(`${method} ${path} HTTP/1.1\r\nHost: herald\r\nConnection: close\r\n\r\n`);
    const res = await readAll(s);
    expect(res).toMatch(new RegExp(`^HTTP/1.1 ${status} `));
    expect(res).toMatch(/"error":"[^"]+"/);
    await stillServing(before);
  });
});

describe('malformed HTTP', () => {
  const raw = async (payload: string | Buffer, waitMs?: number): Promise<string> => {
    const s = await rawTls(t, admin);
    s.write(payload);
    return readAll(s, waitMs);
  };

  it('a slowloris request (headers never finished): 408 with a message, then closed', async () => {
    const before = await t.herald.store.count();
    const started = Date.now();
    const res = await raw('GET /1.0 HTTP/1.1\r\nHost: herald\r\nX-Slow: 1\r\n', 8_000);
    expect(res).toMatch(/^HTTP\/1.1 408 /);
    expect(res).toMatch(/"error":"request not received in time"/);
    expect(Date.now() - started).toBeLessThan(5_000);
    await stillServing(before);
  });

  it('a slow body: 408 with a message, nothing stored', async () => {
    const before = await t.herald.store.count();
    const res = await raw(
      'POST /1.0/events HTTP/1.1\r\nHost: herald\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n[{"type":',
      8_000,
    );
    expect(res).toMatch(/^HTTP\/1.1 408 /);
    await stillServing(before);
  });

  it('a TLS connection that never handshakes is dropped without harm', async () => {
    const { connect } = await import('node:net');
    const before = await t.herald.store.count();
    const s = connect({ host: t.host, port: t.port });
    await new Promise((r) => s.once('connect', r));
    s.write('GET / HTTP/1.1\r\n\r\n'); // plain HTTP on the TLS port
    await new Promise((r) => s.once('close', r));
    await stillServing(before);
  });

  it.each([
    [
      'oversized headers',
      `GET /1.0 HTTP/1.1\r\nHost: herald\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      431,
      /headers exceed 16384 bytes/,
    ],
    ['a garbage request line', 'HELLO THERE\r\n\r\n', 400, /malformed HTTP request/],
    ['a header without a colon', 'GET /1.0 HTTP/1.1\r\nHost herald\r\n\r\n', 400, /malformed HTTP request/],
    ['a NUL in a header', 'GET /1.0 HTTP/1.1\r\nHost: her\u0000ald\r\n\r\n', 400, /malformed HTTP request/],
    [
      'Content-Length with Transfer-Encoding (smuggling)',
      'POST /1.0/events HTTP/1.1\r\nHost: herald\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      400,
      /malformed HTTP request/,
    ],
    [
      'a bad chunk size',
      'POST /1.0/events HTTP/1.1\r\nHost: herald\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      400,
      /malformed HTTP request/,
    ],
  ] as const)('%s: %d with a message', async (_name, payload, status, message) => {
    const before = await t.herald.store.count();
    const res = await raw(payload);
    expect(res).toMatch(new RegExp(`^HTTP/1.1 ${status} `));
    expect(res).toMatch(message);
    await stillServing(before);
  });
});

describe('WebSocket upgrades with bad handshakes', () => {
  const upgrade = async (headers: string, cert = admin): Promise<string> => {
    const s = await rawTls(t, cert);
    s.write(`GET /1.0/events HTTP/1.1\r\nHost: herald\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${headers}\r\n`);
    return readAll(s, 5_000);
  };

  it.each([
    ['a malformed key', 'Sec-WebSocket-Key: not-a-key\r\nSec-WebSocket-Version: 13\r\n'],
    ['no key', 'Sec-WebSocket-Version: 13\r\n'],
    ['an unknown version', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 99\r\n'],
  ])('%s: 4xx with a message, no upgrade', async (_name, headers) => {
    const before = await t.herald.store.count();
    const res = await upgrade(headers);
    expect(res).toMatch(/^HTTP\/1.1 4\d\d /);
    expect(res).not.toMatch(/^HTTP\/1.1 101/);
    expect(res.split('\r\n\r\n')[1]?.length).toBeGreaterThan(0);
    await stillServing(before);
  });

  it('an untrusted caller is refused before the handshake is even looked at', async () => {
    const res = await upgrade('Sec-WebSocket-Key: x\r\nSec-WebSocket-Version: 13\r\n', clientCert('nobody'));
    expect(res).toMatch(/^HTTP\/1.1 403 /);
    expect(res).toMatch(/not authorized/);
  });
});

describe('connection limit', () => {
  it('closes connections beyond the limit at once and serves again when they go', async () => {
    const h = await startSecureHerald({ limits: { maxConnections: 4 } });
    try {
      const held = await Promise.all(Array.from({ length: 4 }, () => rawTls(h, admin)));
      const extra = await rawTls(h, admin).then(
        (s) => readAll(s, 3_000).then((data) => `closed:${data}`),
        (err: Error) => `refused:${err.message}`,
      );
      expect(extra).toMatch(/^(closed:|refused:)/);
      expect(extra).not.toMatch(/HTTP\/1.1 200/);
      for (const s of held) s.destroy();
      await new Promise((r) => setTimeout(r, 100));
      expect((await call(h, 'GET', '/')).status).toBe(200);
    } finally {
      await h.cleanup();
    }
  });
});
