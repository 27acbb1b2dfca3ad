/**
 * @module The real CLI: `herald events query` against `herald demo` traffic (shaped like the MAAS docs' example), its
 * terminal and pipe output and exit codes, and `herald maas-key` whose keys sign real requests.
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliError } from '../../src/cli/client.js';
import { eventsQueryPath, maasCliOutput, parsePair } from '../../src/cli/commands/maas.js';
import { startTestHerald, type TestHerald } from '../support/herald.js';
import { runCli } from '../support/run-cli.js';

let t: TestHerald;
beforeAll(async () => {
  t = await startTestHerald();
  const demo = await runCli(['--data', t.dir, 'demo', '--rate', '400', '--duration', '1500ms', '--seed', '4']);
  expect(demo.code, demo.stderr).toBe(0);
});
afterAll(async () => {
  await t.cleanup();
});

const CREATED =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\. \d{4} \d\d:\d\d:\d\d$/;
const KEYS = ['username', 'node', 'hostname', 'id', 'level', 'created', 'type', 'description'];

interface Body {
  count: number;
  events: Array<Record<string, unknown> & { id: number }>;
  next_uri: string;
  prev_uri: string | null;
}

describe('herald events query', () => {
  it('prints the audit log of demo traffic shaped like the MAAS docs example', async () => {
    const r = await runCli(['--data', t.dir, 'events', 'query', 'level=AUDIT']);
    expect(r.code, r.stderr).toBe(0);
    // Not a terminal: the body verbatim, no banner, no trailing newline (as maascli).
    expect(r.stdout.startsWith('{\n    "count": ')).toBe(true);
    const body = JSON.parse(r.stdout) as Body;
    expect(JSON.stringify(body, null, 4)).toBe(r.stdout);
    expect(Object.keys(body)).toEqual(['count', 'events', 'next_uri', 'prev_uri']);
    expect(body.count).toBe(body.events.length);
    expect(body.count).toBeGreaterThan(10);
    for (const e of body.events) {
      expect(Object.keys(e)).toEqual(KEYS);
      expect(e.level).toBe('AUDIT');
      expect(e.created).toMatch(CREATED);
    }
    const ids = body.events.map((e) => e.id);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    expect(body.next_uri).toBe(`/MAAS/api/2.0/events/?op=query&level=AUDIT&after=${ids[0]}`);
    expect(body.prev_uri).toBe(`/MAAS/api/2.0/events/?op=query&level=AUDIT&before=${ids.at(-1)}`);
    // MAAS machine audit events, node-less ones (logins, settings) and the LXD audit trail, all in one view.
    const types = new Set(body.events.map((e) => e.type));
    expect(types.has('Node')).toBe(true);
    expect([...types].some((x) => x === 'Instance' || x === 'Security' || x === 'Profile' || x === 'Network')).toBe(
      true,
    );
    const node = body.events.find((e) => e.type === 'Node');
    expect(node).toMatchObject({ node: expect.stringMatching(/^[0-9a-z]{6}$/), hostname: expect.stringMatching(/-/) });
  });

  it('sends the pairs in order after op=query, repeats kept, and reads name@=file', async () => {
    expect(
      eventsQueryPath([
        ['hostname', 'a'],
        ['hostname', 'b c'],
        ['level', 'DEBUG'],
      ]),
    ).toBe('/MAAS/api/2.0/events/?op=query&hostname=a&hostname=b+c&level=DEBUG');
    const file = join(t.dir, 'level.txt');
    writeFileSync(file, 'WARNING');
    expect(parsePair(`level@=${file}`)).toEqual(['level', 'WARNING']);
    expect(parsePair('owner=a=b')).toEqual(['owner', 'a=b']);
    const r = await runCli(['--data', t.dir, 'events', 'query', `level@=${file}`, 'limit=3']);
    expect(r.code, r.stderr).toBe(0);
    const body = JSON.parse(r.stdout) as Body;
    expect(body.next_uri).toMatch(/^\/MAAS\/api\/2\.0\/events\/\?op=query&level=WARNING&limit=3&after=\d+$/);
    for (const e of body.events) expect(['WARNING', 'ERROR', 'CRITICAL']).toContain(e.level);
  });

  it('prints the error body and exits 2 on a non-2xx response', async () => {
    const r = await runCli(['--data', t.dir, 'events', 'query', 'level=info']);
    expect([r.code, r.stdout, r.stderr]).toEqual([2, 'Unrecognised log level: info', '']);
    const lim = await runCli(['events', 'query', 'limit=5000'], { env: { HERALD_DIR: t.dir } });
    expect([lim.code, lim.stdout]).toEqual([2, 'Requested number of events 5000 is greater than limit: 1000']);
  });

  it('refuses an argument that is not name=value', async () => {
    expect(() => parsePair('level')).toThrow(CliError);
    const r = await runCli(['--data', t.dir, 'events', 'query', 'level']);
    expect([r.code, r.stderr]).toEqual([2, "Error: 'level' is not a name=value pair\n"]);
  });

  it('prints -d debugging (status and headers) to stderr', async () => {
    const r = await runCli(['--data', t.dir, 'events', 'query', '-d', 'limit=1']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^200 OK\n\n/);
    expect(r.stderr).toMatch(/X-Maas-Api-Hash: [0-9a-f]{40}\n/);
    expect(r.stderr).toMatch(/Content-Type: application\/json; charset=utf-8\n/);
  });

  it('formats for a terminal as maascli does', () => {
    const ok = { status: 200, headers: { 'content-type': 'application/json; charset=utf-8' }, body: '{}' };
    expect(maasCliOutput(ok, true)).toEqual({
      stdout: 'Success.\nMachine-readable output follows:\n{}\n',
      exitCode: 0,
    });
    expect(maasCliOutput(ok, false)).toEqual({ stdout: '{}', exitCode: 0 });
    const bad = {
      status: 400,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: 'Unrecognised log level: x',
    };
    expect(maasCliOutput(bad, true)).toEqual({ stdout: 'Unrecognised log level: x\n', exitCode: 2 });
    expect(maasCliOutput(bad, false)).toEqual({ stdout: 'Unrecognised log level: x', exitCode: 2 });
    const empty = { status: 401, headers: { 'content-type': 'text/plain' }, body: '' };
    expect(maasCliOutput(empty, true)).toEqual({ stdout: 'Request failed with code 401: Unauthorized\n', exitCode: 2 });
  });

  // The server runs in this process, so the terminal is driven asynchronously (a sync child would wait on us forever).
  const hasScript = spawnSync('script', ['--version']).status === 0;
  const inTerminal = (args: string): Promise<{ code: number | null; out: string }> =>
    new Promise((resolve, reject) => {
      const cmd = `${JSON.stringify(process.execPath)} --import tsx test/support/cli.ts events query ${args}`;
      const child = spawn('script', ['-qec', cmd, '/dev/null'], { env: { ...process.env, HERALD_DIR: t.dir } });
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, out: out.replace(/\r\n/g, '\n') }));
      child.stdin.end();
    });

  it('on a real terminal prints Success. and Machine-readable output follows:', async () => {
    // Needed, not optional: a missing `script` fails here rather than skipping the terminal behaviour unseen.
    expect(hasScript, '`script` (bsdutils) is missing: run bash scripts/install-system-deps.sh').toBe(true);
    const ok = await inTerminal('level=AUDIT limit=1');
    expect(ok.code).toBe(0);
    expect(ok.out.startsWith('Success.\nMachine-readable output follows:\n{\n    "count": 1,')).toBe(true);
    expect(ok.out.endsWith('}\n')).toBe(true);
    const failed = await inTerminal('level=bad');
    expect([failed.code, failed.out]).toEqual([2, 'Unrecognised log level: bad\n']);
  });
});

describe('herald maas-key', () => {
  it('creates a key that signs MAAS requests, lists it without its secret, revokes it', async () => {
    const created = await runCli(['--data', t.dir, 'maas-key', 'create', '--user', 'admin']);
    expect(created.code, created.stderr).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^[a-zA-Z0-9]{18}:[a-zA-Z0-9]{18}:[a-zA-Z0-9]{32}$/);
    const [consumer, token, secret] = key.split(':') as [string, string, string];

    const list = await runCli(['--data', t.dir, 'maas-key', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n')[0]).toMatch(/^CONSUMER KEY\s+TOKEN KEY\s+USER\s+CREATED$/);
    expect(list.stdout).toContain(consumer);
    expect(list.stdout).toContain(token);
    expect(list.stdout).not.toContain(secret);

    const sign = (nonce: string) => ({
      authorization: `OAuth oauth_nonce="${nonce}", oauth_timestamp="${Math.floor(Date.now() / 1000)}", oauth_version="1.0", oauth_signature_method="PLAINTEXT", oauth_consumer_key="${consumer}", oauth_token="${token}", oauth_signature="%26${secret}"`,
    });
    const ok = await t.client.raw('GET', '/MAAS/api/2.0/events/?op=query&limit=1', undefined, sign('1'));
    expect(ok.status).toBe(200);

    const revoked = await runCli(['--data', t.dir, 'maas-key', 'revoke', key]);
    expect([revoked.code, revoked.stdout]).toEqual([0, `revoked ${consumer}\n`]);
    const after = await t.client.raw('GET', '/MAAS/api/2.0/events/?op=query&limit=1', undefined, sign('2'));
    expect([after.status, after.body]).toEqual([401, 'Authorization Error: Invalid API key.']);
    const again = await runCli(['--data', t.dir, 'maas-key', 'revoke', consumer]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^Error: MAAS API key ".*" not found\n$/);
  });

  it('refuses a bad username', async () => {
    const r = await runCli(['--data', t.dir, 'maas-key', 'create', '--user', 'has space']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not a valid username/);
  });
});
