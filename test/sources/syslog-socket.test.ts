/**
 * @module The syslog intake with real senders: Debian's ovsdb-server and ovn-northd writing to herald's syslog.socket,
 * util-linux logger for RFC 3164/5424 (over the unix socket and loopback UDP), and junk that must be counted and dropped.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PreparedEvent } from '../../src/core/prepare.js';
import { startHerald } from '../../src/runtime/herald.js';
import type { Publisher } from '../../src/service/publisher.js';
import { parseLoopbackAddress, SyslogIntake } from '../../src/sources/syslog/socket.js';
import { UnixDgramSender } from '../../src/sources/syslog/unix-dgram.js';
import { tempDir as newTempDir, quietLogger, startTestHerald, type TestHerald } from '../support/herald.js';

interface Ev {
  id: number;
  type: string;
  timestamp: string;
  location?: string;
  project?: string;
  metadata: { message: string; level: string; context: Record<string, string> };
}

const children: ChildProcess[] = [];
const dirs: string[] = [];

function tempDir(prefix?: string): string {
  const d = newTempDir(prefix);
  dirs.push(d);
  return d;
}

/** Tools these tests drive for real: missing ones fail the test (CI installs them), they never skip it. */
function need(tool: string): string {
  for (const dir of ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/bin', '/usr/local/sbin']) {
    const p = join(dir, tool);
    if (existsSync(p)) return p;
  }
  throw new Error(`${tool} is not installed (scripts/install-system-deps.sh installs it)`);
}

function launch(tool: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(need(tool), args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  child.on('exit', (code, signal) => {
    if (code !== 0 && signal === null) process.stderr.write(`${tool} exited ${code}: ${stderr}\n`);
  });
  children.push(child);
  return child;
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    if (child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
  });
}

afterAll(async () => {
  await Promise.all(children.map(stop));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function waitFor<T>(what: string, get: () => T | undefined | Promise<T | undefined>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function stored(t: TestHerald, type?: string): Promise<Ev[]> {
  const rows = await t.herald.store.readAfter(0, 100_000);
  return rows.map((r) => JSON.parse(r.json) as Ev).filter((e) => type === undefined || e.type === type);
}

function findEvent(t: TestHerald, type: string, pred: (e: Ev) => boolean, what: string): Promise<Ev> {
  return waitFor(what, async () => (await stored(t, type)).find(pred));
}

function logger(args: string[]): void {
  execFileSync(need('logger'), ['--socket-errors=on', ...args], { stdio: 'pipe' });
}

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

async function metrics(t: TestHerald): Promise<string> {
  return (await t.herald.app.inject({ method: 'GET', url: '/1.0/metrics' })).body;
}

describe('syslog.socket with real senders', () => {
  let t: TestHerald;
  let sock: string;
  beforeAll(async () => {
    t = await startTestHerald();
    sock = join(t.dir, 'syslog.socket');
  });
  afterAll(async () => {
    await t.cleanup();
  });

  it('opens DIR/syslog.socket and shows it in GET /1.0', async () => {
    expect(t.herald.syslog?.path).toBe(sock);
    expect(existsSync(sock)).toBe(true);
    const res = await t.client.call<{ environment: Record<string, unknown> }>('GET', '/1.0');
    expect(res.environment.syslog_socket).toBe(sock);
  });

  it('turns logger --rfc3164 lines into logging events', async () => {
    logger(['--socket', sock, '--rfc3164', '-t', 'myapp', '-p', 'local3.warning', 'hello from rfc3164']);
    logger(['--socket', sock, '--rfc3164', '-i', '-t', 'withpid', '-p', 'user.err', 'with a pid']);
    const e = await findEvent(t, 'logging', (e) => e.metadata.message === 'hello from rfc3164', 'the 3164 line');
    expect(e.metadata.level).toBe('warning');
    expect(e.metadata.context).toEqual({ app: 'myapp', facility: 'local3', host: expect.any(String) });
    expect(e.project).toBeUndefined();
    expect(e.location).toBe('none');
    const p = await findEvent(t, 'logging', (e) => e.metadata.message === 'with a pid', 'the pid line');
    expect(p.metadata.level).toBe('error');
    expect(p.metadata.context.app).toBe('withpid');
    expect(p.metadata.context.procid).toMatch(/^\d+$/);
    expect(Object.keys(p.metadata.context)).toEqual(['app', 'facility', 'host', 'procid']);
  });

  it("reads logger's default local format (no hostname)", async () => {
    logger(['--socket', sock, '-t', 'plain', '-p', 'daemon.debug', 'default local format']);
    const e = await findEvent(t, 'logging', (e) => e.metadata.message === 'default local format', 'the line');
    expect(e.metadata).toEqual({
      message: 'default local format',
      level: 'debug',
      context: { app: 'plain', facility: 'daemon' },
    });
  });

  it('turns logger --rfc5424 lines into logging events with msgid and procid', async () => {
    logger([
      '--socket',
      sock,
      '--rfc5424',
      '-i',
      '-t',
      'app5424',
      '-p',
      'daemon.notice',
      '--msgid',
      'ID47',
      '--sd-id',
      'zoo@123',
      '--sd-param',
      'tiger="hungry"',
      'hello from rfc5424 ✓',
    ]);
    const e = await findEvent(t, 'logging', (e) => e.metadata.message === 'hello from rfc5424 ✓', 'the 5424 line');
    expect(e.metadata.level).toBe('info');
    expect(e.metadata.context).toEqual({
      app: 'app5424',
      facility: 'daemon',
      host: expect.any(String),
      msgid: 'ID47',
      procid: expect.stringMatching(/^\d+$/),
    });
    // several lines from stdin are several datagrams, each its own event
    execFileSync(need('logger'), ['--socket', sock, '--rfc5424=notime,nohost', '-t', 'multi'], {
      input: 'line one\nline two\n',
    });
    await findEvent(t, 'logging', (e) => e.metadata.message === 'line two', 'the second stdin line');
    const multi = (await stored(t, 'logging')).filter((e) => e.metadata.context.app === 'multi');
    expect(multi.map((e) => e.metadata.message)).toEqual(['line one', 'line two']);
    expect(multi[0]?.metadata.context).toEqual({ app: 'multi', facility: 'user' });
  });

  it('turns a real ovsdb-server’s vlog lines into ovn events, info and then debug', async () => {
    const work = tempDir('herald-ovs-');
    const schema = join(work, 'schema.json');
    writeFileSync(
      schema,
      JSON.stringify({ name: 'Herald', version: '1.0.0', tables: { T: { columns: { name: { type: 'string' } } } } }),
    );
    const db = join(work, 'herald.db');
    execFileSync(need('ovsdb-tool'), ['create', db, schema]);
    const ctl = join(work, 'ovsdb.ctl');
    const env = { OVS_RUNDIR: work, OVS_LOGDIR: work, OVS_DBDIR: work };
    const before = t.herald.store.headIdSync();
    const server = launch(
      'ovsdb-server',
      [
        db,
        `--remote=punix:${join(work, 'db.sock')}`,
        `--unixctl=${ctl}`,
        `--syslog-method=unix:${sock}`,
        '-vsyslog:info',
        '-vconsole:off',
        '--no-chdir',
      ],
      env,
    );
    const banner = await findEvent(
      t,
      'ovn',
      (e) => e.id > before && e.metadata.message.startsWith('ovsdb-server (Open vSwitch)'),
      'the ovsdb-server banner',
    );
    expect(banner.metadata.level).toBe('info');
    expect(banner.metadata.context).toEqual({ module: 'ovsdb_server', sequence: expect.stringMatching(/^\d{5}$/) });
    expect(Object.keys(banner.metadata.context)).toEqual(['module', 'sequence']);
    expect(banner.project).toBeUndefined();
    expect(banner.location).toBe('none');
    expect(Number.isNaN(Date.parse(banner.timestamp))).toBe(false);

    // Debug lines: vlog/set itself is logged by unixctl and jsonrpc at DBG once syslog takes debug.
    await waitFor('ovsdb-server control socket', () => (existsSync(ctl) ? true : undefined));
    execFileSync(need('ovs-appctl'), ['-t', ctl, 'vlog/set', 'ANY:syslog:dbg'], { env: { ...process.env, ...env } });
    execFileSync(need('ovs-appctl'), ['-t', ctl, 'ovsdb-server/list-dbs'], { env: { ...process.env, ...env } });
    const dbg = await findEvent(
      t,
      'ovn',
      (e) => e.id > before && e.metadata.context.module === 'unixctl' && e.metadata.message.includes('list-dbs'),
      'a debug line about list-dbs',
    );
    expect(dbg.metadata.level).toBe('debug');
    const ovn = (await stored(t, 'ovn')).filter((e) => e.id > before);
    const seqs = ovn.map((e) => Number(e.metadata.context.sequence));
    // One daemon's sequence numbers arrive in order, with none lost.
    expect(seqs).toEqual(seqs.map((_, i) => (seqs[0] as number) + i));
    for (const e of ovn) {
      expect(['info', 'debug']).toContain(e.metadata.level);
      expect(e.metadata.context.application).toBeUndefined();
    }
    // Visible through the API, filtered by type and level, as LXD clients ask for them.
    const res = await t.client.call<{ events: Ev[] }>('GET', '/1.0/events/history?type=ovn&level=debug&limit=1000');
    expect(res.events.some((e) => e.id === dbg.id)).toBe(true);
    await stop(server);
  });

  it('turns a real ovn-northd’s vlog lines into ovn events', async () => {
    const work = tempDir('herald-ovn-');
    const env = { OVS_RUNDIR: work, OVS_LOGDIR: work, OVS_DBDIR: work, OVN_RUNDIR: work, OVN_LOGDIR: work };
    const schemaDir = '/usr/share/ovn';
    for (const [name, schema] of [
      ['nb', 'ovn-nb.ovsschema'],
      ['sb', 'ovn-sb.ovsschema'],
    ] as const) {
      execFileSync(need('ovsdb-tool'), ['create', join(work, `${name}.db`), join(schemaDir, schema)]);
      launch(
        'ovsdb-server',
        [
          join(work, `${name}.db`),
          `--remote=punix:${join(work, `${name}.sock`)}`,
          `--unixctl=${join(work, `${name}.ctl`)}`,
          '-vconsole:off',
          '--no-chdir',
        ],
        env,
      );
    }
    await waitFor('NB and SB sockets', () =>
      existsSync(join(work, 'nb.sock')) && existsSync(join(work, 'sb.sock')) ? true : undefined,
    );
    const before = t.herald.store.headIdSync();
    const northd = launch(
      'ovn-northd',
      [
        `--ovnnb-db=unix:${join(work, 'nb.sock')}`,
        `--ovnsb-db=unix:${join(work, 'sb.sock')}`,
        `--unixctl=${join(work, 'northd.ctl')}`,
        `--syslog-method=unix:${sock}`,
        '-vsyslog:info',
        '-vconsole:off',
        '--no-chdir',
      ],
      env,
    );
    const active = await findEvent(
      t,
      'ovn',
      (e) => e.id > before && e.metadata.message.includes('This ovn-northd instance is now active'),
      'ovn-northd taking the lock',
    );
    expect(active.metadata).toEqual({
      message: 'ovn-northd lock acquired. This ovn-northd instance is now active.',
      level: 'info',
      context: { module: 'ovn_northd', sequence: expect.stringMatching(/^\d{5}$/) },
    });
    const connected = await findEvent(
      t,
      'ovn',
      (e) => e.id > before && e.metadata.context.module === 'reconnect' && e.metadata.message.endsWith('connected'),
      'a reconnect line',
    );
    expect(connected.metadata.message).toBe(`unix:${join(work, 'nb.sock')}: connected`);
    await stop(northd);
  });

  it('shows OVS lines live in herald monitor --type ovn', async () => {
    const entry = fileURLToPath(new URL('../support/cli.ts', import.meta.url));
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const monitor = spawn(process.execPath, ['--import', 'tsx', entry, '--data', t.dir, 'monitor', '--type', 'ovn'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(monitor);
    let out = '';
    monitor.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
    });
    const sender = new UnixDgramSender(sock);
    try {
      // Keep sending until the monitor is connected and prints one: it only sees events after it connects.
      await waitFor(
        'the monitor to print the OVS line',
        async () => {
          if (out.includes('br-int.mgmt: connected')) return true;
          await sender.send(
            Buffer.from('<29> ovs|ovn-controller|00017|rconn|INFO|unix:/var/run/openvswitch/br-int.mgmt: connected'),
          );
          await new Promise((r) => setTimeout(r, 200));
          return undefined;
        },
        30_000,
      );
    } finally {
      sender.close();
      await stop(monitor);
    }
    expect(out).toContain('type: ovn');
    expect(out).toContain('application: ovn-controller');
    expect(out).toContain('module: rconn');
    expect(out).not.toContain('type: logging');
  });

  it('counts and drops malformed and oversized datagrams, and keeps going', async () => {
    const before = await metrics(t);
    const sender = new UnixDgramSender(sock);
    const junk = [
      Buffer.alloc(0),
      Buffer.from('no pri at all'),
      Buffer.from('<999>too big a priority'),
      Buffer.from([0x3c, 0x31, 0x3e, 0x00, 0x01, 0x02, 0xff, 0xfe]),
      Buffer.from('<29>ovs|00001|truncated'),
      Buffer.from(`<29>ovs|00001|big|INFO|${'x'.repeat(9000)}`),
      Buffer.from(`<13>${'y'.repeat(60_000)}`),
    ];
    for (const j of junk) await sender.send(j);
    await sender.send(Buffer.from('<29>ovs|00002|after|WARN|still alive after junk'));
    sender.close();
    const alive = await findEvent(t, 'ovn', (e) => e.metadata.message === 'still alive after junk', 'the good line');
    expect(alive.metadata.level).toBe('warning');
    const after = await metrics(t);
    const delta = (name: string) => metric(after, name) - metric(before, name);
    expect(delta('herald_syslog_received_total')).toBe(8);
    expect(delta('herald_syslog_parsed_total')).toBe(1);
    expect(delta('herald_syslog_dropped_total{reason="malformed"}')).toBe(5);
    expect(delta('herald_syslog_dropped_total{reason="oversize"}')).toBe(2);
    expect(metric(after, 'herald_syslog_dropped_total{reason="backlog"}')).toBe(0);
    expect(after).toMatch(/# TYPE herald_syslog_received_total counter/);
  });

  it('batches a burst into a few transactions, losing nothing', async () => {
    const n = 5000;
    const tx0 = t.herald.publisher.stats.transactions;
    const head0 = t.herald.store.headIdSync();
    const sender = new UnixDgramSender(sock);
    for (let i = 1; i <= n; i++) {
      await sender.send(Buffer.from(`<29>ovs|${String(i).padStart(5, '0')}|burst|INFO|line ${i}`));
    }
    sender.close();
    await waitFor('the burst to be stored', () => (t.herald.store.headIdSync() >= head0 + n ? true : undefined));
    const burst = (await stored(t, 'ovn')).filter((e) => e.metadata.context.module === 'burst');
    expect(burst).toHaveLength(n);
    expect(burst.map((e) => e.metadata.message)).toEqual(Array.from({ length: n }, (_, i) => `line ${i + 1}`));
    const tx = t.herald.publisher.stats.transactions - tx0;
    expect(tx).toBeGreaterThan(0);
    expect(tx).toBeLessThan(n / 50);
  });
});

describe('loopback UDP', () => {
  let t: TestHerald | undefined;
  afterEach(async () => {
    await t?.cleanup();
    t = undefined;
  });

  it('takes lines from logger over UDP on a loopback port, and shows the address in GET /1.0', async () => {
    t = await startTestHerald({ syslogUdp: '127.0.0.1:0' });
    const addr = t.herald.syslog?.udpAddress as string;
    expect(addr).toMatch(/^127\.0\.0\.1:\d+$/);
    const port = addr.split(':')[1] as string;
    logger(['-n', '127.0.0.1', '-P', port, '-d', '--rfc5424', '-t', 'udpapp', '--msgid', 'M1', 'over udp']);
    const e = await findEvent(t, 'logging', (e) => e.metadata.message === 'over udp', 'the UDP line');
    expect(e.metadata.context).toMatchObject({ app: 'udpapp', msgid: 'M1', facility: 'user' });
    const client = createSocket('udp4');
    await new Promise<void>((r) =>
      client.send('<28>ovs|00009|udp|WARN|ovs over udp', Number(port), '127.0.0.1', () => r()),
    );
    client.close();
    const o = await findEvent(t, 'ovn', (e) => e.metadata.message === 'ovs over udp', 'the OVS line over UDP');
    expect(o.metadata.context).toEqual({ module: 'udp', sequence: '00009' });
    const res = await t.client.call<{ environment: Record<string, unknown> }>('GET', '/1.0');
    expect(res.environment.syslog_udp).toBe(addr);
  });

  it('refuses addresses off loopback before opening anything', async () => {
    for (const bad of [
      '0.0.0.0:5514',
      '10.1.2.3:5514',
      '[::]:5514',
      'example.com:5514',
      '127.0.0.1',
      '127.0.0.1:70000',
    ]) {
      expect(() => parseLoopbackAddress(bad)).toThrow();
    }
    expect(parseLoopbackAddress('[::1]:5514')).toEqual({ host: '::1', port: 5514, family: 'udp6' });
    expect(parseLoopbackAddress('[0:0:0:0:0:0:0:1]:1')).toMatchObject({ family: 'udp6' });
    expect(parseLoopbackAddress('localhost:5514')).toEqual({ host: '127.0.0.1', port: 5514, family: 'udp4' });
    expect(parseLoopbackAddress('127.8.9.10:0')).toMatchObject({ host: '127.8.9.10', port: 0 });
    const dir = tempDir();
    await expect(startHerald({ dataDir: dir, syslogUdp: '0.0.0.0:5514', logger: quietLogger() })).rejects.toThrow(
      /loopback/,
    );
  });
});

describe('core.syslog_socket (LXD’s key)', () => {
  let t: TestHerald | undefined;
  afterEach(async () => {
    await t?.cleanup();
    t = undefined;
  });

  it('closes and reopens the socket when the key changes, and is kept across restarts', async () => {
    t = await startTestHerald();
    const sock = join(t.dir, 'syslog.socket');
    const env = async () =>
      (await t?.client.call<{ environment: Record<string, unknown> }>('GET', '/1.0'))?.environment;
    await t.client.call('PATCH', '/1.0', { config: { 'core.syslog_socket': 'false' } });
    expect(existsSync(sock)).toBe(false);
    expect((await env())?.syslog_socket).toBeUndefined();
    expect(() => logger(['--socket', sock, 'nobody listens'])).toThrow();
    t = await t.restart();
    expect(existsSync(sock)).toBe(false);
    await t.client.call('PATCH', '/1.0', { config: { 'core.syslog_socket': 'true' } });
    expect((await env())?.syslog_socket).toBe(sock);
    logger(['--socket', sock, '-t', 'back', 'listening again']);
    await findEvent(t, 'logging', (e) => e.metadata.message === 'listening again', 'the line after reopening');
    await expect(t.client.call('PATCH', '/1.0', { config: { 'core.syslog_socket': 'maybe' } })).rejects.toThrow(
      /true or false/,
    );
  });
});

describe('the intake alone', () => {
  it('drops lines past its backlog when the store falls behind, and counts them', async () => {
    const dir = tempDir();
    const published: PreparedEvent[][] = [];
    // A publisher that never commits: the store is stuck.
    const stuck = {
      options: { location: 'none' },
      publish: (events: readonly PreparedEvent[]) => {
        published.push([...events]);
        return new Promise(() => {});
      },
    } as unknown as Publisher;
    const intake = await SyslogIntake.start({
      publisher: stuck,
      path: join(dir, 'syslog.socket'),
      maxBacklog: 10,
      batchLines: 4,
    });
    for (let i = 0; i < 30; i++) intake.receive(Buffer.from(`<29>ovs|${i}|m|INFO|x`));
    expect(intake.stats).toMatchObject({ received: 30, parsed: 30, stored: 0 });
    expect(intake.stats.dropped.backlog).toBe(20);
    expect(intake.backlog).toBe(10);
    expect(published.flat()).toHaveLength(8);
    intake.receive(Buffer.from('<13>x: after'));
    expect(intake.stats.dropped.backlog).toBe(21);
    // close() would wait for the stuck commit; only the socket is released here.
    void intake.close();
    expect(existsSync(join(dir, 'syslog.socket'))).toBe(false);
  });

  it('replaces a stale socket file and removes it on close', async () => {
    const dir = tempDir();
    const path = join(dir, 'syslog.socket');
    writeFileSync(path, 'stale');
    const published: number[] = [];
    const pub = {
      options: { location: 'm1' },
      publish: async (events: readonly PreparedEvent[]) => {
        published.push(events.length);
        return events.map((e, i) => ({ id: i + 1, json: e.body, fields: e.fields }));
      },
    } as unknown as Publisher;
    const intake = await SyslogIntake.start({ publisher: pub, path, flushMs: 1 });
    const sender = new UnixDgramSender(path);
    await sender.send(Buffer.from('<29>ovs|00001|m|INFO|hello'));
    sender.close();
    await waitFor('the line', () => (intake.stats.stored === 1 ? true : undefined));
    await intake.close();
    expect(existsSync(path)).toBe(false);
    expect(published).toEqual([1]);
  });

  it('keeps serving without the socket when it cannot be bound', async () => {
    const long = join(tempDir(), 'x'.repeat(120), 'syslog.socket');
    const pub = { options: { location: 'none' }, publish: async () => [] } as unknown as Publisher;
    const intake = await SyslogIntake.start({ publisher: pub, path: long, log: quietLogger() });
    expect(intake.path).toBeUndefined();
    await intake.close();
  });
});
