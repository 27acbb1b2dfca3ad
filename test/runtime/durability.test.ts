/** @module Restart durability: a real `herald serve` killed with SIGKILL loses nothing it acknowledged; ids continue. */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { unixClient } from '../../src/cli/client.js';
import { SAMPLES, tempDir } from '../support/herald.js';

const ENTRY = fileURLToPath(new URL('../support/cli.ts', import.meta.url));
const dir = tempDir();
const children: ChildProcess[] = [];

async function serve(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, '--data', dir, 'serve'], { stdio: 'ignore' });
  children.push(child);
  const client = unixClient(dir);
  for (let i = 0; i < 200; i++) {
    if (existsSync(join(dir, 'unix.socket'))) {
      try {
        await client.call('GET', '/1.0');
        return child;
      } catch {
        // not listening yet
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('herald serve did not start');
}

function kill9(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('durability across SIGKILL', () => {
  it('keeps every acknowledged event and continues the id sequence', async () => {
    const client = unixClient(dir);
    let child = await serve();
    const acked: number[] = [];
    // Publish continuously; kill the server while requests are in flight.
    let stop = false;
    const pump = (async () => {
      while (!stop) {
        try {
          const r = await client.call<{ ids: number[] }>('POST', '/1.0/events', [SAMPLES.lifecycle, SAMPLES.logging]);
          acked.push(...r.ids);
        } catch {
          return;
        }
      }
    })();
    await new Promise((r) => setTimeout(r, 400));
    await kill9(child);
    stop = true;
    await pump;
    expect(acked.length).toBeGreaterThan(10);

    child = await serve();
    const stored = new Set<number>();
    let uri: string | null = '/1.0/events/history?limit=1000';
    while (uri) {
      const page: { events: Array<{ id: number }>; next: string | null } = await client.call('GET', uri);
      for (const e of page.events) stored.add(e.id);
      uri = page.next;
    }
    for (const id of acked) expect(stored.has(id)).toBe(true);
    const max = Math.max(...stored);
    const next = await client.call<{ ids: number[] }>('POST', '/1.0/events', SAMPLES.maas);
    expect(next.ids[0]).toBe(max + 1);
    await kill9(child);
  });
});
