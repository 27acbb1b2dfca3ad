/**
 * @module The real CLI for the trust model: `herald trust add|list|remove|token|password`, `herald token
 * create|list|revoke`, and `herald serve --listen` (HTTPS, system events), each checked over real TLS.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unixClient } from '../../src/cli/client.js';
import { call, clientCert, type SecureHerald, securityEvents, startSecureHerald } from '../security/helpers.js';
import { startTestHerald, tempDir } from '../support/herald.js';
import { runCli } from '../support/run-cli.js';

let t: SecureHerald;
beforeAll(async () => {
  t = await startSecureHerald();
});
afterAll(async () => {
  await t.cleanup();
});

const cli = (args: string[], input?: string) => runCli(['--data', t.dir, ...args], { input });
const auth = async (cert: ReturnType<typeof clientCert>) =>
  (await call(t, 'GET', '/1.0', undefined, { cert })).body.metadata.auth as string;

describe('herald trust', () => {
  it('add trusts a certificate file and prints its fingerprint; list shows it; remove untrusts it', async () => {
    const c = clientCert('cli-laptop');
    const file = join(t.dir, 'laptop.crt');
    writeFileSync(file, c.cert);
    const add = await cli(['trust', 'add', file, '--name', 'laptop']);
    expect(add.stderr).toBe('');
    expect(add.code).toBe(0);
    expect(add.stdout).toBe(`${c.fingerprint}\n`);
    expect(await auth(c)).toBe('trusted');

    const limited = clientCert('cli-limited');
    const file2 = join(t.dir, 'limited.der');
    // DER works too.
    writeFileSync(file2, Buffer.from(limited.cert.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64'));
    const add2 = await cli(['trust', 'add', file2, '--projects', 'p1,p2', '--entitlements', 'can_view_events']);
    expect(add2.code).toBe(0);

    const json = await cli(['trust', 'list', '-f', 'json']);
    const list = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
    expect(list.find((x) => x.fingerprint === c.fingerprint)).toMatchObject({ name: 'laptop', restricted: false });
    expect(list.find((x) => x.fingerprint === limited.fingerprint)).toMatchObject({
      name: 'root@cli-limited',
      restricted: true,
      projects: ['p1', 'p2'],
      entitlements: ['can_view_events'],
    });
    const table = await cli(['trust', 'list']);
    expect(table.stdout.split('\n')[0]).toMatch(/^FINGERPRINT\s+NAME\s+RESTRICTED\s+PROJECTS\s+ENTITLEMENTS$/);
    expect(table.stdout).toContain(c.fingerprint.slice(0, 12));

    const rm = await cli(['trust', 'remove', c.fingerprint.slice(0, 16)]);
    expect(rm.code).toBe(0);
    expect(await auth(c)).toBe('untrusted');
    expect(await securityEvents(t, `user_deleted:tls:${c.fingerprint}`)).toHaveLength(1);
  });

  it('says clearly what is wrong', async () => {
    const missing = await cli(['trust', 'remove', 'abcdef']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('Error: Certificate not found\n');
    const bad = await cli(['trust', 'remove', '../etc']);
    expect(bad.stderr).toBe('Error: "../etc" is not a fingerprint (hexadecimal)\n');
    const file = join(t.dir, 'junk.crt');
    writeFileSync(file, 'junk');
    const junk = await cli(['trust', 'add', file]);
    expect(junk.code).toBe(1);
    expect(junk.stderr).toMatch(/^Error: .*junk\.crt: certificate could not be parsed as X\.509\n$/);
    const other = join(t.dir, 'other.crt');
    writeFileSync(other, clientCert('other').cert);
    const ent = await cli(['trust', 'add', other, '--entitlements', 'can_fly']);
    expect(ent.stderr).toMatch(/"can_fly" is not an entitlement/);
  });

  it('token prints a join token in LXD format that an untrusted client redeems once', async () => {
    const r = await cli(['trust', 'token', 'joiner', '--projects', 'p1', '--expires', '1h']);
    expect(r.code).toBe(0);
    const token = r.stdout.trim();
    const decoded = JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
    expect(decoded).toMatchObject({
      client_name: 'joiner',
      fingerprint: t.herald.serverCertificate?.fingerprint,
      addresses: [t.address],
    });
    expect(Date.parse(decoded.expires_at)).toBeGreaterThan(Date.now() + 3_500_000);
    const c = clientCert('cli-joiner');
    const join1 = await call(t, 'POST', '/1.0/certificates', { type: '', password: token }, { cert: c });
    expect(join1.status).toBe(201);
    expect(await auth(c)).toBe('trusted');
    const mine = await call(t, 'GET', `/1.0/certificates/${c.fingerprint}`, undefined, { cert: c });
    expect(mine.body.metadata).toMatchObject({ name: 'joiner', restricted: true, projects: ['p1'] });
  });

  it('password sets the trust password from stdin (never from a log), and --unset removes it', async () => {
    const set = await cli(['trust', 'password'], 's3cret-pw\n');
    expect(set.code).toBe(0);
    expect(set.stderr).toBe('Trust password set\n');
    expect(set.stdout).toBe('');
    const c = clientCert('cli-pw');
    expect((await call(t, 'POST', '/1.0/certificates', { password: 's3cret-pw' }, { cert: c })).status).toBe(201);
    const unset = await cli(['trust', 'password', '--unset']);
    expect(unset.code).toBe(0);
    const d = clientCert('cli-pw2');
    expect((await call(t, 'POST', '/1.0/certificates', { password: 's3cret-pw' }, { cert: d })).status).toBe(403);
  });
});

describe('herald token', () => {
  it('create prints the token once; it authenticates until revoked; list never shows it', async () => {
    const r = await cli(['token', 'create', 'ci', '--expires', '30d', '--projects', 'p1']);
    expect(r.code).toBe(0);
    const token = r.stdout.trim();
    expect(token).toMatch(/^herald_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    const id = token.split('_')[1] as string;
    expect(r.stderr).toMatch(new RegExp(`^Token ${id} \\(ci\\) created, expires \\d{4}-`));
    expect((await call(t, 'GET', '/1.0/events/history', undefined, { token })).status).toBe(200);
    // Restricted to p1: not an admin.
    expect((await call(t, 'GET', '/1.0/metrics', undefined, { token })).status).toBe(403);

    const list = await cli(['token', 'list', '-f', 'json']);
    const tokens = JSON.parse(list.stdout) as Array<Record<string, unknown>>;
    expect(tokens.find((x) => x.id === id)).toMatchObject({ name: 'ci', status: 'active', projects: ['p1'] });
    expect(list.stdout).not.toContain(token.slice('herald_'.length + 17)); // the whole secret, which may contain '_'
    const table = await cli(['token', 'list']);
    expect(table.stdout).toMatch(new RegExp(`${id}\\s+ci\\s+active`));

    const rev = await cli(['token', 'revoke', id]);
    expect(rev.code).toBe(0);
    expect(rev.stderr).toBe(`Token ${id} (ci) revoked\n`);
    expect((await call(t, 'GET', '/1.0/events/history', undefined, { token })).status).toBe(403);
    expect(await securityEvents(t, 'authn_token_reuse')).not.toHaveLength(0);
    const again = await cli(['token', 'revoke', id]);
    expect(again.stderr).toBe(`Error: token ${id} is already revoked\n`);
    const bad = await cli(['token', 'create', 'x', '--expires', 'soon']);
    expect(bad.stderr).toBe('Error: --expires must be a duration like 30d or an RFC3339 time, not "soon"\n');
  });
});

describe('herald serve --listen', () => {
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) c.kill('SIGKILL');
  });

  it('serves HTTPS with a fresh owner-only key, records sys_startup and sys_shutdown', async () => {
    const dir = tempDir();
    const entry = fileURLToPath(new URL('../support/cli.ts', import.meta.url));
    // A free port: bind one, release it, hand it over.
    const { createServer } = await import('node:net');
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', entry, '--data', dir, 'serve', '--listen', `127.0.0.1:${port}`],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
    });
    const client = unixClient(dir);
    for (let i = 0; i < 200 && !out.includes('herald is serving'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(out).toContain('herald is serving');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'server.key')).mode & 0o777).toBe(0o600);
    const ca = readFileSync(join(dir, 'server.crt'), 'utf8');
    const secure = { host: '127.0.0.1', port, ca } as SecureHerald;
    const r = await call(secure, 'GET', '/1.0');
    expect(r.body.metadata.auth).toBe('untrusted');
    const env = await client.call<{ environment: { addresses: string[] } }>('GET', '/1.0');
    expect(env.environment.addresses).toEqual([`127.0.0.1:${port}`]);

    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
    expect(existsSync(join(dir, 'herald.db'))).toBe(true);
    // Read what the stopped server recorded with a second, unix-only server on the same directory.
    const again = await startTestHerald({}, dir);
    try {
      const names = (await securityEvents(again, 'sys_')).map((e) => e.metadata.name);
      expect(names).toEqual(['sys_startup', 'sys_shutdown']);
    } finally {
      await again.cleanup();
    }
  });

  it('refuses a bad listen address with one clear line', async () => {
    const r = await runCli(['--data', tempDir(), 'serve', '--listen', '127.0.0.1:99999']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'Error: invalid listen address "127.0.0.1:99999": the port must be a number from 0 to 65535\n',
    );
  });
});
