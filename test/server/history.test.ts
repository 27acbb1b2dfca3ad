/** @module GET /1.0/events/history over the real unix socket: filters, keyset pages and cursors, errors. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLES, startTestHerald, type TestHerald } from '../support/herald.js';

let t: TestHerald;
beforeAll(async () => {
  t = await startTestHerald();
  const web = {
    ...SAMPLES.lifecycle,
    project: 'web',
    metadata: { ...SAMPLES.lifecycle.metadata, source: '/1.0/instances/c1?project=web', project: 'web' },
  };
  // ids 1..30: a repeating mix of six kinds
  const batch = [];
  for (let i = 0; i < 5; i++)
    batch.push(SAMPLES.lifecycle, web, SAMPLES.logging, SAMPLES.security, SAMPLES.maas, SAMPLES.operation);
  await t.client.call('POST', '/1.0/events', batch);
});
afterAll(async () => {
  await t.cleanup();
});

interface Page {
  count: number;
  events: Array<{ id: number; type: string; project?: string }>;
  next: string | null;
  prev: string | null;
}

const history = (q: string) => t.client.call<Page>('GET', `/1.0/events/history?${q}`);

describe('GET /1.0/events/history', () => {
  it('returns newest first with LXD envelope events carrying ids', async () => {
    const p = await history('limit=3');
    expect(p.events.map((e) => e.id)).toEqual([30, 29, 28]);
    expect(p.count).toBe(3);
    expect(p.events[0]?.type).toBe('operation');
  });

  it('follows next and prev cursors without gaps or overlaps', async () => {
    const seen: number[] = [];
    let uri: string | null = '/1.0/events/history?limit=7';
    while (uri) {
      const p: Page = await t.client.call<Page>('GET', uri);
      seen.push(...p.events.map((e) => e.id));
      uri = p.next;
    }
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => 30 - i));
    const older = await history('limit=5&before=20');
    expect(older.events.map((e) => e.id)).toEqual([19, 18, 17, 16, 15]);
    expect(older.prev).toBe('/1.0/events/history?limit=5&after=19');
    const newer = await t.client.call<Page>('GET', older.prev as string);
    expect(newer.events.map((e) => e.id)).toEqual([24, 23, 22, 21, 20]);
  });

  it('treats repeated keys as OR and different keys as AND', async () => {
    const p = await history('type=lifecycle&type=maas&limit=100');
    expect(new Set(p.events.map((e) => e.type))).toEqual(new Set(['lifecycle', 'maas']));
    expect(p.count).toBe(15);
    const q = await history('type=lifecycle,logging&project=web');
    // project=web: the web lifecycle events plus the project-less logging events
    expect(p.count).toBe(15);
    expect(q.events.every((e) => e.project === 'web' || e.project === undefined)).toBe(true);
    expect(q.count).toBe(10);
  });

  it('selects the audit trail with level=audit and a minimum with other levels', async () => {
    const audit = await history('level=audit&limit=100');
    expect(new Set(audit.events.map((e) => e.type))).toEqual(new Set(['lifecycle', 'security', 'maas']));
    const warn = await history('level=warning&limit=100');
    expect(new Set(warn.events.map((e) => e.type))).toEqual(new Set(['security']));
  });

  it('filters by action prefix, username, node, hostname, text and time', async () => {
    expect((await history('action=authn_login_fail')).count).toBe(5);
    expect((await history('username=alice')).count).toBe(10);
    expect((await history('node=e86c7h')).count).toBe(5);
    expect((await history('hostname=valued-moth&hostname=c1')).count).toBe(15);
    expect((await history('q=binding')).count).toBe(5);
    expect((await history('since=1h')).count).toBe(30);
    expect((await history('until=1h')).count).toBe(0);
    expect((await history('since=2020-01-01T00:00:00Z&limit=2')).count).toBe(2);
  });

  it.each([
    ['type=custom', '"custom" is not a supported event type'],
    ['project=a&all-projects=true', 'Cannot specify a project when requesting all projects'],
    ['limit=1001', 'limit: must be at most 1000'],
    ['limit=0', 'limit: must be an integer of at least 1'],
    ['after=1&before=5', 'after: cannot be combined with before'],
    ['before=abc', 'before: "abc" is not a non-negative integer'],
    ['level=loud', 'level: unknown level "loud"'],
    ['since=yesterday', 'since: "yesterday" is neither an RFC3339 timestamp nor a duration like 15m'],
  ])('rejects %s with 400 naming the field', async (q, message) => {
    const res = await t.client.raw('GET', `/1.0/events/history?${q}`);
    expect(res.status).toBe(400);
    const body = JSON.parse(res.body);
    expect(body.error).toBe(message);
    expect(body.metadata.code).toBe('HERALD_ERR_BAD_QUERY');
  });
});

describe('server info and errors', () => {
  it('serves GET / and GET /1.0 as LXD does', async () => {
    expect(await t.client.call('GET', '/')).toEqual(['/1.0']);
    const info = await t.client.call<{ api_version: string; auth: string; environment: Record<string, unknown> }>(
      'GET',
      '/1.0',
    );
    expect(info.api_version).toBe('1.0');
    expect(info.auth).toBe('trusted');
    expect(info.environment).toMatchObject({ server: 'herald', server_clustered: false });
    expect(typeof info.environment.server_name).toBe('string');
  });

  it('answers unknown paths with an LXD 404 envelope', async () => {
    const res = await t.client.raw('GET', '/1.0/nothing/../here');
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body)).toMatchObject({ type: 'error', error_code: 404 });
  });

  it('publishes the error code table', async () => {
    const table = await t.client.call<Array<{ code: string; status: number }>>('GET', '/1.0/errors');
    expect(table).toContainEqual(expect.objectContaining({ code: 'HERALD_ERR_VALIDATION', status: 400 }));
  });
});
