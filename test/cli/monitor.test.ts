/** @module `herald monitor` as a real process against a real server: formats, errors, Ctrl-C, restart and resume. */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLES, startTestHerald, type TestHerald, tempDir } from '../support/herald.js';
import { runCli } from '../support/run-cli.js';

/** Only the events a test publishes: herald's own log records would otherwise arrive as `logging` events. */
const QUIET = { logEvents: false } as const;

const ENTRY = fileURLToPath(new URL('../support/cli.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A long-running `herald monitor` child whose output the test watches. */
class Monitor {
  readonly child: ChildProcessWithoutNullStreams;
  stdout = '';
  stderr = '';
  readonly exited: Promise<number>;

  constructor(args: readonly string[]) {
    this.child = spawn(process.execPath, ['--import', 'tsx', ENTRY, ...args], { cwd: ROOT, stdio: 'pipe' });
    this.child.stdout.on('data', (c: Buffer) => {
      this.stdout += c.toString();
    });
    this.child.stderr.on('data', (c: Buffer) => {
      this.stderr += c.toString();
    });
    this.exited = new Promise((resolve) => this.child.on('close', (code) => resolve(code ?? -1)));
  }

  async until(cond: (out: string) => boolean, what: string, ms = 20_000): Promise<void> {
    const end = Date.now() + ms;
    while (!cond(this.stdout)) {
      if (Date.now() > end)
        throw new Error(`timed out waiting for ${what}; stdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Ctrl-C, and the exit code. */
  interrupt(): Promise<number> {
    this.child.kill('SIGINT');
    return this.exited;
  }
}

const at = (ts: string, message: string) => ({
  type: 'logging',
  timestamp: ts,
  metadata: { message, level: 'info', context: { n: '1' } },
});
const lifecycle = { ...SAMPLES.lifecycle, timestamp: '2026-11-21T20:50:11.984079790Z' };

let t: TestHerald;
beforeAll(async () => {
  t = await startTestHerald(QUIET);
  const maas = { ...SAMPLES.maas, timestamp: '2026-11-21T20:51:00.5Z' };
  await t.client.call('POST', '/1.0/events', [lifecycle, at('2026-11-21T20:50:05Z', 'test log line 1'), maas]);
});
afterAll(async () => {
  await t.cleanup();
});

const monitor = (...args: string[]) => new Monitor(['--data', t.dir, 'monitor', ...args]);

describe('herald monitor output', () => {
  it('prints json as lxc does: sorted keys, Go timestamps, no id, a blank line after each', async () => {
    const m = monitor('--format', 'json', '--since', '0');
    await m.until((o) => o.split('\n\n').length === 3, 'two events');
    expect(await m.interrupt()).toBe(0);
    expect(m.stdout).toBe(
      '{"location":"none","metadata":{"action":"instance-started","name":"c1","project":"default","requestor":{"address":"10.0.0.1","protocol":"tls","username":"alice"},"source":"/1.0/instances/c1"},"project":"default","timestamp":"2026-11-21T20:50:11.98407979Z","type":"lifecycle"}\n\n' +
        '{"location":"none","metadata":{"context":{"n":"1"},"level":"info","message":"test log line 1"},"timestamp":"2026-11-21T20:50:05Z","type":"logging"}\n\n',
    );
  });

  it('prints yaml by default', async () => {
    const m = monitor('--since', '0', '--type', 'logging');
    await m.until((o) => o.includes('type: logging'), 'the event');
    expect(await m.interrupt()).toBe(0);
    expect(m.stdout).toBe(
      [
        'location: none',
        'metadata:',
        '  context:',
        '    "n": "1"',
        '  level: info',
        '  message: test log line 1',
        'timestamp: "2026-11-21T20:50:05Z"',
        'type: logging',
        '',
        '',
        '',
      ].join('\n'),
    );
  });

  it('prints pretty as logrus text, maas only when asked for by type, and filters by --loglevel', async () => {
    const m = monitor('--pretty', '--since', '0', '--type', 'lifecycle', '--type', 'maas');
    await m.until((o) => o.split('\n').length === 3, 'two lines');
    expect(await m.interrupt()).toBe(0);
    expect(m.stdout).toBe(
      'time="2026-11-21T20:50:11Z" level=info msg="Action: instance-started, Source: /1.0/instances/c1, Requestor: tls/alice (10.0.0.1)"\n' +
        `time="2026-11-21T20:51:00Z" level=info msg="Type: NODE, Description: Started deploying 'valued-moth'." hostname=valued-moth node=e86c7h pool=default username=admin zone=default\n`,
    );
    const quiet = monitor('--format', 'pretty', '--since', '0', '--loglevel', 'warning', '--all-projects');
    await t.client.call('POST', '/1.0/events', SAMPLES.security);
    await quiet.until((o) => o.includes('authn_login_fail'), 'the warning');
    expect(await quiet.interrupt()).toBe(0);
    expect(quiet.stdout.split('\n').filter(Boolean)).toHaveLength(1);
    expect(quiet.stdout).toContain('level=warning msg="TLS authentication failure" name="authn_login_fail:tls"');
  });
});

describe('herald monitor errors', () => {
  it('refuses --loglevel without pretty, and unknown formats, as lxc does', async () => {
    const a = await runCli(['--data', t.dir, 'monitor', '--format', 'json', '--loglevel', 'info']);
    expect(a.code).toBe(1);
    expect(a.stderr).toBe('Error: Log level filtering can only be used with pretty formatting\n');
    const b = await runCli(['--data', t.dir, 'monitor', '--format', 'xml']);
    expect(b.code).toBe(1);
    expect(b.stderr).toBe('Error: Invalid format: xml\n');
  });

  it('reports a server it cannot reach in one line', async () => {
    const r = await runCli(['--data', tempDir(), 'monitor']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error: cannot reach herald at \S+unix\.socket[^\n]*\n$/);
    const s = await runCli(['--data', tempDir(), 'monitor', '--since', '5']);
    expect(s.code).toBe(1);
    expect(s.stderr).toMatch(/^Error: cannot reach herald at [^\n]*\n$/);
  });

  it('passes the server refusal through as one line', async () => {
    const r = await runCli(['--data', t.dir, 'monitor', '--type', 'bogus']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('Error: "bogus" is not a supported event type\n');
  });
});

describe('herald monitor across a server restart', () => {
  it('reconnects and resumes after the last event printed: every event exactly once, in order', async () => {
    let s = await startTestHerald(QUIET);
    const m = new Monitor(['--data', s.dir, 'monitor', '--format', 'json']);
    try {
      const log = (tag: string, n: number) =>
        Array.from({ length: n }, (_, i) => ({ type: 'logging', metadata: { message: `${tag}${i}`, level: 'info' } }));
      const messages = () =>
        m.stdout
          .split('\n\n')
          .filter(Boolean)
          .map((line) => (JSON.parse(line) as { metadata: { message: string } }).metadata.message);
      const end = Date.now() + 20_000;
      while (s.herald.hub.size === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      await s.client.call('POST', '/1.0/events', log('a', 1));
      await m.until(() => messages().length === 1, 'the first event');
      for (let i = 0; i < 10; i++) await s.client.call('POST', '/1.0/events', log(`b${i}-`, 3));
      await s.stop();
      s = await startTestHerald(QUIET, s.dir);
      // published before the monitor is back: these come from the store
      for (let i = 0; i < 5; i++) await s.client.call('POST', '/1.0/events', log(`c${i}-`, 2));
      await m.until(() => messages().length >= 41, 'the replay after the restart');
      for (let i = 0; i < 5; i++) await s.client.call('POST', '/1.0/events', log(`d${i}-`, 2));
      await m.until(() => messages().length >= 51, 'live events after the restart');
      const expected = [
        'a0',
        ...Array.from({ length: 10 }, (_, i) => [0, 1, 2].map((k) => `b${i}-${k}`)).flat(),
        ...Array.from({ length: 5 }, (_, i) => [0, 1].map((k) => `c${i}-${k}`)).flat(),
        ...Array.from({ length: 5 }, (_, i) => [0, 1].map((k) => `d${i}-${k}`)).flat(),
      ];
      expect(messages()).toEqual(expected);
      expect(m.stderr).toContain('connection lost');
      expect(await m.interrupt()).toBe(0);
    } finally {
      m.child.kill('SIGKILL');
      await s.cleanup();
    }
  });
});
