/** @module The pure MAAS view: Python semantics, §1.6 URIs, §1.7 errors, the created format and the mapping table. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { EventType, HeraldEvent } from '../../src/core/event.js';
import {
  checkSignature,
  formatMaasCreated,
  MAAS_VIEW_TABLE,
  MaasApiError,
  maasLevelOf,
  maasPageRequest,
  maasPageUris,
  normaliseMaasMac,
  parseMaasQuery,
  parsePyInt,
  pyPercentFormat,
  pyQuotePlus,
  pyRepr,
  renderMaasBody,
  toMaasEvent,
} from '../../src/core/maas-view.js';
import { type PreparedEvent, prepareOne, type ValidatedEvent } from '../../src/core/prepare.js';
import { SAMPLES } from '../support/herald.js';

const P = (q: string) => new URLSearchParams(q);

function errorOf(fn: () => unknown): { status: number; body: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof MaasApiError) return { status: err.status, body: err.body };
    throw err;
  }
  throw new Error('expected a MaasApiError');
}

const uris = (q: string, ids: number[]) => maasPageUris(parseMaasQuery(P(q)), ids);
const E = '/MAAS/api/2.0/events/';

describe('Python semantics the wire format depends on', () => {
  it('parses integers as int() does', () => {
    expect(parsePyInt('12')).toBe(12n);
    expect(parsePyInt(' 12 ')).toBe(12n);
    expect(parsePyInt('+5')).toBe(5n);
    expect(parsePyInt('-7')).toBe(-7n);
    expect(parsePyInt('007')).toBe(7n);
    expect(parsePyInt('1_000')).toBe(1000n);
    expect(parsePyInt('99999999999999999999')).toBe(99999999999999999999n);
    for (const bad of ['', ' ', 'abc', '1.5', '1e3', '0x10', '1__0', '_1', '1_', '--1']) {
      expect(parsePyInt(bad)).toBeUndefined();
    }
  });

  it('reprs strings as Python does', () => {
    expect(pyRepr('Nonce already used: 1')).toBe("'Nonce already used: 1'");
    expect(pyRepr("it's")).toBe('"it\'s"');
    expect(pyRepr('a"b\'')).toBe("'a\"b\\''");
    expect(pyRepr('é\x7f\u200b\n\x00\\')).toBe("'é\\x7f\\u200b\\n\\x00\\\\'");
  });

  it('quotes as quote_plus does', () => {
    expect(pyQuotePlus("x~*'!()@:/é a")).toBe('x~%2A%27%21%28%29%40%3A%2F%C3%A9+a');
    expect(pyQuotePlus('aA0_.-')).toBe('aA0_.-');
  });

  it('renders audit descriptions with the % operator and a username mapping', () => {
    expect(pyPercentFormat("Started deploying 'valued-moth'.", 'admin')).toBe("Started deploying 'valued-moth'.");
    expect(pyPercentFormat('Logged in %(username)s.', 'admin')).toBe('Logged in admin.');
    expect(pyPercentFormat('%(username)r|%(username)10s|%(username)-8s|%(username).2s', 'admin')).toBe(
      "'admin'|     admin|admin   |ad",
    );
    expect(pyPercentFormat('100%% done', 'admin')).toBe('100% done');
    expect(pyPercentFormat('x %s', 'admin')).toBe("x {'username': 'admin'}");
    expect(pyPercentFormat('%s then %(username)s', 'bob')).toBe("{'username': 'bob'} then bob");
    // Where Python raises, MAAS answers 500; herald keeps the stored text (undefined here).
    for (const bad of ['100% done', '%(other)s', '%(username)d', '%s %s', '%(username)s %s', 'trailing %', '%5%']) {
      expect(pyPercentFormat(bad, 'admin')).toBeUndefined();
    }
  });
});

describe('created', () => {
  it('formats as %a, %d %b. %Y %H:%M:%S in UTC, seconds truncated', () => {
    expect(formatMaasCreated(Date.UTC(2022, 3, 25, 21, 51, 23, 999))).toBe('Mon, 25 Apr. 2022 21:51:23');
    expect(formatMaasCreated(Date.parse('2018-12-07T15:11:08.5-05:00'))).toBe('Fri, 07 Dec. 2018 20:11:08');
    expect(formatMaasCreated(Date.UTC(2024, 0, 1, 0, 0, 0))).toBe('Mon, 01 Jan. 2024 00:00:00');
    expect(formatMaasCreated(Date.UTC(999, 0, 2, 3, 4, 5))).toBe('Wed, 02 Jan. 999 03:04:05');
  });

  it('uses the C locale abbreviations for every month and day', () => {
    const months = Array.from({ length: 12 }, (_, m) => formatMaasCreated(Date.UTC(2023, m, 15)).slice(8, 12));
    expect(months).toEqual([
      'Jan.',
      'Feb.',
      'Mar.',
      'Apr.',
      'May.',
      'Jun.',
      'Jul.',
      'Aug.',
      'Sep.',
      'Oct.',
      'Nov.',
      'Dec.',
    ]);
    // 2023-01-01 was a Sunday.
    const days = Array.from({ length: 7 }, (_, d) => formatMaasCreated(Date.UTC(2023, 0, 1 + d)).slice(0, 3));
    expect(days).toEqual(['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']);
  });
});

describe('§1.6 next_uri and prev_uri', () => {
  it('row: events returned: after=<newest>, before=<oldest>', () => {
    expect(uris('op=query&limit=5', [1667, 1666, 1665, 1664, 1663])).toEqual({
      next_uri: `${E}?op=query&limit=5&after=1667`,
      prev_uri: `${E}?op=query&limit=5&before=1663`,
    });
  });

  it('row: empty with no before and no after: next is the base, prev null', () => {
    expect(uris('op=query&level=AUDIT&limit=5', [])).toEqual({
      next_uri: `${E}?op=query&level=AUDIT&limit=5`,
      prev_uri: null,
    });
  });

  it('row: empty with before=B: next after=B-1, prev null', () => {
    expect(uris('op=query&level=AUDIT&limit=5&before=100', [])).toEqual({
      next_uri: `${E}?op=query&level=AUDIT&limit=5&after=99`,
      prev_uri: null,
    });
  });

  it('row: empty with after=A: next loses the window key, prev before=A+1', () => {
    expect(uris('op=query&level=AUDIT&limit=5&after=100', [])).toEqual({
      next_uri: `${E}?op=query&level=AUDIT&limit=5`,
      prev_uri: `${E}?op=query&level=AUDIT&limit=5&before=101`,
    });
  });

  it('example: after=100 returning 105..101', () => {
    expect(uris('op=query&limit=5&after=100', [105, 104, 103, 102, 101])).toEqual({
      next_uri: `${E}?op=query&limit=5&after=105`,
      prev_uri: `${E}?op=query&limit=5&before=101`,
    });
  });

  it('keeps the last value of repeated keys at the first position, drops pool, puts the window key last', () => {
    expect(uris('op=query&hostname=a&hostname=b&pool=p&limit=2', [9, 8])).toEqual({
      next_uri: `${E}?op=query&hostname=b&limit=2&after=9`,
      prev_uri: `${E}?op=query&hostname=b&limit=2&before=8`,
    });
    expect(uris('before=50&op=query&zone=z1&limit=2&zone=z2&junk=1&after=&id=x', [4])).toEqual({
      next_uri: `${E}?op=query&zone=z2&limit=2&id=x&after=4`,
      prev_uri: `${E}?op=query&zone=z2&limit=2&id=x&before=4`,
    });
  });

  it('carries every all_params key, echoes the limit as given and encodes as urlencode', () => {
    const q =
      'op=query&agent_name=&domain=maas&hostname=a b&id=abc&level=DEBUG&limit=0&mac_address=52:54:00:AA:BB:CC&zone=z&owner=o@x';
    expect(uris(q, []).next_uri).toBe(
      `${E}?op=query&agent_name=&domain=maas&hostname=a+b&id=abc&level=DEBUG&limit=0&mac_address=52%3A54%3A00%3AAA%3ABB%3ACC&zone=z&owner=o%40x`,
    );
  });

  it('computes B-1 and A+1 exactly, even beyond 2^53', () => {
    expect(uris('op=query&before=99999999999999999999', []).next_uri).toBe(`${E}?op=query&after=99999999999999999998`);
    expect(uris('op=query&after=-5', []).prev_uri).toBe(`${E}?op=query&before=-4`);
  });
});

describe('§1.7 errors and parameters', () => {
  it('row: non-integer after, before, limit', () => {
    expect(errorOf(() => parseMaasQuery(P('after=abc')))).toEqual({
      status: 400,
      body: 'Invalid after: Please enter an integer value',
    });
    expect(errorOf(() => parseMaasQuery(P('before=1.5')))).toEqual({
      status: 400,
      body: 'Invalid before: Please enter an integer value',
    });
    expect(errorOf(() => parseMaasQuery(P('limit=ten')))).toEqual({
      status: 400,
      body: 'Invalid limit: Please enter an integer value',
    });
  });

  it('row: limit over 1000, after which a limit below 1 is 1', () => {
    expect(errorOf(() => parseMaasQuery(P('limit=1001')))).toEqual({
      status: 400,
      body: 'Requested number of events 1001 is greater than limit: 1000',
    });
    expect(parseMaasQuery(P('limit=1000')).limit).toBe(1000);
    expect(parseMaasQuery(P('limit=0')).limit).toBe(1);
    expect(parseMaasQuery(P('limit=-20')).limit).toBe(1);
    expect(parseMaasQuery(P('')).limit).toBe(100);
  });

  it('row: unknown level, case-sensitive', () => {
    expect(errorOf(() => parseMaasQuery(P('level=info')))).toEqual({
      status: 400,
      body: 'Unrecognised log level: info',
    });
    expect(errorOf(() => parseMaasQuery(P('level=')))).toEqual({ status: 400, body: 'Unrecognised log level: ' });
    expect(errorOf(() => parseMaasQuery(P('level=WARN')))).toEqual({
      status: 400,
      body: 'Unrecognised log level: WARN',
    });
  });

  it('row: after with before', () => {
    expect(errorOf(() => parseMaasQuery(P('after=1&before=3')))).toEqual({
      status: 400,
      body: 'There is undetermined behaviour when both `after` and `before` are specified.',
    });
  });

  it('row: malformed MAC addresses, only the bad ones, in request order', () => {
    expect(errorOf(() => parseMaasQuery(P('mac_address=zz&mac_address=52:54:00:aa:bb:cc&mac_address=1:2')))).toEqual({
      status: 400,
      body: 'Invalid MAC address(es): zz, 1:2',
    });
  });

  it("row: wrong method or op (op=None when absent, Python's `or` for an empty one)", () => {
    expect(errorOf(() => checkSignature('GET', P('')))).toEqual({
      status: 400,
      body: 'Unrecognised signature: method=GET op=None',
    });
    expect(errorOf(() => checkSignature('GET', P('op=')))).toEqual({
      status: 400,
      body: 'Unrecognised signature: method=GET op=None',
    });
    expect(errorOf(() => checkSignature('GET', P('op=list')))).toEqual({
      status: 400,
      body: 'Unrecognised signature: method=GET op=list',
    });
    expect(errorOf(() => checkSignature('GET', P('op=query&op=read')))).toEqual({
      status: 400,
      body: 'Unrecognised signature: method=GET op=read',
    });
    expect(errorOf(() => checkSignature('POST', P('op=query')))).toEqual({
      status: 400,
      body: 'Unrecognised signature: method=POST op=query',
    });
    expect(errorOf(() => checkSignature('POST', P(''), P('op=query')))).toEqual({
      status: 400,
      body: 'Unrecognised signature: method=POST op=query',
    });
    expect(errorOf(() => checkSignature('POST', P('op='), P('op=')))).toEqual({
      status: 400,
      body: 'Unrecognised signature: method=POST op=',
    });
    expect(() => checkSignature('GET', P('op=read&op=query'))).not.toThrow();
  });

  it('row: an empty limit is a 500 with Python TypeError text; empty after/before are absent', () => {
    expect(errorOf(() => parseMaasQuery(P('limit=')))).toEqual({
      status: 500,
      body: "'>' not supported between instances of 'NoneType' and 'int'",
    });
    const q = parseMaasQuery(P('after=&before='));
    expect(q.after).toBeUndefined();
    expect(q.before).toBeUndefined();
  });

  it("checks in MAAS's order: after, before, limit, ceiling, MACs, level, after+before", () => {
    expect(errorOf(() => parseMaasQuery(P('level=x&limit=y&before=z&after=w'))).body).toBe(
      'Invalid after: Please enter an integer value',
    );
    expect(errorOf(() => parseMaasQuery(P('level=x&limit=y&before=z'))).body).toBe(
      'Invalid before: Please enter an integer value',
    );
    expect(errorOf(() => parseMaasQuery(P('mac_address=x&level=x&limit=2000'))).body).toBe(
      'Requested number of events 2000 is greater than limit: 1000',
    );
    expect(errorOf(() => parseMaasQuery(P('after=1&before=2&level=x&mac_address=x'))).body).toBe(
      'Invalid MAC address(es): x',
    );
    expect(errorOf(() => parseMaasQuery(P('after=1&before=2&level=x'))).body).toBe('Unrecognised log level: x');
  });

  it('uses the last value of single-valued parameters', () => {
    const q = parseMaasQuery(P('limit=5&limit=7&level=DEBUG&level=AUDIT&zone=a&zone=b&owner=x&owner=y'));
    expect(q.limit).toBe(7);
    expect(q.filter.level).toEqual({ audit: true });
    expect(q.nodes).toEqual({ zone: 'b' });
    expect(q.filter.usernames).toEqual(['y']);
  });

  it('maps levels: AUDIT is equality, every other level a minimum without the audit trail, INFO by default', () => {
    expect(parseMaasQuery(P('')).filter.level).toEqual({ min: 20, excludeAudit: true });
    expect(parseMaasQuery(P('level=AUDIT')).filter.level).toEqual({ audit: true });
    const mins = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'].map(
      (l) => parseMaasQuery(P(`level=${l}`)).filter.level,
    );
    expect(mins).toEqual([10, 20, 30, 40, 50].map((min) => ({ min, excludeAudit: true })));
  });

  it('maps filters onto the one filter and the node-attribute filter', () => {
    const q = parseMaasQuery(
      P(
        'hostname=a&hostname=b&id=x&owner=alice&domain=d1&domain=d2&zone=z&pool=p&agent_name=&mac_address=52-54-00-AA-BB-CC&mac_address=a:b:c:d:e:f&mac_address=5254.00aa.bbcc',
      ),
    );
    expect(q.filter).toMatchObject({
      scope: { kind: 'all' },
      hostnames: ['a', 'b'],
      nodes: ['x'],
      usernames: ['alice'],
    });
    expect(q.filter.types).toBeUndefined();
    expect(q.nodes).toEqual({
      macs: ['52:54:00:aa:bb:cc', '0a:0b:0c:0d:0e:0f', '52:54:00:aa:bb:cc'],
      domains: ['d1', 'd2'],
      zone: 'z',
      pool: 'p',
      agentName: '',
    });
    expect(parseMaasQuery(P('')).nodes).toBeUndefined();
  });

  it('lets a blank hostname, id or owner match nothing, whatever else is asked', () => {
    for (const q of ['hostname=', 'id=', 'owner=', 'hostname=&id=x', 'level=AUDIT&owner=']) {
      expect(parseMaasQuery(P(q)).filter.types).toEqual([]);
    }
    const q = parseMaasQuery(P('hostname=&hostname=x&id=&id=y'));
    expect(q.filter.types).toBeUndefined();
    expect([q.filter.hostnames, q.filter.nodes]).toEqual([['x'], ['y']]);
  });

  it("accepts MACs as MAAS's MAC_FIELD_RE does, and never lets a junk one match a stored MAC", () => {
    expect(normaliseMaasMac('AA-bb-CC-dd-EE-ff')).toBe('aa:bb:cc:dd:ee:ff');
    expect(normaliseMaasMac('aabb.ccdd.eeff')).toBe('aa:bb:cc:dd:ee:ff');
    // Python precedence leaves the colon form unanchored at the end: MAAS accepts it, it simply matches nothing.
    const q = parseMaasQuery(P('mac_address=aa:bb:cc:dd:ee:ff00'));
    expect(q.nodes?.macs).toEqual(['zz:zz:zz:zz:zz:zz']);
  });

  it('builds the store page: newest first by id, with the window and the limit', () => {
    expect(maasPageRequest(parseMaasQuery(P('before=10&limit=3')))).toMatchObject({ before: 10, limit: 3 });
    expect(maasPageRequest(parseMaasQuery(P('after=10')))).toMatchObject({ after: 10, limit: 100 });
    expect(maasPageRequest(parseMaasQuery(P('before=99999999999999999999'))).before).toBe(Number.MAX_SAFE_INTEGER);
  });
});

function prepared(raw: unknown, timestamp = '2022-04-25T21:51:23.123456Z'): { event: HeraldEvent; p: PreparedEvent } {
  const r = prepareOne(raw, 0, { location: 'none' });
  if (Array.isArray(r)) throw new Error(JSON.stringify(r));
  const withTime = prepareOne({ ...(raw as object), timestamp }, 0, { location: 'none' }) as ValidatedEvent;
  return { event: { ...withTime.event, id: 42 } as HeraldEvent, p: withTime };
}

function view(raw: unknown) {
  const { event, p } = prepared(raw);
  return toMaasEvent(event, p.fields);
}

describe('the cross-type mapping table', () => {
  it('maas: the catalogue description as type, the AUDIT rendering, node and hostname as recorded', () => {
    expect(view(SAMPLES.maas)).toEqual({
      username: 'admin',
      node: 'e86c7h',
      hostname: 'valued-moth',
      id: 42,
      level: 'AUDIT',
      created: 'Mon, 25 Apr. 2022 21:51:23',
      type: 'Node',
      description: "Started deploying 'valued-moth'.",
    });
    const status = view({
      type: 'maas',
      metadata: { event_type: 'NODE_CHANGED_STATUS', node: 'abc123', description: "From 'New' to 'Commissioning'" },
    });
    expect(status).toMatchObject({
      username: 'unknown',
      hostname: 'unknown',
      node: 'abc123',
      level: 'DEBUG',
      type: 'Node changed status',
      description: "From 'New' to 'Commissioning'",
    });
    // Only AUDIT descriptions go through %: a DEBUG one with a % is shown as it is.
    expect(
      view({ type: 'maas', metadata: { event_type: 'RACK_IMPORT_INFO', description: '50% %(username)s' } }),
    ).toMatchObject({ level: 'DEBUG', type: 'Rack import info', description: '50% %(username)s' });
    expect(
      view({ type: 'maas', metadata: { event_type: 'AUTHORISATION', description: 'Logged in %(username)s.' } }),
    ).toMatchObject({ level: 'AUDIT', type: 'Authorisation', description: 'Logged in unknown.', node: null });
    expect(
      view({ type: 'maas', metadata: { event_type: 'SETTINGS', username: 'admin', description: 'Set to 100%' } }),
    ).toMatchObject({ description: 'Set to 100%' });
    expect(view({ type: 'maas', metadata: { event_type: 'NODE_POWER_ON_FAILED' } }).level).toBe('ERROR');
    expect(view({ type: 'maas', metadata: { event_type: 'RACK_IMPORT_INFO', level: 'INFO' } }).level).toBe('INFO');
  });

  it('lifecycle: AUDIT, the entity title, the catalogue summary, the requestor', () => {
    expect(view(SAMPLES.lifecycle)).toMatchObject({
      username: 'alice',
      node: null,
      hostname: 'c1',
      level: 'AUDIT',
      type: 'Instance',
      description: "Instance 'c1' started",
    });
    expect(
      view({
        type: 'lifecycle',
        metadata: {
          action: 'profile-renamed',
          source: '/1.0/profiles/web%20v2?project=p',
          context: { old_name: 'web' },
        },
      }),
    ).toMatchObject({
      username: 'unknown',
      hostname: 'unknown',
      type: 'Profile',
      description: "Profile 'web' renamed to 'web v2'",
    });
    expect(view({ type: 'lifecycle', metadata: { action: 'config-updated', source: '/1.0' } })).toMatchObject({
      type: 'Server configuration',
      description: 'Server configuration updated',
    });
    // A summary whose context key is missing falls back to the action and source.
    expect(
      view({ type: 'lifecycle', metadata: { action: 'profile-renamed', source: '/1.0/profiles/x' } }).description,
    ).toBe('profile-renamed /1.0/profiles/x');
  });

  it('security: AUDIT, type Security, description and name', () => {
    expect(view(SAMPLES.security)).toMatchObject({
      username: 'unknown',
      hostname: 'unknown',
      node: null,
      level: 'AUDIT',
      type: 'Security',
      description: 'TLS authentication failure (authn_login_fail:tls)',
    });
    expect(
      view({
        type: 'security',
        metadata: { name: 'sys_startup', requestor: { username: 'root', protocol: 'unix', address: '@' } },
      }),
    ).toMatchObject({ username: 'root', description: 'sys_startup' });
  });

  it('operation: INFO, ERROR when failed', () => {
    expect(view(SAMPLES.operation)).toMatchObject({
      username: 'unknown',
      level: 'INFO',
      type: 'Operation',
      description: 'Starting instance: Running',
    });
    const failed = {
      ...SAMPLES.operation,
      metadata: {
        ...SAMPLES.operation.metadata,
        status: 'Failure',
        status_code: 400,
        err: 'network not found',
        requestor: { username: 'bob', protocol: 'tls', address: '10.0.0.2' },
      },
    };
    expect(view(failed)).toMatchObject({
      username: 'bob',
      level: 'ERROR',
      description: 'Starting instance: Failure (network not found)',
    });
  });

  it('logging and ovn: each logrus level to its MAAS level, message and context', () => {
    const levels: Record<string, string> = {
      trace: 'DEBUG',
      debug: 'DEBUG',
      info: 'INFO',
      warning: 'WARNING',
      error: 'ERROR',
      fatal: 'CRITICAL',
      panic: 'CRITICAL',
    };
    for (const [logrus, maas] of Object.entries(levels)) {
      expect(view({ type: 'logging', metadata: { message: 'm', level: logrus, context: {} } }).level).toBe(maas);
      expect(view({ type: 'ovn', metadata: { message: 'm', level: logrus, context: null } }).level).toBe(maas);
    }
    expect(view(SAMPLES.logging)).toMatchObject({
      username: 'unknown',
      hostname: 'unknown',
      node: null,
      type: 'Logging',
      description: 'Binding socket (socket=[::]:443)',
    });
    expect(view(SAMPLES.ovn)).toMatchObject({
      type: 'OVN',
      description: 'connected (module=reconnect, sequence=00001)',
    });
  });

  it('shows levels from the same facts the filter selects on', () => {
    expect(maasLevelOf({ audit: true, severity: 30 })).toBe('AUDIT');
    expect([10, 20, 30, 40, 50].map((severity) => maasLevelOf({ audit: false, severity }))).toEqual([
      'DEBUG',
      'INFO',
      'WARNING',
      'ERROR',
      'CRITICAL',
    ]);
  });

  it('is the table docs/maas-view.md shows, row for row', () => {
    const doc = readFileSync(new URL('../../docs/maas-view.md', import.meta.url), 'utf8');
    const types = Object.keys(MAAS_VIEW_TABLE) as EventType[];
    expect(types.sort()).toEqual(['lifecycle', 'logging', 'maas', 'operation', 'ovn', 'security']);
    // Cells are compared trimmed, so the table may be re-aligned by a formatter.
    const cells = (line: string) =>
      line
        .trim()
        .replace(/^\||\|$/g, '')
        .split('|')
        .map((c) => c.trim());
    const lines = doc.split('\n');
    const start = lines.findIndex(
      (l) => cells(l).join(',') === 'herald type,level,type,description,username,hostname,node',
    );
    expect(start).toBeGreaterThan(-1);
    const rows: string[][] = [];
    for (const line of lines.slice(start + 2)) {
      if (!line.trim().startsWith('|')) break;
      rows.push(cells(line));
    }
    expect(rows).toHaveLength(types.length);
    for (const [first, ...rest] of rows) {
      const row = MAAS_VIEW_TABLE[(first as string).replace(/`/g, '') as EventType];
      expect(rest).toEqual([row.level, row.type, row.description, row.username, row.hostname, row.node]);
    }
  });
});

describe('the response body', () => {
  it('is the handler dict with indent=4, keys and event keys in MAAS order', () => {
    const { event, p } = prepared(SAMPLES.maas);
    const body = renderMaasBody([toMaasEvent(event, p.fields)], {
      next_uri: `${E}?op=query&after=42`,
      prev_uri: null,
    });
    expect(body).toBe(
      [
        '{',
        '    "count": 1,',
        '    "events": [',
        '        {',
        '            "username": "admin",',
        '            "node": "e86c7h",',
        '            "hostname": "valued-moth",',
        '            "id": 42,',
        '            "level": "AUDIT",',
        '            "created": "Mon, 25 Apr. 2022 21:51:23",',
        '            "type": "Node",',
        `            "description": "Started deploying 'valued-moth'."`,
        '        }',
        '    ],',
        '    "next_uri": "/MAAS/api/2.0/events/?op=query&after=42",',
        '    "prev_uri": null',
        '}',
      ].join('\n'),
    );
    expect(renderMaasBody([], { next_uri: E, prev_uri: null })).toBe(
      `{\n    "count": 0,\n    "events": [],\n    "next_uri": "${E}",\n    "prev_uri": null\n}`,
    );
  });
});
