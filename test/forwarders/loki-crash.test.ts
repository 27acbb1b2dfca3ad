/**
 * @module A real crash: `herald serve` in a child process is killed with SIGKILL while Loki is down and a push may be
 * in flight; the restarted server delivers every event exactly once, in order.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { type Client, unixClient } from '../../src/cli/client.js';
import type { HeraldEvent } from '../../src/core/event.js';
import { formatEvent, formatOptions, streamKey } from '../../src/forwarders/loki/format.js';
import type { ForwarderStatus } from '../../src/forwarders/loki/forwarder.js';
import { tempDir } from '../support/herald.js';
import { LokiReceiver } from '../support/loki-receiver.js';

const ENTRY = fileURLToPath(new URL('../support/cli.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const children: ChildProcess[] = [];
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  for (const f of cleanups.splice(0)) await f();
});

async function serve(dir: string): Promise<{ child: ChildProcess; client: Client }> {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, '--data', dir, 'serve'], {
    cwd: ROOT,
    stdio: 'ignore',
  });
  children.push(child);
  const client = unixClient(dir);
  const end = Date.now() + 20_000;
  for (;;) {
    try {
      await client.call('GET', '/1.0');
      return { child, client };
    } catch (err) {
      if (Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function until(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

function logging(from: number, n: number): unknown[] {
  return Array.from({ length: n }, (_, i) => ({
    type: 'logging',
    metadata: { message: `event ${from + i}`, level: 'info', context: {} },
  }));
}

describe('Loki forwarding across a crash', () => {
  it('delivers everything exactly once, in order, after SIGKILL during an outage', async () => {
    const rx = await LokiReceiver.start();
    const dir = tempDir();
    cleanups.push(
      () => rx.close(),
      () => rmSync(dir, { recursive: true, force: true }),
    );
    let { child, client } = await serve(dir);
    await client.call('PATCH', '/1.0', {
      config: {
        'loki.api.url': rx.url,
        'loki.types': 'logging',
        'loki.batch.max_wait': '20ms',
        'loki.retry.min_backoff': '10ms',
        'loki.retry.max_backoff': '100ms',
        'loki.api.timeout': '300ms',
      },
    });
    const start = (await client.call<ForwarderStatus>('GET', '/1.0/forwarders/default')).cursor;
    await client.call('POST', '/1.0/events', logging(0, 100));
    await until(async () => rx.stats.accepted >= 100);

    // Loki takes the next pushes but the answers never arrive; then herald dies without any shutdown.
    rx.fail('lose-answer');
    await client.call('POST', '/1.0/events', logging(100, 100));
    await until(async () => rx.stats.accepted >= 200);
    rx.fail('refuse');
    await client.call('POST', '/1.0/events', logging(200, 100));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));

    ({ child, client } = await serve(dir));
    await client.call('POST', '/1.0/events', logging(300, 100));
    const down = await client.call<ForwarderStatus>('GET', '/1.0/forwarders/default');
    expect(down.lag_events).toBeGreaterThan(0);
    await rx.recover();
    await until(async () => {
      const s = await client.call<ForwarderStatus>('GET', '/1.0/forwarders/default');
      return s.cursor === s.head;
    });

    // Exactly the stored logging events after the target's start, once each, in id order, with their lines.
    const page = await client.call<{ events: HeraldEvent[] }>('GET', `/1.0/events/history?after=${start}&limit=1000`);
    const o = formatOptions({
      types: ['logging'],
      loglevel: 'info',
      labels: [],
      hostname: hostname(),
      location: 'none',
    });
    const want = [...page.events]
      .reverse()
      .map((e) => formatEvent(e, o))
      .filter((e) => e !== undefined);
    // herald's own log records are logging events too, so the test's 400 are among others.
    const ours = want.map((e) => e.line).filter((l) => / event \d+$/.test(l));
    expect(ours).toEqual(Array.from({ length: 400 }, (_, i) => `level="info" event ${i}`));
    expect(rx.entries.map((e) => e.line)).toEqual(want.map((e) => e.line));
    expect(new Set(rx.entries.map((e) => streamKey(e.labels)))).toEqual(new Set([streamKey(want[0]?.labels ?? {})]));
    expect(rx.stats.duplicates).toBeGreaterThan(0);
    expect(rx.stats.rejectedEntries).toBe(0);
  });
});
