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

async function allIds(client: ReturnType<typeof unixClient>): Promise<Set<number>> {
  const ids = new Set<number>();
  let uri: string | null = '/1.0/events/history?limit=1000';
  while (uri) {
    const page: { events: Array<{ id: number }>; next: string | null } = await client.call('GET', uri);
    for (const e of page.events) ids.add(e.id);
    uri = page.next;
  }
  return ids;
}

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
    const stored = await allIds(client);
    for (const id of acked) expect(stored.has(id)).toBe(true);
    const max = Math.max(...stored);
    // The restarted server publishes its own startup log events whenever they commit, so the new event's id is not
    // known in advance: it must be above everything kept, and the log must have no hole anywhere.
    const next = await client.call<{ ids: number[] }>('POST', '/1.0/events', SAMPLES.maas);
    const id = next.ids[0] as number;
    expect(id).toBeGreaterThan(max);
    const after = [...(await allIds(client))].sort((a, b) => a - b);
    expect(after[0]).toBe(1);
    expect(after).toEqual(after.map((_, i) => i + 1));
    expect(after).toContain(id);
    await kill9(child);
  });
});
