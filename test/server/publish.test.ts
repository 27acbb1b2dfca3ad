/** @module POST /1.0/events over the real unix socket: ids, defaults, the bad-input table, all-or-nothing batches. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLES, startTestHerald, type TestHerald } from '../support/herald.js';

let t: TestHerald;
beforeAll(async () => {
  t = await startTestHerald();
});
afterAll(async () => {
  await t.cleanup();
});

async function post(body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  const res = await t.client.raw('POST', '/1.0/events', body, headers);
  return { status: res.status, body: JSON.parse(res.body) };
}

const big = 'x'.repeat(70 * 1024);
const lc = SAMPLES.lifecycle;

/** Each bad input with the error it must produce: [name, body, status, field, reason fragment, index]. */
const BAD: Array<[string, string, number, string, string, number?]> = [
  ['not JSON', '{"type":', 400, '', 'not valid JSON'],
  ['empty body', '', 400, '', 'body is empty'],
  ['empty array', '[]', 400, '(body)', 'no events given'],
  [
    'unknown type',
    JSON.stringify({ type: 'custom', metadata: {} }),
    400,
    'type',
    '"custom" is not a supported event type',
  ],
  ['missing type', JSON.stringify({ metadata: {} }), 400, 'type', 'expected string'],
  [
    'missing metadata field',
    JSON.stringify({ type: 'logging', metadata: { level: 'info' } }),
    400,
    'metadata.message',
    'expected string',
  ],
  [
    'wrongly typed field',
    JSON.stringify({ type: 'logging', metadata: { message: 1, level: 'info' } }),
    400,
    'metadata.message',
    'expected string',
  ],
  [
    'context values must be strings',
    JSON.stringify({ type: 'logging', metadata: { message: 'm', level: 'info', context: { a: 1 } } }),
    400,
    'metadata.context.a',
    'expected string',
  ],
  [
    'unknown logging level',
    JSON.stringify({ type: 'logging', metadata: { message: 'm', level: 'loud' } }),
    400,
    'metadata.level',
    'Invalid option',
  ],
  [
    'unknown lifecycle action',
    JSON.stringify({ type: 'lifecycle', metadata: { action: 'instance-exploded', source: '/1.0/instances/a' } }),
    400,
    'metadata.action',
    'unknown lifecycle action "instance-exploded"',
  ],
  [
    'malformed security name (unknown base)',
    JSON.stringify({ type: 'security', metadata: { name: 'authn_magic', description: 'x' } }),
    400,
    'metadata.name',
    'authn_magic',
  ],
  [
    'malformed security name (missing suffix)',
    JSON.stringify({ type: 'security', metadata: { name: 'authz_fail', description: 'x' } }),
    400,
    'metadata.name',
    'authz_fail',
  ],
  [
    'security level outside info/warning',
    JSON.stringify({ type: 'security', metadata: { name: 'sys_startup', level: 'critical' } }),
    400,
    'metadata.level',
    'Invalid option',
  ],
  [
    'unknown MAAS event type',
    JSON.stringify({ type: 'maas', metadata: { event_type: 'NODE_EXPLODED' } }),
    400,
    'metadata.event_type',
    'unknown MAAS event type "NODE_EXPLODED"',
  ],
  [
    'bad MAC address',
    JSON.stringify({ type: 'maas', metadata: { event_type: 'NODE', mac_addresses: ['zz:zz'] } }),
    400,
    'metadata.mac_addresses.0',
    'not a MAC address',
  ],
  [
    'timestamp not RFC3339',
    JSON.stringify({ ...SAMPLES.logging, timestamp: '21/11/2026 10:00' }),
    400,
    'timestamp',
    'not an RFC3339 timestamp',
  ],
  [
    'impossible date',
    JSON.stringify({ ...SAMPLES.logging, timestamp: '2026-02-30T10:00:00Z' }),
    400,
    'timestamp',
    'not an RFC3339 timestamp',
  ],
  ['unknown envelope key', JSON.stringify({ ...SAMPLES.logging, extra: 1 }), 400, '(event)', 'Unrecognized key'],
  [
    'event over 64 KiB',
    JSON.stringify({ type: 'logging', metadata: { message: big, level: 'info' } }),
    400,
    '(event)',
    'over the 65536-byte limit',
  ],
  [
    'bad event deep in a batch names its index',
    JSON.stringify([lc, lc, { ...lc, metadata: { ...lc.metadata, action: 'nope' } }]),
    400,
    'metadata.action',
    'unknown lifecycle action "nope"',
    2,
  ],
  [
    'operation with a bad created_at',
    JSON.stringify({ ...SAMPLES.operation, metadata: { ...SAMPLES.operation.metadata, created_at: 'yesterday' } }),
    400,
    'metadata.created_at',
    'not an RFC3339 timestamp',
  ],
];

describe('POST /1.0/events', () => {
  it('stores one event and answers with its id in LXD envelope', async () => {
    const before = await t.herald.store.headId();
    const r = await post(JSON.stringify(SAMPLES.lifecycle));
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ type: 'sync', status: 'Success', status_code: 200, error_code: 0 });
    expect(r.body.metadata.ids).toEqual([before + 1]);
  });

  it('stores a batch of every type with consecutive ids', async () => {
    const before = await t.herald.store.headId();
    const r = await post(JSON.stringify(Object.values(SAMPLES)));
    expect(r.body.metadata.ids).toEqual([1, 2, 3, 4, 5, 6].map((i) => before + i));
  });

  it('fills in timestamp and location and the MAAS level and normalises MACs', async () => {
    const r = await post(JSON.stringify(SAMPLES.maas));
    const [stored] = await t.herald.store.readAfter(r.body.metadata.ids[0] - 1, 1);
    const e = JSON.parse(stored?.json as string);
    expect(e.location).toBe('none');
    expect(Date.parse(e.timestamp)).toBeGreaterThan(Date.now() - 60_000);
    expect(e.metadata.level).toBe('AUDIT');
    expect(Object.keys(e.metadata).slice(0, 2)).toEqual(['event_type', 'level']);
    expect(e.metadata.mac_addresses).toEqual(['52:54:00:aa:bb:cc']);
    expect(e.project).toBeUndefined();
  });

  it('defaults a security event level from the catalogue', async () => {
    const r = await post(JSON.stringify({ type: 'security', metadata: { name: 'sys_startup', description: 'up' } }));
    const [stored] = await t.herald.store.readAfter(r.body.metadata.ids[0] - 1, 1);
    expect(JSON.parse(stored?.json as string).metadata.level).toBe('info');
  });

  it.each(BAD)('rejects %s', async (_name, body, status, field, reason, index = 0) => {
    const before = await t.herald.store.count();
    const r = await post(body);
    expect(r.status).toBe(status);
    expect(r.body.type).toBe('error');
    expect(r.body.error_code).toBe(status);
    expect(r.body.error).toContain(reason);
    if (field) {
      expect(r.body.metadata.errors[0]).toMatchObject({ index, field });
      expect(r.body.error).toMatch(new RegExp(`^event ${index}: `));
    }
    expect(await t.herald.store.count()).toBe(before);
  });

  it('rejects a body of the wrong content type with 415', async () => {
    const r = await post(JSON.stringify(SAMPLES.logging), { 'content-type': 'text/plain' });
    expect(r.status).toBe(415);
    expect(r.body.metadata.code).toBe('HERALD_ERR_UNSUPPORTED_MEDIA');
  });

  it('acknowledges concurrent requests each with its own consecutive ids', async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, () => post(JSON.stringify([SAMPLES.logging, SAMPLES.ovn]))),
    );
    const ids = results.flatMap((r) => r.body.metadata.ids as number[]);
    expect(new Set(ids).size).toBe(100);
    for (const r of results) expect(r.body.metadata.ids[1]).toBe(r.body.metadata.ids[0] + 1);
  });

  it('commits requests that arrive together in one transaction (group commit)', async () => {
    const tx0 = t.herald.publisher.stats.transactions;
    const acks = await Promise.all(Array.from({ length: 50 }, () => t.herald.publisher.publishRaw(SAMPLES.logging)));
    expect(t.herald.publisher.stats.transactions - tx0).toBe(1);
    const ids = acks.map((a) => a[0]?.id as number);
    expect(ids).toEqual(ids.map((_, i) => (ids[0] as number) + i));
  });
});
