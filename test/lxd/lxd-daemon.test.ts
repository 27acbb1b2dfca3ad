/**
 * @module A real LXD 5.0.2 daemon (`lxd --group root`, its own state directory, no `lxd init`) as herald's source.
 * Real actions on profiles, projects, storage pools and volumes and empty instances, while `lxc monitor` on LXD itself,
 * a raw websocket on LXD, and `lxc monitor` on herald all listen: herald stores exactly what LXD emitted, unchanged,
 * and lxc prints the same events from herald as from LXD, ids aside. Then HTTPS sources (client certificate, trust
 * password), a daemon restart (the gap recorded as logging events), a herald restart, and removal.
 */

import { rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { rfc3339ToNanos } from '../../src/core/time.js';
import { createSelfSignedCertificate } from '../../src/runtime/tls-listener.js';
import type { SourceStatus } from '../../src/sources/lxd/source.js';
import { runCli } from '../support/run-cli.js';
import {
  eventsAfter,
  type HttpsHerald,
  Lxc,
  LxdDaemon,
  type Proc,
  requireBinaries,
  sleep,
  startHttpsHerald,
  tempDir,
  until,
} from './helpers.js';

let lxd: LxdDaemon;
let t: HttpsHerald;
let local: Lxc;
let remote: Lxc;

const BACKOFF = { initialMs: 100, maxMs: 500 };
const cleanups: Array<() => void> = [];

beforeAll(async () => {
  requireBinaries({ lxc: true, lxd: true });
  lxd = new LxdDaemon();
  await lxd.start();
  local = new Lxc(lxd.dir);
  t = await startHttpsHerald({ sourceBackoff: BACKOFF });
  await t.client.call('PUT', '/1.0/auth/trust-password', { password: 'pw' });
  remote = new Lxc();
  await remote.ok(['remote', 'add', 'herald', t.url, '--accept-certificate', '--password', 'pw']);
}, 120_000);

afterAll(async () => {
  for (const c of cleanups) c();
  await t?.cleanup();
  await lxd?.cleanup();
  local?.cleanup();
  remote?.cleanup();
});

const herald = (args: string[]) => runCli(['--data', t.dir, ...args]);

/** lxc monitor --format json output: one parsed event per printed block. */
// biome-ignore lint/suspicious/noExplicitAny: events as parsed JSON
function printed(stdout: string): any[] {
  return stdout
    .split('\n\n')
    .filter((b) => b.trim().startsWith('{'))
    .map((b) => JSON.parse(b));
}

const nanos = (ts: string): bigint => rfc3339ToNanos(ts) ?? -1n;

/** The marker event's timestamp in one monitor's output (undefined until printed). */
// biome-ignore lint/suspicious/noExplicitAny: as above
function markerTime(events: any[], profile: string): string | undefined {
  return events.find((e) => e.type === 'lifecycle' && e.metadata.source === `/1.0/profiles/${profile}`)?.timestamp;
}

// biome-ignore lint/suspicious/noExplicitAny: as above
function within(events: any[], from: string, to: string): any[] {
  return events.filter((e) => nanos(e.timestamp) >= nanos(from) && nanos(e.timestamp) <= nanos(to));
}

const sortedJson = (events: unknown[]) => events.map((e) => JSON.stringify(e)).sort();

/** Real actions producing lifecycle, operation and logging events in several projects. */
const ACTIONS: readonly string[][] = [
  ['profile', 'create', 'p1'],
  ['profile', 'set', 'p1', 'user.a', 'b'],
  ['profile', 'rename', 'p1', 'p2'],
  ['profile', 'delete', 'p2'],
  ['project', 'create', 'x1'],
  ['project', 'set', 'x1', 'user.k', 'v'],
  ['project', 'rename', 'x1', 'x2'],
  ['profile', 'create', 'pp', '--project', 'x2'],
  ['profile', 'delete', 'pp', '--project', 'x2'],
  ['project', 'delete', 'x2'],
  ['storage', 'create', 's1', 'dir'],
  ['storage', 'set', 's1', 'user.a', 'b'],
  ['storage', 'volume', 'create', 's1', 'v1'],
  ['storage', 'volume', 'set', 's1', 'v1', 'user.x', 'y'],
  ['storage', 'volume', 'snapshot', 's1', 'v1', 'snap0'],
  ['storage', 'volume', 'rename', 's1', 'v1', 'v2'],
  ['storage', 'volume', 'delete', 's1', 'v2/snap0'],
  ['storage', 'volume', 'delete', 's1', 'v2'],
  ['init', '--empty', 'c1', '-s', 's1'],
  ['config', 'set', 'c1', 'user.a', 'b'],
  ['snapshot', 'c1', 'snapc'],
  ['rename', 'c1', 'c2'],
  ['delete', 'c2'],
  ['storage', 'delete', 's1'],
];

const EXPECTED_ACTIONS = [
  'profile-created',
  'profile-updated',
  'profile-renamed',
  'profile-deleted',
  'project-created',
  'project-updated',
  'project-renamed',
  'project-deleted',
  'storage-pool-created',
  'storage-pool-updated',
  'storage-pool-deleted',
  'storage-volume-created',
  'storage-volume-updated',
  'storage-volume-snapshot-created',
  'storage-volume-renamed',
  'storage-volume-snapshot-deleted',
  'storage-volume-deleted',
  'instance-created',
  'instance-updated',
  'instance-snapshot-created',
  'instance-renamed',
  'instance-deleted',
];

async function sourceStatus(name: string): Promise<SourceStatus> {
  return t.client.call<SourceStatus>('GET', `/1.0/sources/${name}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

// biome-ignore lint/suspicious/noExplicitAny: as above
async function loggingAbout(source: string): Promise<any[]> {
  return (await eventsAfter(t, 0)).filter(
    (e) => e.type === 'logging' && e.metadata.message.startsWith(`LXD source "${source}"`),
  );
}

describe('herald as the event history of a real LXD daemon', () => {
  it('stores exactly the events LXD emits, and lxc monitor prints the same from herald as from LXD', async () => {
    const add = await herald(['source', 'add', 'lxd', 'lxd1', `unix://${lxd.socket}`]);
    expect(add.stderr).toMatch(/^Source lxd1 added: receiving events from unix:\/\/.*\(.* 5\.0\.2\)\n$/);
    expect(add.code).toBe(0);
    expect((await sourceStatus('lxd1')).connected).toBe(true);

    // A raw listener on LXD itself, to compare herald's stored bytes with LXD's frames.
    const frames: string[] = [];
    const raw = new WebSocket(`ws+unix://${lxd.socket}:/1.0/events?all-projects=true`);
    raw.on('message', (d) => frames.push(d.toString()));
    await new Promise((resolve, reject) => {
      raw.once('open', resolve);
      raw.once('error', reject);
    });
    const onLxd = local.monitor(['--format', 'json', '--all-projects']);
    const onHerald = remote.monitor(['herald:', '--format', 'json', '--all-projects']);
    const monitors: Proc[] = [onLxd, onHerald];
    try {
      await until('lxc monitor on herald to connect', () => t.herald.hub.size === 1);
      // Both monitors print the start marker: both were listening before anything measured happened.
      await local.ok(['profile', 'create', 'herald-start']);
      for (const m of monitors) await m.waitFor('the start marker', (o) => !!markerTime(printed(o), 'herald-start'));
      for (const a of ACTIONS) await local.ok(a);
      await local.ok(['profile', 'create', 'herald-end']);
      for (const m of monitors) await m.waitFor('the end marker', (o) => !!markerTime(printed(o), 'herald-end'));
      await sleep(1000);
    } finally {
      await Promise.all(monitors.map((m) => m.stop()));
      raw.close();
    }
    for (const m of monitors) expect(m.stderr).not.toMatch(/Error/);
    const fromLxd = printed(onLxd.stdout);
    const from = markerTime(fromLxd, 'herald-start') as string;
    const to = markerTime(fromLxd, 'herald-end') as string;
    const lxdWindow = within(fromLxd, from, to);
    const heraldWindow = within(printed(onHerald.stdout), from, to);

    // The actions really happened, in all three LXD types.
    const actions = new Set(lxdWindow.filter((e) => e.type === 'lifecycle').map((e) => e.metadata.action));
    for (const a of EXPECTED_ACTIONS) expect(actions, a).toContain(a);
    expect(new Set(lxdWindow.map((e) => e.type))).toEqual(new Set(['lifecycle', 'operation', 'logging']));
    expect(new Set(lxdWindow.map((e) => e.project ?? ''))).toEqual(new Set(['', 'default', 'x1', 'x2']));

    // lxc monitor prints the same events from herald as from LXD (lxc drops herald's id itself).
    expect(sortedJson(heraldWindow)).toEqual(sortedJson(lxdWindow));

    // herald stored exactly LXD's frames: same values, same key order (type, timestamp, metadata, location,
    // project), LXD's own timestamps and location; only herald's id is added, last.
    const stored = within(await eventsAfter(t, 0), from, to);
    expect(stored.length).toBe(lxdWindow.length);
    for (const e of stored)
      expect(Object.keys(e)).toEqual(
        Object.keys(e)
          .filter((k) => k !== 'id')
          .concat('id'),
      );
    const withoutId = stored.map(({ id: _id, ...rest }) => rest);
    const lxdFrames = within(
      frames.map((f) => JSON.parse(f)),
      from,
      to,
    );
    expect(sortedJson(withoutId)).toEqual(sortedJson(lxdFrames));
    // And in the order LXD sent them to herald: ids increase with arrival.
    const ids = stored.map((e) => e.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));

    const status = await sourceStatus('lxd1');
    expect(status.events_stored).toBeGreaterThanOrEqual(stored.length);
    expect(status.last_event_at).not.toBeNull();
    expect(status.events_rejected).toBe(0);
  });

  it('HTTPS sources: a client certificate the server trusts, or herald joining with the trust password', async () => {
    const port = await freePort();
    await local.ok(['config', 'set', 'core.https_address', `127.0.0.1:${port}`]);
    await local.ok(['config', 'set', 'core.trust_password', 'lxd-pw']);
    const dir = tempDir('herald-src-cert-');
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const c = createSelfSignedCertificate({ commonName: 'herald@test', usage: 'client' });
    writeFileSync(join(dir, 'c.crt'), c.cert);
    writeFileSync(join(dir, 'c.key'), c.key, { mode: 0o600 });
    await local.ok(['config', 'trust', 'add', join(dir, 'c.crt')]);
    const url = `https://127.0.0.1:${port}`;

    // Without a pinned server certificate herald says which one it would pin.
    const addTls1 = ['source', 'add', 'lxd', 'tls1', url, '--cert', join(dir, 'c.crt'), '--key', join(dir, 'c.key')];
    const unpinned = await herald(addTls1);
    expect(unpinned.code).toBe(1);
    expect(unpinned.stderr).toMatch(/certificate is not pinned yet \(fingerprint [0-9a-f]{64}\)/);

    const withCert = await herald([...addTls1, '--accept-certificate']);
    expect(withCert.stderr).toMatch(/^Source tls1 added: receiving events from https:\/\/127\.0\.0\.1:\d+ /);
    const withPassword = await herald([
      'source',
      'add',
      'lxd',
      'tls2',
      url,
      '--accept-certificate',
      '--password',
      'lxd-pw',
    ]);
    expect(withPassword.stderr).toMatch(/^Source tls2 added: receiving events/);
    // herald's generated certificate is now in LXD's trust store.
    const fp = (await sourceStatus('tls2')).client_fingerprint as string;
    expect(await local.ok(['config', 'trust', 'list', '--format', 'csv'])).toContain(fp.slice(0, 12));

    const head = await t.herald.store.headId();
    await local.ok(['profile', 'create', 'over-https']);
    await until('both HTTPS sources to store the event', async () => {
      const got = (await eventsAfter(t, head)).filter((e) => e.metadata.source === '/1.0/profiles/over-https');
      return got.length === 3; // lxd1 (unix), tls1, tls2: each source keeps its own copy
    });

    const list = await herald(['source', 'list']);
    expect(list.stdout.split('\n')[0]).toMatch(/^NAME\s+TYPE\s+URL\s+STATUS\s+LAST EVENT\s+STORED\s+LAST ERROR$/);
    expect(list.stdout).toMatch(/tls1\s+lxd\s+https:\/\/127\.0\.0\.1:\d+\s+connected\s+\S+ ago\s+\d+\s+-/);
    const json = JSON.parse((await herald(['source', 'list', '-f', 'json'])).stdout) as SourceStatus[];
    expect(json.map((s) => [s.name, s.status])).toEqual([
      ['lxd1', 'connected'],
      ['tls1', 'connected'],
      ['tls2', 'connected'],
    ]);
    const shown = await herald(['source', 'show', 'tls2', '--certificate']);
    expect(shown.stdout).toMatch(/^-----BEGIN CERTIFICATE-----\n/);

    for (const name of ['tls1', 'tls2']) expect((await herald(['source', 'remove', name])).code).toBe(0);
    await until('the stop record', async () => (await loggingAbout('tls1')).length >= 2);
    expect((await loggingAbout('tls1')).map((e) => e.metadata.message)).toEqual([
      'LXD source "tls1" connected',
      'LXD source "tls1" stopped',
    ]);
    expect((await loggingAbout('tls1'))[1].metadata.context).toEqual({ source: 'tls1', url, reason: 'source removed' });
  });

  it('records the gap when LXD stops, reconnects with backoff, and keeps what came before and after', async () => {
    const head = await t.herald.store.headId();
    await local.ok(['profile', 'create', 'before-stop']);
    await until('the event before the stop', async () =>
      (await eventsAfter(t, head)).some((e) => e.metadata.source === '/1.0/profiles/before-stop'),
    );
    await lxd.stop();
    await until('the disconnect', async () => (await sourceStatus('lxd1')).status === 'disconnected');
    const down = await sourceStatus('lxd1');
    expect(down.last_error).toMatch(/connection closed|cannot reach/);
    expect(down.next_attempt_at).not.toBeNull();
    await sleep(800); // several failed attempts: none of them is recorded again
    await lxd.start();
    await until('the reconnect', async () => (await sourceStatus('lxd1')).connected, 20_000);
    await local.ok(['profile', 'create', 'after-restart']);
    await until('the event after the restart', async () =>
      (await eventsAfter(t, head)).some((e) => e.metadata.source === '/1.0/profiles/after-restart'),
    );

    const events = await eventsAfter(t, head);
    const idOf = (pred: (e: (typeof events)[number]) => boolean) => events.find(pred)?.id as number;
    const before = idOf((e) => e.metadata.source === '/1.0/profiles/before-stop');
    const disconnected = idOf((e) => e.metadata.message === 'LXD source "lxd1" disconnected');
    const reconnected = idOf((e) => e.metadata.message === 'LXD source "lxd1" reconnected');
    const after = idOf((e) => e.metadata.source === '/1.0/profiles/after-restart');
    expect(before).toBeLessThan(disconnected);
    expect(disconnected).toBeLessThan(reconnected);
    expect(reconnected).toBeLessThan(after);
    const gap = events.filter((e) => e.type === 'logging' && e.metadata.message.startsWith('LXD source "lxd1"'));
    expect(gap.map((e) => [e.metadata.level, e.metadata.message])).toEqual([
      ['warning', 'LXD source "lxd1" disconnected'],
      ['info', 'LXD source "lxd1" reconnected'],
    ]);
    expect(gap[0].metadata.context).toMatchObject({ source: 'lxd1', url: `unix://${lxd.socket}` });
    expect(gap[0].metadata.context.error).toMatch(/connection closed/);
    const up = await sourceStatus('lxd1');
    expect(up.connects).toBe(2);
    expect(up.disconnects).toBe(1);
  });

  it('survives a herald restart (sources and counters from the state table), then is removed', async () => {
    const stored = (await sourceStatus('lxd1')).events_stored;
    const restarted = await t.restart();
    t = { ...restarted, url: `https://${restarted.herald.httpsAddresses[0]}` };
    await until('the source to reconnect after the restart', async () => (await sourceStatus('lxd1')).connected);
    const s = await sourceStatus('lxd1');
    expect(s.events_stored).toBeGreaterThanOrEqual(stored);
    // log records are published on the tick after they are written, so the status can be ahead of them
    await until('the connect record', async () =>
      (await loggingAbout('lxd1')).some((_, i, all) => i > 0 && all[i - 1].metadata.message.endsWith('stopped')),
    );
    const messages = (await loggingAbout('lxd1')).map((e) => e.metadata.message);
    // herald stopping is a gap too: recorded before it stopped, and the connect after it started.
    expect(messages.slice(-2)).toEqual(['LXD source "lxd1" stopped', 'LXD source "lxd1" connected']);

    expect((await herald(['source', 'remove', 'lxd1'])).code).toBe(0);
    expect((await herald(['source', 'list', '-f', 'json'])).stdout).toBe('[]\n');
    expect(await t.herald.store.listState('source.')).toEqual([]);
    const missing = await herald(['source', 'remove', 'lxd1']);
    expect(missing.stderr).toBe('Error: Source "lxd1" not found\n');
  });
});
