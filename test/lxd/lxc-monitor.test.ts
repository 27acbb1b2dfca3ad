/**
 * @module The real `lxc monitor` 5.0.2 against herald over HTTPS, in every format and with every flag, all at once:
 * each prints exactly the events herald holds (that its filters select), rendered as lxc renders LXD's own events, and
 * none errors on what herald sends or on herald's pings (here every 200 ms).
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { parse } from 'yaml';
import { formatEvent, lxcEnvelope, type MonitorFormat } from '../../src/cli/monitor-format.js';
import type { LogrusLevel } from '../../src/core/levels.js';
import { LXC_DEFAULT_TYPES } from '../../src/server/routes/lxd-compat.js';
import { CORPUS } from './corpus.js';
import {
  eventsAfter,
  type HttpsHerald,
  Lxc,
  type Proc,
  requireBinaries,
  sleep,
  startHttpsHerald,
  until,
} from './helpers.js';

interface Mode {
  readonly args: readonly string[];
  readonly format: MonitorFormat;
  readonly logLevel?: LogrusLevel;
  /** lxc's own --type filter (client side) */
  readonly types?: readonly string[];
  /** undefined: the remote's project (default); '*': all projects */
  readonly project?: string;
}

const MODES: readonly Mode[] = [
  { args: ['--format', 'json'], format: 'json' },
  { args: [], format: 'yaml' },
  { args: ['--format', 'yaml', '--all-projects'], format: 'yaml', project: '*' },
  { args: ['--pretty'], format: 'pretty' },
  { args: ['--format', 'pretty', '--loglevel', 'info'], format: 'pretty', logLevel: 'info' },
  {
    args: ['--pretty', '--loglevel', 'warning', '--all-projects'],
    format: 'pretty',
    logLevel: 'warning',
    project: '*',
  },
  { args: ['--type', 'lifecycle', '--format', 'json'], format: 'json', types: ['lifecycle'] },
  { args: ['--type', 'lifecycle', '--pretty'], format: 'pretty', types: ['lifecycle'] },
  {
    args: ['--type', 'logging', '--type', 'operation', '--format', 'yaml'],
    format: 'yaml',
    types: ['logging', 'operation'],
  },
  { args: ['--all-projects', '--format', 'json'], format: 'json', project: '*' },
  { args: ['--project', 'foo', '--format', 'json'], format: 'json', project: 'foo' },
  { args: ['--project', 'foo', '--pretty'], format: 'pretty', project: 'foo' },
];

let t: HttpsHerald;
let lxc: Lxc;

beforeAll(async () => {
  requireBinaries({ lxc: true });
  t = await startHttpsHerald({ live: { pingIntervalMs: 200 } });
  await t.client.call('PUT', '/1.0/auth/trust-password', { password: 'pw' });
  lxc = new Lxc();
  await lxc.ok(['remote', 'add', 'h', t.url, '--accept-certificate', '--password', 'pw']);
});
afterAll(async () => {
  lxc?.cleanup();
  await t?.cleanup();
});

/** The printed events of one monitor, one string per event, trimmed (lxc prints them in goroutine order). */
function blocks(stdout: string, format: MonitorFormat): string[] {
  const sep = format === 'json' ? '\n\n' : format === 'yaml' ? '\n\n\n' : '\n';
  return stdout
    .split(sep)
    .map((b) => b.trim())
    .filter((b) => b !== '')
    .sort();
}

// biome-ignore lint/suspicious/noExplicitAny: events as parsed JSON
function expected(events: any[], m: Mode): string[] {
  return events
    .filter((e) => (LXC_DEFAULT_TYPES as readonly string[]).includes(e.type))
    .filter((e) => !m.types || m.types.includes(e.type))
    .filter((e) => {
      const p = e.project ?? '';
      if (m.project === '*') return true;
      return p === '' || p === (m.project ?? 'default');
    })
    .map((e) =>
      m.format === 'yaml'
        ? canonical(lxcEnvelope(e))
        : formatEvent(e, { format: m.format, logLevel: m.logLevel }).trim(),
    )
    .filter((b) => b !== '')
    .sort();
}

/** JSON with keys sorted at every level: how two decoded events are compared. */
function canonical(v: unknown): string {
  const sort = (x: unknown): unknown => {
    if (Array.isArray(x)) return x.map(sort);
    if (x !== null && typeof x === 'object') {
      return Object.fromEntries(
        Object.keys(x as object)
          .sort()
          .map((k) => [k, sort((x as Record<string, unknown>)[k])]),
      );
    }
    return x;
  };
  return JSON.stringify(sort(v));
}

/**
 * What lxc printed, one string per event. json and pretty are compared byte for byte with herald's renderer of the
 * same event; yaml by value, since lxc's yaml.v2 quoting is lxc's business (what matters is that the event arrived).
 */
function printed(stdout: string, format: MonitorFormat): string[] {
  const b = blocks(stdout, format);
  return format === 'yaml' ? b.map((y) => canonical(parse(y))).sort() : b;
}

describe('lxc monitor against herald', () => {
  it('prints exactly the events herald holds, in json, yaml and pretty, with --type, --loglevel and projects', async () => {
    const monitors: Proc[] = MODES.map((m) => lxc.monitor(['h:', ...m.args]));
    try {
      await until('every monitor to connect', () => t.herald.hub.size === MODES.length);
      // Several keepalive pings reach every monitor before and while events flow.
      await sleep(700);
      const head = await t.herald.store.headId();
      await t.client.call('POST', '/1.0/events', CORPUS);
      await sleep(300);
      await t.client.call('POST', '/1.0/events', CORPUS.slice(0, 3));
      const held = await eventsAfter(t, head);
      expect(held.length).toBeGreaterThanOrEqual(CORPUS.length + 3);
      for (const [i, m] of MODES.entries()) {
        const want = expected(held, m);
        expect(want.length, `events for lxc monitor ${m.args.join(' ')}`).toBeGreaterThan(0);
        await (monitors[i] as Proc).waitFor(`lxc monitor ${m.args.join(' ')}: ${want.length} events`, (out) => {
          return blocks(out, m.format).length >= want.length;
        });
      }
      await sleep(500);
      for (const [i, m] of MODES.entries()) {
        const mon = monitors[i] as Proc;
        expect(mon.exitCode, `lxc monitor ${m.args.join(' ')} exited: ${mon.stderr}`).toBeNull();
        expect(printed(mon.stdout, m.format), `lxc monitor ${m.args.join(' ')}`).toEqual(expected(held, m));
        expect(mon.stderr).not.toMatch(/Error/);
      }
      // What lxc never gets: herald's maas type, and the types lxc 5.0.2 cannot render (it never asks for a type).
      const all = monitors.map((p) => p.stdout).join('\n');
      for (const absent of ['valued-moth', 'TLS authentication failure', 'reconnect'])
        expect(all).not.toContain(absent);
    } finally {
      await Promise.all(monitors.map((p) => p.stop()));
    }
  });

  it('an LXD client still gets ovn and security when it asks for them by name (raw websocket as lxc)', async () => {
    const cert = readFileSync(join(lxc.conf, 'client.crt'), 'utf8');
    const key = readFileSync(join(lxc.conf, 'client.key'), 'utf8');
    const open = (query: string) =>
      new Promise<{ ws: WebSocket; types: string[] }>((resolve, reject) => {
        const types: string[] = [];
        const ws = new WebSocket(`wss://${t.herald.httpsAddresses[0]}/1.0/events${query}`, {
          cert,
          key,
          ca: t.herald.serverCertificate?.cert,
          headers: { 'user-agent': 'LXD 5.0.2 (Linux; x86_64; 6.1; Debian GNU/Linux; 12)' },
        });
        ws.on('message', (d) => types.push(JSON.parse(d.toString()).type));
        ws.on('open', () => resolve({ ws, types }));
        ws.on('error', reject);
      });
    const named = await open('?type=ovn,security');
    const unnamed = await open('');
    try {
      await until('both listeners', () => t.herald.hub.size === 2);
      await t.client.call('POST', '/1.0/events', CORPUS);
      await until('the ovn event', () => named.types.includes('ovn'), 5000);
      await until('the last lifecycle event', () => unnamed.types.length >= 10, 5000);
      await sleep(200);
    } finally {
      named.ws.close();
      unnamed.ws.close();
    }
    expect(new Set(named.types)).toEqual(new Set(['ovn', 'security']));
    expect(new Set(unnamed.types)).toEqual(new Set(LXC_DEFAULT_TYPES));
  });
});
