/**
 * @module Identities over real TLS: the listener and its certificate, untrusted callers, trust password and join token,
 * trusted and restricted certificates, bearer tokens (created, expired, revoked), the failed-auth rate limit, the
 * certificate and identity security events, the system events and secrets at rest.
 */
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { emitSystemEvent } from '../../src/server/auth.js';
import { Logger } from '../../src/service/log.js';
import { SAMPLES, tempDir } from '../support/herald.js';
import { call, clientCert, type Res, type SecureHerald, securityEvents, startSecureHerald, trust } from './helpers.js';

const LXC_JOIN = { name: '', type: 'client', restricted: false, projects: null, certificate: '', token: false };

function expectRequestor(e: { metadata: { requestor?: Record<string, string> } }, username: string, protocol: string) {
  expect(e.metadata.requestor).toMatchObject({ username, protocol, user_agent: 'herald-test/1' });
  expect(e.metadata.requestor?.address).toMatch(/^127\.0\.0\.1:\d+$/);
}

let t: SecureHerald;
beforeAll(async () => {
  t = await startSecureHerald();
  await t.client.call('PUT', '/1.0/auth/trust-password', { password: 'secret123' });
});
afterAll(async () => {
  await t.cleanup();
});

describe('the HTTPS listener', () => {
  it('serves an ECDSA P-384 certificate with SANs that the pinned client verifies', async () => {
    const x = new X509Certificate(t.ca);
    expect(x.publicKey.asymmetricKeyDetails?.namedCurve).toBe('secp384r1');
    expect(x.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(x.subjectAltName).toContain(`DNS:${hostname()}`);
    expect(x.subject).toContain('O=linuxcontainers.org');
    // call() pins the certificate as its only CA and checks the host name, as lxc does.
    const r = await call(t, 'GET', '/');
    expect(r.status).toBe(200);
    expect(r.body.metadata).toEqual(['/1.0']);
  });

  it('speaks TLS 1.3 only unless TLS 1.2 is configured', async () => {
    const attempt = (h: SecureHerald) =>
      new Promise<string>((resolve) => {
        const s = connect({ host: '127.0.0.1', port: h.port, ca: h.ca, maxVersion: 'TLSv1.2' }, () => {
          resolve(s.getProtocol() ?? '');
          s.destroy();
        });
        s.on('error', (err) => resolve(`error: ${err.message}`));
      });
    expect(await attempt(t)).toMatch(/^error: .*(protocol version|alert)/i);
    const legacy = await startSecureHerald({ allowTls12: true });
    try {
      expect(await attempt(legacy)).toBe('TLSv1.2');
    } finally {
      await legacy.cleanup();
    }
  });

  it('reports its addresses and certificate fingerprint to trusted callers', async () => {
    const env = (await t.client.call<{ environment: Record<string, unknown> }>('GET', '/1.0')).environment;
    expect(env.addresses).toEqual([t.address]);
    expect(env.certificate_fingerprint).toBe(t.herald.serverCertificate?.fingerprint);
  });

  it('keeps its key and data directory owner-only, even for a directory that existed', async () => {
    const dir = tempDir();
    const data = join(dir, 'data');
    mkdirSync(data, { mode: 0o755 });
    const h = await startSecureHerald({}, data);
    try {
      expect(statSync(data).mode & 0o777).toBe(0o700);
      expect(statSync(join(data, 'server.key')).mode & 0o777).toBe(0o600);
      expect(readFileSync(join(data, 'server.key'), 'utf8')).toContain('PRIVATE KEY');
    } finally {
      await h.cleanup();
    }
  });
});

describe('untrusted callers', () => {
  it('get GET / and the untrusted GET /1.0, and 403 everywhere else without an event when anonymous', async () => {
    const before = (await securityEvents(t)).length;
    const root = await call(t, 'GET', '/1.0');
    expect(root.status).toBe(200);
    expect(root.body.metadata).toMatchObject({ auth: 'untrusted', public: false, auth_methods: ['tls'] });
    expect(root.body.metadata.environment).toBeUndefined();
    for (const [method, path] of [
      ['GET', '/1.0/events/history'],
      ['POST', '/1.0/events'],
      ['GET', '/1.0/certificates'],
      ['GET', '/1.0/metrics'],
      ['GET', '/1.0/nowhere'],
    ] as const) {
      const r = await call(t, method, path, method === 'POST' ? SAMPLES.logging : undefined);
      expect(r.status, `${method} ${path}`).toBe(403);
      expect(r.body).toMatchObject({ type: 'error', error_code: 403, error: 'not authorized' });
    }
    expect((await securityEvents(t)).length).toBe(before);
  });

  it('with an untrusted certificate on a protected endpoint: 403 and authn_login_fail:tls', async () => {
    const stranger = clientCert('stranger');
    const r = await call(t, 'GET', '/1.0/events/history?project=web', undefined, { cert: stranger });
    expect(r.status).toBe(403);
    const [e] = (await securityEvents(t, 'authn_login_fail:tls')).slice(-1);
    expect(e).toMatchObject({
      type: 'security',
      project: 'web',
      metadata: {
        name: 'authn_login_fail:tls',
        level: 'warning',
        description: 'TLS authentication failure',
        request_path: '/1.0/events/history',
        request_method: 'GET',
        project: 'web',
      },
    });
    expectRequestor(e as never, stranger.fingerprint, 'tls');
    // GET /1.0 with the same certificate is not a failure (lxc remote add does exactly that first).
    const n = (await securityEvents(t, 'authn_login_fail')).length;
    expect((await call(t, 'GET', '/1.0', undefined, { cert: stranger })).body.metadata.auth).toBe('untrusted');
    expect((await securityEvents(t, 'authn_login_fail')).length).toBe(n);
  });
});

describe('joining with the trust password (lxc remote add --password)', () => {
  it("trusts the connection's certificate: 201, Location, then auth trusted, with its events", async () => {
    const c = clientCert('laptop');
    const r = await call(t, 'POST', '/1.0/certificates', { ...LXC_JOIN, password: 'secret123' }, { cert: c });
    expect(r.status).toBe(201);
    expect(r.headers.location).toBe(`/1.0/certificates/${c.fingerprint}`);
    expect(r.body).toEqual({
      type: 'sync',
      status: 'Success',
      status_code: 200,
      operation: '',
      error_code: 0,
      error: '',
      metadata: null,
    });
    expect((await call(t, 'GET', '/1.0', undefined, { cert: c })).body.metadata.auth).toBe('trusted');
    const [created] = await securityEvents(t, `user_created:tls:${c.fingerprint}`);
    expect(created?.metadata).toMatchObject({ level: 'info', description: 'Identity created', request_method: 'POST' });
    const [admin] = await securityEvents(t, `authz_admin:identity_create:tls/${c.fingerprint}`);
    expect(admin?.metadata.description).toBe('Identity identity-created');
    const life = await t.client.call<{ events: Array<{ metadata: { action: string; source: string } }> }>(
      'GET',
      '/1.0/events/history?type=lifecycle&action=certificate-created',
    );
    expect(life.events.map((e) => e.metadata.source)).toContain(`/1.0/certificates/${c.fingerprint}`);
    // A second join from a trusted client: LXD's answer.
    const again = await call(t, 'POST', '/1.0/certificates', { ...LXC_JOIN, password: 'secret123' }, { cert: c });
    expect(again.status).toBe(400);
    expect(again.body.error).toBe('Client is already trusted');
  });

  it('refuses a wrong password with 403 and authn_login_fail, and a missing certificate with 400', async () => {
    const c = clientCert('wrong');
    const n = (await securityEvents(t, 'authn_login_fail:tls')).length;
    const r = await call(t, 'POST', '/1.0/certificates', { ...LXC_JOIN, password: 'guess' }, { cert: c });
    expect(r.status).toBe(403);
    expect(r.body.error).toBe('not authorized');
    const after = await securityEvents(t, 'authn_login_fail:tls');
    expect(after.length).toBe(n + 1);
    expect(after.at(-1)?.metadata).toMatchObject({ request_path: '/1.0/certificates', request_method: 'POST' });
    const none = await call(t, 'POST', '/1.0/certificates', { ...LXC_JOIN, password: 'secret123' });
    expect(none.status).toBe(400);
    expect(none.body.error).toBe('No client certificate provided');
    const nothing = await call(t, 'POST', '/1.0/certificates', LXC_JOIN, { cert: c });
    expect(nothing.status).toBe(403);
  });

  it('accepts the certificate in the body with the password, as pylxd authenticate() sends it', async () => {
    const c = clientCert('pylxd');
    const pemBody = c.cert.replace(/-----[A-Z ]+-----/g, '').trim();
    const r = await call(
      t,
      'POST',
      '/1.0/certificates',
      { type: 'client', certificate: pemBody, password: 'secret123' },
      { cert: c },
    );
    expect(r.status).toBe(201);
    const got = await call(t, 'GET', `/1.0/certificates/${c.fingerprint}`, undefined, { cert: c });
    expect(got.status).toBe(200);
    expect(got.body.metadata).toMatchObject({ type: 'client', fingerprint: c.fingerprint, restricted: false });
    expect(got.body.metadata.certificate).toContain('BEGIN CERTIFICATE');
  });
});

describe('join tokens (lxc remote add <token>)', () => {
  async function newToken(body: Record<string, unknown> = {}): Promise<string> {
    const op = await t.client.call<{ class: string; metadata: { token: string; secret: string } }>(
      'POST',
      '/1.0/certificates',
      { name: 'joiner', type: 'client', token: true, ...body },
    );
    expect(op.class).toBe('token');
    return op.metadata.token;
  }

  it("are LXD's base64 JSON, work once, and give the token's grant", async () => {
    const token = await newToken({ restricted: true, projects: ['p1'] });
    const decoded = JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
    expect(Object.keys(decoded)).toEqual(['client_name', 'fingerprint', 'addresses', 'secret', 'expires_at']);
    expect(decoded).toMatchObject({
      client_name: 'joiner',
      fingerprint: t.herald.serverCertificate?.fingerprint,
      addresses: [t.address],
      expires_at: '0001-01-01T00:00:00Z',
    });
    expect(decoded.secret).toMatch(/^[0-9a-f]{64}$/);
    const c = clientCert('joiner');
    // lxc sends the whole token as the password with an empty type.
    const r = await call(t, 'POST', '/1.0/certificates', { ...LXC_JOIN, type: '', password: token }, { cert: c });
    expect(r.status).toBe(201);
    const me = await call(t, 'GET', `/1.0/certificates/${c.fingerprint}`, undefined, { cert: c });
    expect(me.body.metadata).toMatchObject({ name: 'joiner', restricted: true, projects: ['p1'] });
    const other = clientCert('replay');
    const replay = await call(t, 'POST', '/1.0/certificates', { ...LXC_JOIN, password: token }, { cert: other });
    expect(replay.status).toBe(403);
  });

  it('expire', async () => {
    const token = await newToken({ expires_at: new Date(Date.now() + 50).toISOString() });
    await new Promise((r) => setTimeout(r, 120));
    const r = await call(
      t,
      'POST',
      '/1.0/certificates',
      { ...LXC_JOIN, password: token },
      { cert: clientCert('late') },
    );
    expect(r.status).toBe(403);
  });
});

describe('trusted certificates', () => {
  it('an admin certificate reaches everything; a restricted one only its routes', async () => {
    const admin = clientCert('admin');
    await trust(t, admin);
    expect((await call(t, 'GET', '/1.0/metrics', undefined, { cert: admin })).status).toBe(200);
    expect((await call(t, 'GET', '/1.0/events/history?type=logging', undefined, { cert: admin })).status).toBe(200);

    const limited = clientCert('limited');
    await trust(t, limited, { restricted: true, projects: ['p1'] });
    expect((await call(t, 'GET', '/1.0', undefined, { cert: limited })).body.metadata.auth).toBe('trusted');
    expect((await call(t, 'GET', '/1.0/events/history', undefined, { cert: limited })).status).toBe(200);
    const denied = await call(t, 'GET', '/1.0/metrics', undefined, { cert: limited });
    expect(denied.status).toBe(403);
    expect(denied.body.error).toBe('Forbidden');
    const [e] = (await securityEvents(t, 'authz_fail:can_view:/1.0/metrics')).slice(-1);
    expect(e?.metadata).toMatchObject({ level: 'warning', description: 'Authorization denied', request_method: 'GET' });
    expectRequestor(e as never, limited.fingerprint, 'tls');
    // A restricted identity sees only itself in the trust store, and may not add to it.
    const list = await call(t, 'GET', '/1.0/certificates', undefined, { cert: limited });
    expect(list.body.metadata).toEqual([`/1.0/certificates/${limited.fingerprint}`]);
    const add = await call(t, 'POST', '/1.0/certificates', { certificate: clientCert('x').cert }, { cert: limited });
    expect(add.status).toBe(403);
    expect(await securityEvents(t, 'authz_fail:can_edit:/1.0/certificates')).toHaveLength(1);
    const peek = await call(t, 'GET', `/1.0/certificates/${admin.fingerprint}`, undefined, { cert: limited });
    expect(peek.status).toBe(403);
  });

  it('changing a certificate emits authn_certificate_change with the old fingerprint; removal user_deleted', async () => {
    const old = clientCert('rotating');
    await trust(t, old, { restricted: true, projects: ['p1'] });
    const next = clientCert('rotated');
    // Self-update: the restricted identity replaces its own certificate.
    const r = await call(t, 'PATCH', `/1.0/certificates/${old.fingerprint}`, { certificate: next.cert }, { cert: old });
    expect(r.status).toBe(200);
    const [change] = await securityEvents(t, `authn_certificate_change:${old.fingerprint}`);
    expect(change?.metadata).toMatchObject({
      level: 'info',
      description: 'TLS client certificate changed (self-update)',
      request_method: 'PATCH',
    });
    expect((await call(t, 'GET', '/1.0', undefined, { cert: old })).body.metadata.auth).toBe('untrusted');
    expect((await call(t, 'GET', '/1.0', undefined, { cert: next })).body.metadata.auth).toBe('trusted');
    // But not its own grant.
    const escalate = await call(
      t,
      'PATCH',
      `/1.0/certificates/${next.fingerprint}`,
      { restricted: false },
      { cert: next },
    );
    expect(escalate.status).toBe(403);
    // The admin edits the grant: user_updated and authz_admin identity_edit.
    await t.client.call('PATCH', `/1.0/certificates/${next.fingerprint}`, { projects: ['p1', 'p2'] });
    expect(await securityEvents(t, `user_updated:tls:${next.fingerprint}`)).toHaveLength(2);
    expect(await securityEvents(t, `authz_admin:identity_edit:tls/${next.fingerprint}`)).toHaveLength(1);
    await t.client.call('DELETE', `/1.0/certificates/${next.fingerprint}`);
    const [deleted] = await securityEvents(t, `user_deleted:tls:${next.fingerprint}`);
    expect(deleted?.metadata).toMatchObject({ description: 'Identity deleted', request_method: 'DELETE' });
    expect(deleted?.metadata.requestor).toMatchObject({ username: 'root', protocol: 'unix', address: '@' });
    expect(await securityEvents(t, `authz_admin:identity_delete:tls/${next.fingerprint}`)).toHaveLength(1);
    expect((await call(t, 'GET', '/1.0', undefined, { cert: next })).body.metadata.auth).toBe('untrusted');
  });

  it('validates fingerprints in paths', async () => {
    for (const bad of ['zz', '..%2f..%2fetc%2fpasswd', `${'a'.repeat(65)}`]) {
      const r = await t.client.raw('GET', `/1.0/certificates/${bad}`);
      expect(r.status, bad).toBe(400);
      expect(JSON.parse(r.body).error).toMatch(/fingerprint/);
    }
    expect((await t.client.raw('GET', `/1.0/certificates/${'a'.repeat(64)}`)).status).toBe(404);
  });
});

interface TokenView {
  id: string;
  name: string;
  token: string;
  status: string;
}

describe('bearer tokens', () => {
  const create = (body: Record<string, unknown>) => t.client.call<TokenView>('POST', '/1.0/auth/tokens', body);

  it('authenticate as admin or restricted, with authn_token_created on creation', async () => {
    const admin = await create({ name: 'ci' });
    expect(admin.token).toMatch(/^herald_[0-9a-f]{16}_/);
    const [created] = await securityEvents(t, `authn_token_created:${admin.id}`);
    expect(created?.metadata).toMatchObject({ level: 'info', description: 'Bearer token created' });
    expect(await securityEvents(t, `authz_admin:identity_create:bearer/${admin.id}`)).toHaveLength(1);
    expect((await call(t, 'GET', '/1.0/metrics', undefined, { token: admin.token })).status).toBe(200);
    const r = await call(t, 'POST', '/1.0/events', SAMPLES.logging, { token: admin.token });
    expect(r.status).toBe(200);

    const viewer = await create({ name: 'viewer', projects: ['p1'], entitlements: ['can_view_events'] });
    expect((await call(t, 'GET', '/1.0/events/history', undefined, { token: viewer.token })).status).toBe(200);
    expect((await call(t, 'GET', '/1.0/metrics', undefined, { token: viewer.token })).status).toBe(403);
    const [fail] = (await securityEvents(t, 'authz_fail:can_view:/1.0/metrics')).slice(-1);
    expectRequestor(fail as never, viewer.id, 'bearer');
  });

  it('are stored only as hashes and never shown again', async () => {
    const made = await create({ name: 'secret-keeper' });
    const db = new Database(join(t.dir, 'herald.db'), { readonly: true });
    try {
      const rows = db.prepare('SELECT key, value FROM state').all() as Array<{ key: string; value: string }>;
      expect(rows.some((r) => r.key === `auth.token.${made.id}`)).toBe(true);
      // everything after `herald_<id>_`: base64url secrets may themselves contain '_'
      const secret = made.token.slice('herald_'.length + 17);
      expect(secret).toHaveLength(43);
      for (const r of rows) expect(r.value).not.toContain(secret);
      for (const r of rows) expect(r.value).not.toContain('secret123');
    } finally {
      db.close();
    }
    const list = await t.client.call<Array<Record<string, unknown>>>('GET', '/1.0/auth/tokens');
    const mine = list.find((x) => x.id === made.id);
    expect(mine).toMatchObject({ name: 'secret-keeper', status: 'active' });
    expect(mine?.token).toBeUndefined();
    expect(mine?.hash).toBeUndefined();
  });

  it('revoked, expired, unknown or forged: 403 and authn_token_reuse', async () => {
    const revoked = await create({ name: 'old' });
    await t.client.call('DELETE', `/1.0/auth/tokens/${revoked.id}`);
    const [rev] = await securityEvents(t, `authn_token_revoked:${revoked.id}`);
    expect(rev?.metadata.description).toBe('Bearer token revoked');
    const expired = await create({ name: 'brief', expires_at: new Date(Date.now() + 50).toISOString() });
    await new Promise((r) => setTimeout(r, 120));
    const forged = `${revoked.token.slice(0, -4)}AAAA`;
    const unknown = `herald_0123456789abcdef_${'A'.repeat(43)}`;
    const cases: Array<[string, string, string]> = [
      [revoked.token, revoked.id, 'Bearer token verification failed'],
      [expired.token, expired.id, 'Bearer token verification failed'],
      [forged, revoked.id, 'Bearer token verification failed'],
      [unknown, '0123456789abcdef', 'Unrecognised bearer token subject'],
    ];
    for (const [token, subject, description] of cases) {
      const n = (await securityEvents(t, 'authn_token_reuse')).length;
      const r: Res = await call(t, 'GET', '/1.0/events/history', undefined, { token });
      expect(r.status).toBe(403);
      const events = await securityEvents(t, 'authn_token_reuse');
      expect(events.length).toBe(n + 1);
      const e = events.at(-1);
      expect(e?.metadata).toMatchObject({
        name: 'authn_token_reuse',
        level: 'warning',
        description,
        request_path: '/1.0/events/history',
      });
      expectRequestor(e as never, subject, 'bearer');
    }
    // A bad token is not rescued by a trusted certificate on the same request.
    const admin = clientCert('both');
    await trust(t, admin);
    expect((await call(t, 'GET', '/1.0/metrics', undefined, { cert: admin, token: unknown })).status).toBe(403);
    expect((await call(t, 'GET', '/1.0/metrics', undefined, { cert: admin })).status).toBe(200);
  });
});

describe('the events WebSocket over TLS', () => {
  const open = (o: { cert?: { cert: string; key: string } }) =>
    new Promise<number>((resolve) => {
      const ws = new WebSocket(`wss://127.0.0.1:${t.port}/1.0/events`, {
        ca: t.ca,
        cert: o.cert?.cert,
        key: o.cert?.key,
      });
      ws.on('open', () => {
        ws.close();
        resolve(101);
      });
      ws.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.on('error', () => {});
    });

  it('refuses untrusted callers before the upgrade and admits trusted ones', async () => {
    expect(await open({})).toBe(403);
    const stranger = clientCert('ws-stranger');
    const n = (await securityEvents(t, 'authn_login_fail:tls')).length;
    expect(await open({ cert: stranger })).toBe(403);
    const events = await securityEvents(t, 'authn_login_fail:tls');
    expect(events.length).toBe(n + 1);
    expect(events.at(-1)?.metadata.request_path).toBe('/1.0/events');
    const friend = clientCert('ws-friend');
    await trust(t, friend);
    expect(await open({ cert: friend })).toBe(101);
  });
});

describe('event listener limits', () => {
  const connect = (h: SecureHerald, cert: { cert: string; key: string }) =>
    new Promise<{ status: number; ws: WebSocket }>((resolve) => {
      const ws = new WebSocket(`wss://127.0.0.1:${h.port}/1.0/events`, { ca: h.ca, cert: cert.cert, key: cert.key });
      ws.on('open', () => resolve({ status: 101, ws }));
      ws.on('unexpected-response', (_req, res) => {
        resolve({ status: res.statusCode ?? 0, ws });
        ws.terminate();
      });
      ws.on('error', () => {});
    });

  it('caps open listeners per identity with 429 before the upgrade; a closed one frees its place', async () => {
    const h = await startSecureHerald({ limits: { listenersPerIdentity: 3 } });
    try {
      const me = clientCert('ws-many');
      await trust(h, me);
      const open = await Promise.all([connect(h, me), connect(h, me), connect(h, me)]);
      expect(open.map((o) => o.status)).toEqual([101, 101, 101]);
      expect((await connect(h, me)).status).toBe(429);
      const other = clientCert('ws-other');
      await trust(h, other);
      const theirs = await connect(h, other);
      expect(theirs.status).toBe(101);
      const closed = new Promise((r) => open[0]?.ws.once('close', r));
      open[0]?.ws.close();
      await closed;
      // The server counts the listener gone once it has seen the close.
      let again = await connect(h, me);
      for (let i = 0; i < 50 && again.status === 429; i++) {
        await new Promise((r) => setTimeout(r, 20));
        again = await connect(h, me);
      }
      expect(again.status).toBe(101);
      for (const o of [...open, theirs, again]) o.ws.terminate();
    } finally {
      await h.cleanup();
    }
  });

  it('drops a client message over the payload limit with 1009, before reading it', async () => {
    const h = await startSecureHerald({ limits: { wsMaxPayloadBytes: 1024 } });
    try {
      const me = clientCert('ws-big');
      await trust(h, me);
      const { status, ws } = await connect(h, me);
      expect(status).toBe(101);
      const closed = new Promise<number>((r) => ws.once('close', (code: number) => r(code)));
      ws.send('x'.repeat(4096));
      expect(await closed).toBe(1009);
    } finally {
      await h.cleanup();
    }
  });
});

describe('failed authentication rate limit', () => {
  it('answers 429 after a burst, records the lockout once, and still serves trusted clients', async () => {
    const h = await startSecureHerald({ limits: { authFailureBurst: 3, authFailureRefillMs: 60_000 } });
    try {
      const friend = clientCert('friend');
      await trust(h, friend);
      const stranger = clientCert('brute');
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) {
        const r = await call(
          h,
          'POST',
          '/1.0/certificates',
          { ...LXC_JOIN, password: `guess${i}` },
          { cert: stranger },
        );
        statuses.push(r.status);
        if (r.status === 429) {
          expect(r.body.error).toMatch(/too many failed authentications from 127\.0\.0\.1; retry in \d+s/);
          expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
        }
      }
      expect(statuses).toEqual([403, 403, 403, 429, 429, 429]);
      // Even the right password waits out the lockout; bearer guesses too.
      const right = await call(h, 'POST', '/1.0/certificates', { ...LXC_JOIN, password: 'x' }, { cert: stranger });
      expect(right.status).toBe(429);
      expect((await call(h, 'GET', '/1.0/events/history', undefined, { token: 'herald_x' })).status).toBe(429);
      const locks = await securityEvents(h, 'authn_login_fail:rate_limit');
      expect(locks).toHaveLength(1);
      expect(locks[0]?.metadata).toMatchObject({ level: 'warning', request_path: '/1.0/certificates' });
      expect(await securityEvents(h, 'authn_login_fail:tls')).toHaveLength(3);
      // The trusted client at the same address is not locked out.
      expect((await call(h, 'GET', '/1.0/events/history', undefined, { cert: friend })).status).toBe(200);
    } finally {
      await h.cleanup();
    }
  });
});

describe('system events', () => {
  it('sys_startup once up, sys_shutdown before stopping, sys_monitor_disabled through the same path', async () => {
    const h = await startSecureHerald({ systemEvents: true });
    const [start] = await securityEvents(h, 'sys_startup');
    expect(start?.metadata).toEqual({ name: 'sys_startup', level: 'info', description: 'LXD daemon started' });
    await emitSystemEvent(
      { publisher: h.herald.publisher, log: new Logger({ write: () => {} }) },
      'sys_monitor_disabled',
    );
    const [off] = await securityEvents(h, 'sys_monitor_disabled');
    expect(off?.metadata).toMatchObject({ level: 'warning', description: 'Loki monitoring disabled' });
    const again = await h.restart({ systemEvents: true });
    try {
      const names = (await securityEvents(again, 'sys_')).map((e) => e.metadata.name);
      expect(names).toEqual(['sys_startup', 'sys_monitor_disabled', 'sys_shutdown', 'sys_startup']);
    } finally {
      await again.cleanup();
    }
  });
});

describe('secrets are never logged', () => {
  it('tokens and trust passwords do not reach the log', async () => {
    const lines: string[] = [];
    const h = await startSecureHerald({ logger: new Logger({ level: 'debug', write: (l) => lines.push(l) }) });
    try {
      await h.client.call('PUT', '/1.0/auth/trust-password', { password: 'hunter2-password' });
      const tok = await h.client.call<TokenView>('POST', '/1.0/auth/tokens', { name: 'n' });
      await call(h, 'POST', '/1.0/certificates', { ...LXC_JOIN, password: 'wrong-password-9' }, { cert: clientCert() });
      await call(h, 'GET', '/1.0/events/history', undefined, { token: `${tok.token}x` });
      const all = lines.join('') + JSON.stringify(await securityEvents(h));
      // The secret is everything after `herald_<id>_`; base64url may itself contain '_'.
      const secretPart = tok.token.slice('herald_'.length + 17);
      expect(secretPart).toHaveLength(43);
      for (const secret of ['hunter2-password', 'wrong-password-9', secretPart]) {
        expect(all).not.toContain(secret);
      }
    } finally {
      await h.cleanup();
    }
  });
});
