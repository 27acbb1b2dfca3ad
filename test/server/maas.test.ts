/**
 * @module GET /MAAS/api/2.0/events/?op=query over the real unix socket (and in-process as a network caller): levels,
 * filters, paging, every §1.6 and §1.7 row with exact strings, the cross-type view, OAuth acceptance and rejections.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Identity } from '../../src/core/permissions.js';
import { buildApp } from '../../src/server/app.js';
import { MAAS_API_HASH, maasRoutes } from '../../src/server/routes/maas.js';
import { SAMPLES, startTestHerald, type TestHerald } from '../support/herald.js';

const E = '/MAAS/api/2.0/events/';
const MAC_A = '52:54:00:aa:bb:cc';
const moth = {
  node: 'e86c7h',
  hostname: 'valued-moth',
  zone: 'default',
  pool: 'default',
  domain: 'maas',
  agent_name: '',
  mac_addresses: [MAC_A],
};
const otter = {
  node: 'xyz789',
  hostname: 'quiet-otter',
  zone: 'zone-a',
  pool: 'gpu',
  domain: 'lab',
  agent_name: 'juju',
  mac_addresses: ['52:54:00:11:22:33'],
};
const maas = (ts: string, metadata: Record<string, unknown>) => ({ type: 'maas', timestamp: ts, metadata });
const at = (ts: string, e: object) => ({ ...e, timestamp: ts });

/** ids 1..14, in this order */
const EVENTS = [
  maas('2022-04-21T19:20:24Z', { event_type: 'AUTHORISATION', username: 'admin', description: 'Logged in admin.' }),
  maas('2022-04-21T19:20:49Z', {
    event_type: 'SETTINGS',
    username: 'admin',
    description: "Updated configuration setting 'maas_name' to 'neuromancer'.",
  }),
  maas('2022-04-25T21:51:18Z', {
    event_type: 'NODE',
    username: 'admin',
    description: "Acquired 'valued-moth'.",
    ...moth,
  }),
  maas('2022-04-25T21:51:19Z', {
    event_type: 'NODE_CHANGED_STATUS',
    description: "From 'Ready' to 'Allocated'",
    ...moth,
  }),
  maas('2022-04-25T21:51:20Z', { event_type: 'DEPLOYING', ...moth }),
  maas('2022-04-25T21:51:21Z', { event_type: 'NODE_POWER_QUERY_FAILED', description: 'BMC timeout', ...otter }),
  maas('2022-04-25T21:51:21Z', { event_type: 'NODE_POWER_ON_FAILED', description: 'power on failed', ...otter }),
  at('2022-04-25T21:51:22Z', SAMPLES.lifecycle),
  at('2022-04-25T21:51:22Z', SAMPLES.security),
  at('2022-04-25T21:51:22Z', { type: 'logging', metadata: { message: 'Handling API request', level: 'debug' } }),
  at('2022-04-25T21:51:22Z', { type: 'logging', metadata: { message: 'Failed to connect', level: 'error' } }),
  at('2022-04-25T21:51:22Z', SAMPLES.operation),
  at('2022-04-25T21:51:22Z', SAMPLES.ovn),
  maas('2022-04-25T21:51:23Z', {
    event_type: 'NODE',
    username: 'admin',
    description: "Started deploying 'valued-moth'.",
    ...moth,
  }),
];

interface Body {
  count: number;
  events: Array<{ id: number; level: string; [k: string]: unknown }>;
  next_uri: string;
  prev_uri: string | null;
}

let t: TestHerald;
beforeAll(async () => {
  // herald's own log records would be events too, and shift the ids these tests name.
  t = await startTestHerald({ logEvents: false });
  const { ids } = await t.client.call<{ ids: number[] }>('POST', '/1.0/events', EVENTS);
  expect(ids).toEqual(EVENTS.map((_, i) => i + 1));
});
afterAll(async () => {
  await t.cleanup();
});

const get = (query: string, headers: Record<string, string> = {}) =>
  t.client.raw('GET', query === '' ? E : `${E}?${query}`, undefined, headers);

async function query(q: string): Promise<Body> {
  const r = await get(q);
  expect(r.status, r.body).toBe(200);
  return JSON.parse(r.body) as Body;
}
const ids = async (q: string) => (await query(q)).events.map((e) => e.id);

describe('response format', () => {
  it('is 4-space JSON with MAAS key order, its content type and the API hash header', async () => {
    const r = await get('op=query&level=AUDIT&owner=admin&limit=1');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(r.headers['x-maas-api-hash']).toBe(MAAS_API_HASH);
    expect(MAAS_API_HASH).toMatch(/^[0-9a-f]{40}$/);
    expect(r.body).toBe(
      [
        '{',
        '    "count": 1,',
        '    "events": [',
        '        {',
        '            "username": "admin",',
        '            "node": "e86c7h",',
        '            "hostname": "valued-moth",',
        '            "id": 14,',
        '            "level": "AUDIT",',
        '            "created": "Mon, 25 Apr. 2022 21:51:23",',
        '            "type": "Node",',
        `            "description": "Started deploying 'valued-moth'."`,
        '        }',
        '    ],',
        '    "next_uri": "/MAAS/api/2.0/events/?op=query&level=AUDIT&owner=admin&limit=1&after=14",',
        '    "prev_uri": "/MAAS/api/2.0/events/?op=query&level=AUDIT&owner=admin&limit=1&before=14"',
        '}',
      ].join('\n'),
    );
  });

  it('carries the hash on errors too, which are plain text', async () => {
    const r = await get('op=query&level=info');
    expect(r.status).toBe(400);
    expect(r.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(r.headers['x-maas-api-hash']).toBe(MAAS_API_HASH);
  });
});

describe('levels, filters and order', () => {
  it('level=AUDIT is the whole audit trail, events without a node included (deliberate difference 1)', async () => {
    expect(await ids('op=query&level=AUDIT')).toEqual([14, 9, 8, 3, 2, 1]);
    const b = await query('op=query&level=AUDIT&limit=3');
    expect(b.events.map((e) => [e.id, e.type, e.node])).toEqual([
      [14, 'Node', 'e86c7h'],
      [9, 'Security', null],
      [8, 'Instance', null],
    ]);
    const old = await query('op=query&level=AUDIT&before=3');
    expect(old.events.map((e) => [e.type, e.description, e.node, e.hostname])).toEqual([
      ['Settings', "Updated configuration setting 'maas_name' to 'neuromancer'.", null, 'unknown'],
      ['Authorisation', 'Logged in admin.', null, 'unknown'],
    ]);
  });

  it('every other level is a minimum without the audit trail, INFO by default', async () => {
    expect(await ids('op=query')).toEqual([13, 12, 11, 7, 6, 5]);
    expect(await ids('op=query&level=INFO')).toEqual([13, 12, 11, 7, 6, 5]);
    expect(await ids('op=query&level=DEBUG')).toEqual([13, 12, 11, 10, 7, 6, 5, 4]);
    expect(await ids('op=query&level=WARNING')).toEqual([11, 7, 6]);
    expect(await ids('op=query&level=ERROR')).toEqual([11, 7]);
    expect(await ids('op=query&level=CRITICAL')).toEqual([]);
    const levels = (await query('op=query&level=DEBUG')).events.map((e) => e.level);
    expect(levels).toEqual(['INFO', 'INFO', 'ERROR', 'DEBUG', 'ERROR', 'WARNING', 'INFO', 'DEBUG']);
  });

  it('hostname, id and owner match what the event recorded', async () => {
    expect(await ids('op=query&hostname=valued-moth')).toEqual([5]);
    expect(await ids('op=query&hostname=valued-moth&level=AUDIT')).toEqual([14, 3]);
    expect(await ids('op=query&hostname=c1&level=AUDIT')).toEqual([8]);
    expect(await ids('op=query&hostname=c1&hostname=quiet-otter&level=AUDIT')).toEqual([8]);
    expect(await ids('op=query&hostname=quiet-otter&hostname=valued-moth&level=DEBUG')).toEqual([7, 6, 5, 4]);
    expect(await ids('op=query&id=xyz789&level=DEBUG')).toEqual([7, 6]);
    expect(await ids('op=query&id=xyz789&id=e86c7h&level=AUDIT')).toEqual([14, 3]);
    expect(await ids('op=query&id=nope')).toEqual([]);
    expect(await ids('op=query&owner=admin&level=AUDIT')).toEqual([14, 3, 2, 1]);
    expect(await ids('op=query&owner=alice&level=AUDIT')).toEqual([8]);
    // No node has a blank hostname or system id: blanks match nothing, as in MAAS.
    expect(await ids('op=query&hostname=&level=DEBUG')).toEqual([]);
    expect(await ids('op=query&id=&id=xyz789&level=DEBUG')).toEqual([7, 6]);
    expect(await ids('op=query&id=xyz789&owner=&level=DEBUG')).toEqual([]);
  });

  it('zone, pool, domain, agent_name and mac_address match recorded attributes (deliberate difference 2)', async () => {
    expect(await ids('op=query&level=DEBUG&zone=zone-a')).toEqual([7, 6]);
    expect(await ids('op=query&level=DEBUG&zone=zone-b&zone=zone-a')).toEqual([7, 6]);
    expect(await ids('op=query&level=DEBUG&pool=gpu')).toEqual([7, 6]);
    expect(await ids('op=query&level=DEBUG&domain=lab&domain=maas')).toEqual([7, 6, 5, 4]);
    expect(await ids('op=query&level=DEBUG&agent_name=juju')).toEqual([7, 6]);
    expect(await ids('op=query&level=DEBUG&agent_name=')).toEqual([5, 4]);
    expect(await ids('op=query&level=AUDIT&mac_address=52-54-00-AA-BB-CC')).toEqual([14, 3]);
    expect(await ids('op=query&level=AUDIT&mac_address=5254.00aa.bbcc&zone=default&pool=default')).toEqual([14, 3]);
    expect(await ids('op=query&level=AUDIT&mac_address=52:54:00:00:00:01')).toEqual([]);
  });

  it('windows by id: newest first; after gives the oldest limit after it, reversed; limit clamps to 1', async () => {
    expect(await ids('op=query&level=AUDIT&limit=2')).toEqual([14, 9]);
    expect(await ids('op=query&level=AUDIT&limit=2&before=9')).toEqual([8, 3]);
    expect(await ids('op=query&level=AUDIT&limit=2&after=1')).toEqual([3, 2]);
    expect(await ids('op=query&level=AUDIT&limit=2&after=0')).toEqual([2, 1]);
    expect(await ids('op=query&level=AUDIT&limit=0')).toEqual([14]);
    expect(await ids('op=query&level=AUDIT&limit=-3&limit=2')).toEqual([14, 9]);
    expect(await ids('op=query&level=AUDIT&after=&before=')).toEqual([14, 9, 8, 3, 2, 1]);
  });

  it('walks the whole log through prev_uri and back through next_uri', async () => {
    const older: number[] = [];
    let uri: string | null = `${E}?op=query&level=DEBUG&limit=3`;
    while (uri) {
      const b: Body = JSON.parse((await t.client.raw('GET', uri)).body);
      older.push(...b.events.map((e) => e.id));
      uri = b.prev_uri;
      if (b.count === 0) break;
    }
    expect(older).toEqual([13, 12, 11, 10, 7, 6, 5, 4]);
    const newer: number[] = [];
    uri = `${E}?op=query&level=DEBUG&limit=3&after=0`;
    for (let i = 0; i < 5 && uri; i++) {
      const b: Body = JSON.parse((await t.client.raw('GET', uri)).body);
      newer.unshift(...b.events.map((e) => e.id));
      uri = b.count === 0 ? null : b.next_uri;
    }
    expect(newer).toEqual([13, 12, 11, 10, 7, 6, 5, 4]);
  });
});

describe('§1.6 next_uri and prev_uri, every row', () => {
  it('events returned: next after=<newest id>, prev before=<oldest id>', async () => {
    const b = await query('op=query&level=AUDIT&limit=2&before=9');
    expect([b.next_uri, b.prev_uri]).toEqual([
      `${E}?op=query&level=AUDIT&limit=2&after=8`,
      `${E}?op=query&level=AUDIT&limit=2&before=3`,
    ]);
  });

  it('empty, no before and no after: next is the base, prev is null', async () => {
    const b = await query('op=query&level=CRITICAL&limit=5');
    expect(b).toEqual({ count: 0, events: [], next_uri: `${E}?op=query&level=CRITICAL&limit=5`, prev_uri: null });
  });

  it('empty with before=B: next after=B-1, prev null', async () => {
    const b = await query('op=query&level=AUDIT&limit=5&before=1');
    expect([b.count, b.next_uri, b.prev_uri]).toEqual([0, `${E}?op=query&level=AUDIT&limit=5&after=0`, null]);
  });

  it('empty with after=A: next loses the after, prev before=A+1', async () => {
    const b = await query('op=query&level=AUDIT&limit=5&after=100');
    expect([b.count, b.next_uri, b.prev_uri]).toEqual([
      0,
      `${E}?op=query&level=AUDIT&limit=5`,
      `${E}?op=query&level=AUDIT&limit=5&before=101`,
    ]);
  });

  it('last value of repeated keys, pool dropped, unknown keys dropped, window key last', async () => {
    const b = await query('pool=default&hostname=c1&op=query&hostname=valued-moth&level=AUDIT&limit=9&x=1&oauth_x=2');
    expect(b.events.map((e) => e.id)).toEqual([14, 3]);
    expect(b.next_uri).toBe(`${E}?hostname=valued-moth&op=query&level=AUDIT&limit=9&after=14`);
    expect(b.prev_uri).toBe(`${E}?hostname=valued-moth&op=query&level=AUDIT&limit=9&before=3`);
  });

  it('encodes as urlencode and echoes the limit as given', async () => {
    const b = await query('op=query&level=AUDIT&limit=0&mac_address=52:54:00:AA:BB:CC&owner=a%20b');
    expect(b.next_uri).toBe(`${E}?op=query&level=AUDIT&limit=0&mac_address=52%3A54%3A00%3AAA%3ABB%3ACC&owner=a+b`);
  });
});

describe('§1.7 errors, every row, exact bodies', () => {
  const cases: Array<[string, number, string]> = [
    ['op=query&after=abc', 400, 'Invalid after: Please enter an integer value'],
    ['op=query&before=1.5', 400, 'Invalid before: Please enter an integer value'],
    ['op=query&limit=ten', 400, 'Invalid limit: Please enter an integer value'],
    ['op=query&limit=1001', 400, 'Requested number of events 1001 is greater than limit: 1000'],
    ['op=query&level=info', 400, 'Unrecognised log level: info'],
    ['op=query&level=', 400, 'Unrecognised log level: '],
    ['op=query&after=1&before=3', 400, 'There is undetermined behaviour when both `after` and `before` are specified.'],
    ['op=query&mac_address=zz&mac_address=52:54:00:aa:bb:cc&mac_address=x', 400, 'Invalid MAC address(es): zz, x'],
    ['', 400, 'Unrecognised signature: method=GET op=None'],
    ['op=list', 400, 'Unrecognised signature: method=GET op=list'],
    ['op=query&limit=', 500, "'>' not supported between instances of 'NoneType' and 'int'"],
  ];
  for (const [q, status, body] of cases) {
    it(`${q || '(no op)'} -> ${status} ${body}`, async () => {
      const r = await get(q);
      expect([r.status, r.body]).toEqual([status, body]);
      expect(r.headers['content-type']).toBe('text/plain; charset=utf-8');
    });
  }

  it('other methods: Unrecognised signature with the method', async () => {
    const post = await t.client.raw('POST', `${E}?op=query`);
    expect([post.status, post.body]).toEqual([400, 'Unrecognised signature: method=POST op=query']);
    const form = await t.client.raw('POST', E, 'op=query', { 'content-type': 'application/x-www-form-urlencoded' });
    expect([form.status, form.body]).toEqual([400, 'Unrecognised signature: method=POST op=query']);
    const put = await t.client.raw('PUT', E);
    expect([put.status, put.body]).toEqual([400, 'Unrecognised signature: method=PUT op=None']);
    const del = await t.client.raw('DELETE', `${E}?op=query`);
    expect([del.status, del.body]).toEqual([400, 'Unrecognised signature: method=DELETE op=query']);
  });
});

// ---------------------------------------------------------------------------------------------------------------------

interface Sign {
  nonce?: string;
  timestamp?: string | number;
  method?: string;
  version?: string;
  consumer?: string;
  token?: string;
  secret?: string;
  omit?: string[];
}

function parts(key: string, o: Sign, nowS: number): Array<[string, string]> {
  const [c, tk, s] = key.split(':') as [string, string, string];
  const all: Array<[string, string]> = [
    ['oauth_nonce', o.nonce ?? String(Math.floor(Math.random() * 1e12))],
    ['oauth_timestamp', String(o.timestamp ?? nowS)],
    ['oauth_version', o.version ?? '1.0'],
    ['oauth_signature_method', o.method ?? 'PLAINTEXT'],
    ['oauth_consumer_key', o.consumer ?? c],
    ['oauth_token', o.token ?? tk],
    ['oauth_signature', `%26${o.secret ?? s}`],
  ];
  return all.filter(([k]) => !o.omit?.includes(k));
}

/** The header oauthlib produces for the MAAS CLI (spec §5). */
function oauth(key: string, o: Sign = {}, nowS = Math.floor(Date.now() / 1000)): Record<string, string> {
  return {
    authorization: `OAuth ${parts(key, o, nowS)
      .map(([k, v]) => `${k}="${v}"`)
      .join(', ')}`,
  };
}

const WWW = 'OAuth realm="OAuth"';

describe('OAuth API keys', () => {
  let key: string;
  let consumer: string;
  const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
  const NOW_S = NOW / 1000;
  let net: FastifyInstance;
  let restricted: FastifyInstance;

  const netApp = (identity: Identity) => {
    const h = t.herald;
    return buildApp(
      {
        store: h.store,
        publisher: h.publisher,
        fabric: h.fabric,
        info: h.info,
        log: h.log,
        metrics: h.metrics,
        identify: () => identity,
        now: () => NOW,
      },
      [maasRoutes],
    );
  };
  const netGet = (app: FastifyInstance, q: string, headers: Record<string, string> = {}) =>
    app.inject({ method: 'GET', url: `${E}?${q}`, headers });

  beforeAll(async () => {
    const created = await t.client.call<{ key: string; consumer_key: string; username: string }>(
      'POST',
      '/1.0/maas/keys',
      { username: 'ops' },
    );
    key = created.key;
    consumer = created.consumer_key;
    expect(key).toMatch(/^[a-zA-Z0-9]{18}:[a-zA-Z0-9]{18}:[a-zA-Z0-9]{32}$/);
    expect(created.username).toBe('ops');
    net = await netApp({ kind: 'admin', username: '', protocol: 'tls', address: '192.0.2.7' });
    restricted = await netApp({
      kind: 'restricted',
      username: 'eve',
      protocol: 'tls',
      address: '192.0.2.8',
      server: [],
      projects: {},
    });
  });
  afterAll(async () => {
    await net.close();
    await restricted.close();
  });

  it('a network caller without credentials gets 401 Forbidden', async () => {
    const r = await netGet(net, 'op=query');
    expect([r.statusCode, r.body, r.headers['content-type']]).toEqual([401, 'Forbidden', 'text/plain']);
    const bearer = await netGet(net, 'op=query', { authorization: 'Bearer abc' });
    expect([bearer.statusCode, bearer.body]).toEqual([401, 'Forbidden']);
  });

  it('accepts a valid PLAINTEXT signature in the header, or in the query string', async () => {
    const r = await netGet(net, 'op=query&level=AUDIT&limit=1', oauth(key, {}, NOW_S));
    expect(r.statusCode).toBe(200);
    expect(JSON.parse(r.body).events[0].id).toBe(14);
    const qs = parts(key, {}, NOW_S)
      .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
      .join('&');
    const viaQuery = await netGet(net, `op=query&level=AUDIT&limit=1&${qs}`);
    expect(viaQuery.statusCode).toBe(200);
    // The oauth_* parameters are not query filters and are not carried into the URIs.
    expect(JSON.parse(viaQuery.body).next_uri).toBe(`${E}?op=query&level=AUDIT&limit=1&after=14`);
  });

  it('checks credentials before the operation', async () => {
    expect((await netGet(net, 'op=nope')).statusCode).toBe(401);
    const r = await netGet(net, 'op=nope', oauth(key, {}, NOW_S));
    expect([r.statusCode, r.body]).toEqual([400, 'Unrecognised signature: method=GET op=nope']);
  });

  it('rejects a reused nonce', async () => {
    const h = oauth(key, { nonce: '31337' }, NOW_S);
    expect((await netGet(net, 'op=query', h)).statusCode).toBe(200);
    const r = await netGet(net, 'op=query', h);
    expect([r.statusCode, r.body, r.headers['www-authenticate']]).toEqual([
      401,
      "Authorization Error: 'Nonce already used: 31337'",
      WWW,
    ]);
    // A reused nonce is reported before a bad signature, but a request that fails its signature spends no nonce.
    const forged = oauth(key, { nonce: '31337', secret: 'y'.repeat(32) }, NOW_S);
    expect((await netGet(net, 'op=query', forged)).body).toBe("Authorization Error: 'Nonce already used: 31337'");
    const fresh = oauth(key, { nonce: '424242', secret: 'y'.repeat(32) }, NOW_S);
    expect((await netGet(net, 'op=query', fresh)).body).toBe("Authorization Error: 'Invalid signature.'");
    expect((await netGet(net, 'op=query', oauth(key, { nonce: '424242' }, NOW_S))).statusCode).toBe(200);
  });

  it('rejects a timestamp more than 300 s old, and accepts one exactly 300 s old', async () => {
    const r = await netGet(net, 'op=query', oauth(key, { timestamp: NOW_S - 301 }, NOW_S));
    expect([r.statusCode, r.body, r.headers['www-authenticate']]).toEqual([
      401,
      `Authorization Error: 'Expired timestamp: given ${NOW_S - 301} and now ${NOW_S} has a greater difference than threshold 300'`,
      WWW,
    ]);
    expect((await netGet(net, 'op=query', oauth(key, { timestamp: NOW_S - 300 }, NOW_S))).statusCode).toBe(200);
  });

  it('rejects an unknown consumer as an invalid API key', async () => {
    const r = await netGet(net, 'op=query', oauth(key, { consumer: 'nosuchconsumer' }, NOW_S));
    expect([r.statusCode, r.body, r.headers['www-authenticate']]).toEqual([
      401,
      'Authorization Error: Invalid API key.',
      WWW,
    ]);
  });

  it('rejects a token that is not the consumer’s', async () => {
    const r = await netGet(net, 'op=query', oauth(key, { token: 'WrongToken' }, NOW_S));
    expect([r.statusCode, r.body]).toEqual([401, "Authorization Error: 'Invalid access token: WrongToken'"]);
  });

  it('rejects a wrong secret without revealing the right one', async () => {
    const r = await netGet(net, 'op=query', oauth(key, { secret: 'x'.repeat(32) }, NOW_S));
    expect([r.statusCode, r.body, r.headers['www-authenticate']]).toEqual([
      401,
      "Authorization Error: 'Invalid signature.'",
      WWW,
    ]);
  });

  it('rejects other signature methods and OAuth versions', async () => {
    const hmac = await netGet(net, 'op=query', oauth(key, { method: 'HMAC-SHA1' }, NOW_S));
    expect([hmac.statusCode, hmac.body]).toEqual([
      401,
      "Authorization Error: 'Signature method HMAC-SHA1 not supported try one of the following: PLAINTEXT'",
    ]);
    const v2 = await netGet(net, 'op=query', oauth(key, { version: '2.0' }, NOW_S));
    expect([v2.statusCode, v2.body]).toEqual([401, "Authorization Error: 'OAuth version 2.0 not supported.'"]);
  });

  it('a missing parameter leaves the credentials unusable: 401 Forbidden', async () => {
    const r = await netGet(net, 'op=query', oauth(key, { omit: ['oauth_nonce'] }, NOW_S));
    expect([r.statusCode, r.body]).toEqual([401, 'Forbidden']);
  });

  it('a non-integer timestamp is a 400 with the repr-quoted report', async () => {
    const r = await netGet(net, 'op=query', oauth(key, { timestamp: 'soon' }, NOW_S));
    expect([r.statusCode, r.body, r.headers['content-type']]).toEqual([
      400,
      "'Bad Request: the following problems were found among the auth params: oauth_timestamp has an unexpected type'",
      'text/plain; charset=utf-8',
    ]);
  });

  it('a parameter present only as a blank query value is missing to piston: 400 repr-quoted', async () => {
    const qs = parts(key, { nonce: '' }, NOW_S)
      .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
      .join('&');
    const r = await netGet(net, `op=query&${qs}`);
    expect([r.statusCode, r.body]).toEqual([400, "'Bad Request: Parameter not found: oauth_nonce'"]);
  });

  it('over the unix socket no key is needed, but one that is given is checked', async () => {
    expect((await get('op=query')).status).toBe(200);
    expect((await get('op=query', oauth(key))).status).toBe(200);
    const bad = await get('op=query', oauth(key, { consumer: 'nosuchconsumer' }));
    expect([bad.status, bad.body]).toEqual([401, 'Authorization Error: Invalid API key.']);
  });

  it('a key opens the whole view to a caller the transport does not trust', async () => {
    expect((await netGet(restricted, 'op=query&level=AUDIT')).statusCode).toBe(401);
    const r = await netGet(restricted, 'op=query&level=AUDIT&limit=2', oauth(key, {}, NOW_S));
    expect(r.statusCode).toBe(200);
    expect((JSON.parse(r.body) as Body).events.map((e) => e.id)).toEqual([14, 9]);
  });

  it('lists keys without secrets, refuses non-administrators, revokes', async () => {
    const list = await t.client.call<Array<Record<string, string>>>('GET', '/1.0/maas/keys');
    const mine = list.find((k) => k.consumer_key === consumer);
    expect(mine).toMatchObject({ username: 'ops', token_key: key.split(':')[1] });
    expect(JSON.stringify(list)).not.toContain(key.split(':')[2]);
    expect(Object.keys(mine ?? {}).sort()).toEqual(['consumer_key', 'created_at', 'token_key', 'username']);
    const stored = await t.herald.store.getState(`maas.key.${consumer}`);
    expect(stored).not.toContain(key.split(':')[2]);

    const denied = await restricted.inject({ method: 'GET', url: '/1.0/maas/keys' });
    expect(denied.statusCode).toBe(403);
    const bad = await t.client.raw('POST', '/1.0/maas/keys', '{"username":"no spaces"}', {
      'content-type': 'application/json',
    });
    expect(bad.status).toBe(400);

    const other = await t.client.call<{ key: string; consumer_key: string }>('POST', '/1.0/maas/keys', {
      username: 'tmp',
    });
    await t.client.call('DELETE', `/1.0/maas/keys/${other.consumer_key}`);
    const after = await netGet(net, 'op=query', oauth(other.key, {}, NOW_S));
    expect([after.statusCode, after.body]).toEqual([401, 'Authorization Error: Invalid API key.']);
    const again = await t.client.raw('DELETE', `/1.0/maas/keys/${other.consumer_key}`);
    expect(again.status).toBe(404);
  });
});
