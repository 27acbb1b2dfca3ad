/**
 * @module The real `lxc` 5.0.2 adds herald as a remote: with the trust password, with a join token from `herald trust
 * token`, with a restricted token (`--project`), and refused with a wrong password; then `lxc info` and `lxc project
 * list` work on it. Each lxc has its own LXD_CONF (its own client certificate).
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { eventsAfter, type HttpsHerald, Lxc, requireBinaries, startHttpsHerald, until } from './helpers.js';

let t: HttpsHerald;
const clients: Lxc[] = [];
const lxc = () => {
  const c = new Lxc();
  clients.push(c);
  return c;
};

beforeAll(async () => {
  requireBinaries({ lxc: true });
  t = await startHttpsHerald();
  await t.client.call('PUT', '/1.0/auth/trust-password', { password: 'secret123' });
});
afterAll(async () => {
  for (const c of clients) c.cleanup();
  await t?.cleanup();
});

function fingerprintOf(c: Lxc): string {
  return new X509Certificate(readFileSync(join(c.conf, 'client.crt'))).fingerprint256.replace(/:/g, '').toLowerCase();
}

// biome-ignore lint/suspicious/noExplicitAny: lxc's config.yml
function remoteConfig(c: Lxc, name: string): any {
  return parse(readFileSync(join(c.conf, 'config.yml'), 'utf8')).remotes[name];
}

async function joinToken(name: string, extra: Record<string, unknown> = {}): Promise<string> {
  const op = await t.client.call<{ metadata: { token: string } }>('POST', '/1.0/certificates', {
    type: 'client',
    name,
    token: true,
    ...extra,
  });
  return op.metadata.token;
}

describe('lxc remote add against herald', () => {
  it('joins with the trust password: the certificate is trusted, certificate-created is recorded', async () => {
    const head = await t.herald.store.headId();
    const c = lxc();
    const r = await c.run(['remote', 'add', 'h', t.url, '--accept-certificate', '--password', 'secret123']);
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Client certificate now trusted by server: h');
    // `projects` is among herald's extensions, so lxc asked GET /1.0/projects and recorded the one it got.
    expect(remoteConfig(c, 'h')).toEqual({
      addr: t.url,
      auth_type: 'tls',
      project: 'default',
      protocol: 'lxd',
      public: false,
    });
    const fp = fingerprintOf(c);
    expect(t.herald.auth.identities.isTrusted(fp)).toBe(true);
    const events = await eventsAfter(t, head);
    const created = events.filter((e) => e.type === 'lifecycle' && e.metadata.action === 'certificate-created');
    expect(created).toHaveLength(1);
    expect(created[0].metadata.source).toBe(`/1.0/certificates/${fp}`);
    // As LXD: the joiner has no identity yet, only its address.
    expect(created[0].metadata.requestor).toMatchObject({ username: '', protocol: '' });
    expect(created[0].metadata.requestor.address).toMatch(/^127\.0\.0\.1:\d+$/);

    // The trusted remote works for the usual read commands.
    const info = await c.ok(['info', 'h:']);
    expect(info).toContain('auth: trusted');
    expect(info).toContain('- projects');
    expect(info).toContain(`certificate_fingerprint: ${t.herald.serverCertificate?.fingerprint}`);
    expect(await c.ok(['project', 'list', 'h:', '--format', 'csv'])).toBe('default (current),NO,NO,NO,NO,,0\n');
  });

  it('is refused with a wrong password, as LXD refuses it', async () => {
    const c = lxc();
    const r = await c.run(['remote', 'add', 'h', t.url, '--accept-certificate', '--password', 'wrong']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Error: not authorized');
    expect(t.herald.auth.identities.isTrusted(fingerprintOf(c))).toBe(false);
  });

  it('joins with a token from herald trust token (the token as the address), once', async () => {
    const token = await joinToken('laptop');
    const c = lxc();
    const r = await c.run(['remote', 'add', 'h', token]);
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.code).toBe(0);
    // lxc writes no auth_type for a token join (as with the real daemon).
    expect(remoteConfig(c, 'h')).toMatchObject({ addr: t.url, project: 'default', protocol: 'lxd' });
    const cert = t.herald.auth.identities.certificates().find((x) => x.fingerprint === fingerprintOf(c));
    expect(cert?.name).toBe('laptop');
    expect(cert?.grant.restricted).toBe(false);
    // A token is single use.
    const again = await lxc().run(['remote', 'add', 'h', token]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('Error: Failed to create certificate: not authorized');
  });

  it('joins restricted with a token: one project becomes the remote project; several need --project', async () => {
    const one = lxc();
    const r1 = await one.run(['remote', 'add', 'r', await joinToken('ops', { restricted: true, projects: ['alpha'] })]);
    expect(r1.code).toBe(0);
    expect(remoteConfig(one, 'r').project).toBe('alpha');

    const two = lxc();
    const token = await joinToken('ops2', { restricted: true, projects: ['alpha', 'beta'] });
    const r2 = await two.run(['remote', 'add', 'r', token, '--project', 'beta']);
    expect(r2.stderr).not.toMatch(/Error/);
    expect(r2.code).toBe(0);
    expect(remoteConfig(two, 'r').project).toBe('beta');
    expect(await two.ok(['project', 'list', 'r:', '--format', 'csv'])).toBe(
      'alpha,NO,NO,NO,NO,,0\nbeta (current),NO,NO,NO,NO,,0\n',
    );
  });

  it('lxc monitor on a restricted remote sees only its project (and its own events), with no error', async () => {
    const c = lxc();
    const r = await c.run(['remote', 'add', 'r', await joinToken('viewer', { restricted: true, projects: ['gamma'] })]);
    expect(r.code).toBe(0);
    const mon = c.monitor(['r:', '--format', 'json']);
    try {
      await until('the monitor to connect', () => t.herald.hub.size > 0);
      await t.client.call('POST', '/1.0/events', [
        { type: 'lifecycle', project: 'gamma', metadata: { action: 'instance-started', source: '/1.0/instances/g' } },
        { type: 'lifecycle', project: 'delta', metadata: { action: 'instance-started', source: '/1.0/instances/d' } },
        { type: 'logging', metadata: { message: 'admin only', level: 'info', context: {} } },
        { type: 'lifecycle', project: 'gamma', metadata: { action: 'instance-stopped', source: '/1.0/instances/g' } },
      ]);
      await mon.waitFor('two events', (out) => out.split('\n\n').filter((l) => l.trim()).length >= 2);
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      await mon.stop();
    }
    const lines = mon.stdout.split('\n\n').filter((l) => l.trim());
    expect(lines.map((l) => JSON.parse(l).metadata.action).sort()).toEqual(['instance-started', 'instance-stopped']);
    expect(lines.every((l) => JSON.parse(l).project === 'gamma')).toBe(true);
  });
});
