/**
 * @module LXD's visibility and publishing rules (spec lxd-events.md §4.2) as herald applies them: the pure function,
 * then history and publish over real TLS for restricted bearer tokens and certificates.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventType } from '../../src/core/event.js';
import type { EventFields } from '../../src/core/fields.js';
import {
  canPublish,
  canView,
  defaultTypes,
  type Entitlement,
  type Identity,
  identityFromGrant,
  visibleTypes,
} from '../../src/core/permissions.js';
import { SAMPLES } from '../support/herald.js';
import { call, clientCert, type SecureHerald, securityEvents, startSecureHerald, trust } from './helpers.js';

function fields(type: EventType, project: string, username = '', protocol = ''): EventFields {
  return {
    type,
    timeMs: 0,
    project,
    location: 'none',
    action: '',
    severity: 20,
    audit: false,
    username,
    protocol,
    node: null,
    hostname: '',
    zone: null,
    pool: null,
    domain: null,
    agentName: null,
    macs: [],
    text: '',
  };
}

function restricted(
  projects: Record<string, Entitlement[]>,
  server: Entitlement[] = [],
  username = 'me',
  protocol = 'tls',
): Identity {
  return { kind: 'restricted', username, protocol, address: '127.0.0.1:1', server, projects };
}

describe('canView: each row of §4.2', () => {
  const admin = identityFromGrant(
    { restricted: false, projects: [], entitlements: [], server_entitlements: [] },
    'a',
    'tls',
    '',
  );
  const serverEvents = restricted({}, ['can_view_events']);
  const serverOps = restricted({}, ['can_view_operations']);
  const p1Events = restricted({ p1: ['can_view_events'] });
  const p1Ops = restricted({ p1: ['can_view_operations'] });
  const untrusted: Identity = { kind: 'untrusted', reason: 'anonymous', username: '', protocol: 'tls', address: '' };

  it('logging, ovn and security need can_view_events on the server, whatever their project', () => {
    for (const type of ['logging', 'ovn', 'security'] as const) {
      expect(canView(admin, fields(type, ''))).toBe(true);
      expect(canView(serverEvents, fields(type, ''))).toBe(true);
      expect(canView(serverEvents, fields(type, 'p1'))).toBe(true);
      expect(canView(p1Events, fields(type, 'p1'))).toBe(false);
      expect(canView(serverOps, fields(type, ''))).toBe(false);
      // The requestor rule does not open privileged types.
      expect(canView(p1Events, fields(type, 'p1', 'me', 'tls'))).toBe(false);
    }
  });

  it('lifecycle: project "" needs server can_view_events; project P needs it on P, or the requestor match', () => {
    expect(canView(serverEvents, fields('lifecycle', ''))).toBe(true);
    expect(canView(p1Events, fields('lifecycle', ''))).toBe(false);
    expect(canView(p1Events, fields('lifecycle', 'p1'))).toBe(true);
    expect(canView(p1Events, fields('lifecycle', 'p2'))).toBe(false);
    expect(canView(serverEvents, fields('lifecycle', 'p2'))).toBe(true);
    expect(canView(p1Events, fields('lifecycle', 'p2', 'me', 'tls'))).toBe(true);
    expect(canView(p1Events, fields('lifecycle', 'p2', 'me', 'bearer'))).toBe(false);
    expect(canView(p1Events, fields('lifecycle', 'p2', 'someone', 'tls'))).toBe(false);
    expect(canView(p1Ops, fields('lifecycle', 'p1'))).toBe(false);
  });

  it('operation: the same with can_view_operations', () => {
    expect(canView(serverOps, fields('operation', ''))).toBe(true);
    expect(canView(serverEvents, fields('operation', ''))).toBe(false);
    expect(canView(p1Ops, fields('operation', 'p1'))).toBe(true);
    expect(canView(p1Events, fields('operation', 'p1'))).toBe(false);
    expect(canView(p1Ops, fields('operation', 'p2'))).toBe(false);
    expect(canView(p1Events, fields('operation', 'p2', 'me', 'tls'))).toBe(true);
  });

  it('untrusted callers see nothing and may ask for nothing', () => {
    for (const type of ['logging', 'lifecycle', 'operation', 'maas'] as const) {
      expect(canView(untrusted, fields(type, ''))).toBe(false);
    }
    expect(visibleTypes(untrusted)).toEqual([]);
    expect(canPublish(untrusted, '')).toBe(false);
  });

  it('default types: all five for admins and server can_view_events, else operation and lifecycle', () => {
    expect(defaultTypes(admin)).toEqual(['logging', 'operation', 'lifecycle', 'ovn', 'security']);
    expect(defaultTypes(serverEvents)).toEqual(['logging', 'operation', 'lifecycle', 'ovn', 'security']);
    expect(defaultTypes(p1Events)).toEqual(['operation', 'lifecycle']);
  });

  it('publishing needs can_publish on the event project (the server for events of no project)', () => {
    const pub = restricted({ p1: ['can_publish'] });
    expect(canPublish(pub, 'p1')).toBe(true);
    expect(canPublish(pub, 'p2')).toBe(false);
    expect(canPublish(pub, '')).toBe(false);
    expect(canPublish(restricted({}, ['can_publish']), 'p2')).toBe(true);
    expect(canPublish(p1Events, 'p1')).toBe(false);
    expect(canPublish(admin, '')).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------------------------

interface Ev {
  id: number;
  type: string;
  project?: string;
  metadata: Record<string, unknown>;
}

let t: SecureHerald;
const tokens: Record<string, { id: string; token: string }> = {};

const lifecycle = (project: string, requestor?: { username: string; protocol: string }) => ({
  type: 'lifecycle',
  project,
  metadata: {
    action: 'instance-started',
    source: `/1.0/instances/c1${project && project !== 'default' ? `?project=${project}` : ''}`,
    ...(requestor ? { requestor: { ...requestor, address: '10.0.0.9' } } : {}),
  },
});
const operation = (project: string, requestor?: { username: string; protocol: string }) => ({
  ...SAMPLES.operation,
  project,
  metadata: { ...SAMPLES.operation.metadata, ...(requestor ? { requestor: { ...requestor, address: '' } } : {}) },
});

beforeAll(async () => {
  t = await startSecureHerald();
  const make = async (name: string, body: Record<string, unknown>) => {
    tokens[name] = await t.client.call<{ id: string; token: string }>('POST', '/1.0/auth/tokens', { name, ...body });
  };
  await make('p1-events', { projects: ['p1'], entitlements: ['can_view_events'] });
  await make('p1-ops', { projects: ['p1'], entitlements: ['can_view_operations'] });
  await make('server-events', { restricted: true, server_entitlements: ['can_view_events'] });
  await make('server-ops', { restricted: true, server_entitlements: ['can_view_operations'] });
  await make('p1-publisher', { projects: ['p1'], entitlements: ['can_publish'] });
  await make('admin', {});
  const me = { username: tokens['p1-events']?.id as string, protocol: 'bearer' };
  // The fixture: one event per rule, published by the local admin.
  await t.client.call('POST', '/1.0/events', [
    SAMPLES.logging,
    SAMPLES.ovn,
    SAMPLES.security,
    SAMPLES.maas,
    lifecycle(''),
    lifecycle('p1'),
    lifecycle('p2'),
    lifecycle('p2', me),
    operation(''),
    operation('p1'),
    operation('p2'),
    operation('p2', me),
  ]);
});
afterAll(async () => {
  await t.cleanup();
});

async function history(
  who: string,
  query = '',
): Promise<{ status: number; events: Ev[]; body: Record<string, unknown> }> {
  const r = await call(t, 'GET', `/1.0/events/history?limit=1000${query}`, undefined, { token: tokens[who]?.token });
  return { status: r.status, events: r.body?.metadata?.events ?? [], body: r.body };
}

const kinds = (events: Ev[]) => events.map((e) => `${e.type}:${e.project ?? ''}`).sort();

describe('history applies the rules', () => {
  it('admin sees everything', async () => {
    const r = await history('admin', '&type=logging,ovn,security,lifecycle,operation,maas');
    // 12 fixture events plus the security events of creating the tokens.
    expect(r.events.length).toBeGreaterThanOrEqual(12);
  });

  it('project can_view_events: its lifecycle, plus what it requested; default types exclude privileged ones', async () => {
    const r = await history('p1-events');
    expect(r.status).toBe(200);
    expect(kinds(r.events)).toEqual(['lifecycle:p1', 'lifecycle:p2', 'operation:p2']);
    const mine = r.events.filter((e) => e.project === 'p2');
    for (const e of mine) {
      expect((e.metadata.requestor as { username: string }).username).toBe(tokens['p1-events']?.id);
    }
  });

  it('project can_view_operations: its operations', async () => {
    expect(kinds((await history('p1-ops')).events)).toEqual(['operation:p1']);
  });

  it('server can_view_events: privileged types, server and project lifecycle, MAAS', async () => {
    const r = await history('server-events', '&type=logging,ovn,security,lifecycle,maas');
    expect(r.status).toBe(200);
    const k = kinds(r.events);
    expect(k).toEqual(
      expect.arrayContaining(['logging:', 'ovn:', 'maas:', 'lifecycle:', 'lifecycle:p1', 'lifecycle:p2']),
    );
    expect(k.filter((x) => x.startsWith('security:')).length).toBeGreaterThan(0);
    expect(k.some((x) => x.startsWith('operation'))).toBe(false);
  });

  it('server can_view_operations: every operation, nothing else', async () => {
    const r = await history('server-ops');
    expect(kinds(r.events)).toEqual(['operation:', 'operation:p1', 'operation:p2', 'operation:p2']);
  });

  it('asking for a type one may not see is 403 with authz_fail, before anything is read', async () => {
    for (const type of ['logging', 'ovn', 'security', 'lifecycle,logging']) {
      const r = await history('p1-events', `&type=${type}`);
      expect(r.status, type).toBe(403);
      expect(r.body.error).toBe('Forbidden');
    }
    const fails = await securityEvents(t, 'authz_fail:can_view_events:/1.0');
    expect(fails.length).toBe(4);
    expect(fails[0]?.metadata).toMatchObject({
      level: 'warning',
      description: 'Authorization denied',
      request_path: '/1.0/events/history',
      request_method: 'GET',
      requestor: { username: tokens['p1-events']?.id, protocol: 'bearer' },
    });
    // Unknown types are still 400, as for everyone.
    expect((await history('p1-events', '&type=bogus')).status).toBe(400);
  });

  it('pages through visible events only, without gaps or repeats', async () => {
    for (const who of ['server-ops', 'p1-ops', 'p1-events']) {
      const seen: number[] = [];
      let uri: string | null = '/1.0/events/history?limit=1';
      while (uri) {
        const r = await call(t, 'GET', uri, undefined, { token: tokens[who]?.token });
        const page: { events: Ev[]; next: string | null } = r.body.metadata;
        seen.push(...page.events.map((e) => e.id));
        uri = page.next;
      }
      const all = (await history(who)).events.map((e) => e.id);
      expect(seen, who).toEqual(all);
      expect(new Set(seen).size).toBe(all.length);
      // And forwards, with `after`.
      const forward: number[] = [];
      let cursor = 0;
      for (;;) {
        const r = await call(t, 'GET', `/1.0/events/history?limit=2&after=${cursor}`, undefined, {
          token: tokens[who]?.token,
        });
        const ids: number[] = r.body.metadata.events.map((e: Ev) => e.id);
        if (ids.length === 0) break;
        forward.push(...[...ids].reverse());
        cursor = Math.max(...ids);
      }
      expect(forward, who).toEqual([...all].reverse());
    }
  });

  it('a restricted certificate is held to the same rules', async () => {
    const c = clientCert('p1-cert');
    await trust(t, c, { restricted: true, projects: ['p1'], entitlements: ['can_view_events'] });
    const r = await call(t, 'GET', '/1.0/events/history?limit=1000', undefined, { cert: c });
    expect(kinds(r.body.metadata.events)).toEqual(['lifecycle:p1']);
    expect((await call(t, 'GET', '/1.0/events/history?type=security', undefined, { cert: c })).status).toBe(403);
  });
});

describe('publishing needs can_publish on each event project', () => {
  it('accepts a batch within the granted project', async () => {
    const r = await call(t, 'POST', '/1.0/events', [lifecycle('p1'), operation('p1')], {
      token: tokens['p1-publisher']?.token,
    });
    expect(r.status).toBe(200);
    expect(r.body.metadata.ids).toHaveLength(2);
  });

  it('refuses the whole batch when one event is outside it: 403, authz_fail, nothing stored', async () => {
    for (const [batch, url] of [
      [[lifecycle('p1'), lifecycle('p2')], '/1.0/projects/p2'],
      [[lifecycle('p1'), SAMPLES.logging], '/1.0'],
    ] as const) {
      const before = await t.herald.store.count();
      const r = await call(t, 'POST', '/1.0/events', batch, { token: tokens['p1-publisher']?.token });
      expect(r.status).toBe(403);
      expect(await t.herald.store.count()).toBe(before + 1); // only the authz_fail event itself
      const [e] = (await securityEvents(t, `authz_fail:can_publish:${url}`)).slice(-1);
      expect(e?.metadata).toMatchObject({ request_path: '/1.0/events', request_method: 'POST' });
    }
  });

  it('viewing is not publishing', async () => {
    const r = await call(t, 'POST', '/1.0/events', lifecycle('p1'), { token: tokens['p1-events']?.token });
    expect(r.status).toBe(403);
  });
});
