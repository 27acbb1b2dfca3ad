/**
 * @module pylxd 2.2.10 (the system python's python3-pylxd) against herald: `authenticate(password)` over HTTPS, then
 * `client.events()`; over the unix socket as is. pylxd's default events websocket sends no client certificate, which
 * herald refuses as LXD does (403): over HTTPS a pylxd user passes the certificate to the websocket (docs/lxd.md).
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSelfSignedCertificate } from '../../src/runtime/tls-listener.js';
import { CORPUS } from './corpus.js';
import {
  eventsAfter,
  type HttpsHerald,
  type Proc,
  PYLXD_SCRIPT,
  PYTHON,
  requireBinaries,
  start,
  startHttpsHerald,
  tempDir,
  until,
} from './helpers.js';

let t: HttpsHerald;
let dir: string;

beforeAll(async () => {
  requireBinaries({ pylxd: true });
  t = await startHttpsHerald();
  await t.client.call('PUT', '/1.0/auth/trust-password', { password: 'py-secret' });
  dir = tempDir('herald-pylxd-');
});
afterAll(async () => {
  await t?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function clientFiles(name: string): { cert: string; key: string; fingerprint: string } {
  const c = createSelfSignedCertificate({ commonName: `root@${name}`, usage: 'client' });
  writeFileSync(join(dir, `${name}.crt`), c.cert);
  writeFileSync(join(dir, `${name}.key`), c.key, { mode: 0o600 });
  return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`), fingerprint: c.fingerprint };
}

/** The pylxd script; requests lets these variables override verify=False (spec lxd-clients.md §2d). */
function pylxd(args: string[]): Proc {
  return start(PYTHON, ['-W', 'ignore', PYLXD_SCRIPT, ...args], {
    REQUESTS_CA_BUNDLE: undefined,
    CURL_CA_BUNDLE: undefined,
  });
}

/** Printed messages (JSON lines between READY and DONE), re-encoded as the stored events are, key order kept. */
function messages(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.stringify(JSON.parse(l)));
}

// biome-ignore lint/suspicious/noExplicitAny: events as parsed JSON
const visibleDefault = (e: any, types: readonly string[]) =>
  types.includes(e.type) && (e.project === undefined || e.project === 'default');

const LXD_TYPES = ['logging', 'operation', 'lifecycle', 'ovn', 'security'];

/** The last event of a test: the script stops when it has it (visible to both tests: lifecycle, no project). */
const END = { type: 'lifecycle', metadata: { action: 'config-updated', source: '/1.0/pylxd-test-end' } };
const UNTIL = ['--until-source', '/1.0/pylxd-test-end'];

describe('pylxd against herald', () => {
  it('authenticate(password) over HTTPS trusts the certificate; events() with the certificate receive events', async () => {
    const c = clientFiles('py-https');
    const head = await t.herald.store.headId();
    const p = pylxd([
      t.url,
      '30',
      '10',
      '--cert',
      c.cert,
      '--key',
      c.key,
      '--password',
      'py-secret',
      '--cert-ws',
      ...UNTIL,
    ]);
    try {
      await p.waitFor('READY', (out) => out.includes('READY'));
      expect(p.stdout).toContain('TRUSTED True');
      expect(p.stdout).toContain('RESOURCE /1.0/events\n');
      expect(t.herald.auth.identities.isTrusted(c.fingerprint)).toBe(true);
      const mark = await t.herald.store.headId();
      await t.client.call('POST', '/1.0/events', [...CORPUS, END]);
      const held = (await eventsAfter(t, mark)).filter((e) => visibleDefault(e, LXD_TYPES));
      await p.waitFor(`${held.length} events`, (out) => messages(out).length >= held.length);
      await p.stop();
      // Every event pylxd may see (admin: LXD's five types, the default project), in id order, keys in LXD's order.
      expect(messages(p.stdout)).toEqual(held.map((e) => JSON.stringify(e)));
      // authenticate() recorded the join as LXD does.
      const joined = (await eventsAfter(t, head)).filter(
        (e) => e.id <= mark && e.metadata.action === 'certificate-created',
      );
      expect(joined.map((e) => e.metadata.source)).toEqual([`/1.0/certificates/${c.fingerprint}`]);
    } finally {
      await p.stop();
    }
  });

  it("refuses pylxd's default certificate-less events websocket over HTTPS with 403, as LXD does", async () => {
    const c = clientFiles('py-nocert');
    const p = pylxd([t.url, '1', '5', '--cert', c.cert, '--key', c.key, '--password', 'py-secret']);
    await p.wait();
    expect(p.stdout).toContain('TRUSTED True');
    expect(p.stdout).toContain("ERROR HandshakeError Invalid response status: b'403' b'Forbidden'");
    expect(p.exitCode).toBe(2);
  });

  it('events() over the unix socket work as is, with the type filter pylxd sends (%2C-encoded)', async () => {
    const p = pylxd([t.herald.socketPath, '200', '10', '--types', 'lifecycle,operation', ...UNTIL]);
    try {
      await p.waitFor('READY', (out) => out.includes('READY'));
      expect(p.stdout).toMatch(/RESOURCE \/1\.0\/events\?type=(lifecycle%2Coperation|operation%2Clifecycle)\n/);
      await until('the listener', () => t.herald.hub.size === 1);
      const mark = await t.herald.store.headId();
      await t.client.call('POST', '/1.0/events', [...CORPUS, END]);
      const held = (await eventsAfter(t, mark)).filter((e) => visibleDefault(e, ['lifecycle', 'operation']));
      expect(held.length).toBeGreaterThan(3);
      await p.waitFor(`${held.length} events`, (out) => messages(out).length >= held.length);
      await p.stop();
      expect(messages(p.stdout)).toEqual(held.map((e) => JSON.stringify(e)));
    } finally {
      await p.stop();
    }
  });
});
