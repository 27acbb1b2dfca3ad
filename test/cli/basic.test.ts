/** @module The real CLI against a real server: emit, history formats, clear errors and exit codes. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { SAMPLES, startTestHerald, type TestHerald, tempDir } from '../support/herald.js';
import { runCli } from '../support/run-cli.js';

let t: TestHerald;
beforeAll(async () => {
  t = await startTestHerald();
});
afterAll(async () => {
  await t.cleanup();
});

describe('herald emit', () => {
  it('publishes from an argument, a file, stdin and JSON lines, printing ids', async () => {
    const a = await runCli(['--data', t.dir, 'emit', JSON.stringify(SAMPLES.lifecycle)]);
    expect(a.code).toBe(0);
    expect(a.stdout).toBe('1\n');
    const file = join(t.dir, 'events.json');
    writeFileSync(file, JSON.stringify([SAMPLES.logging, SAMPLES.maas]));
    const b = await runCli(['--data', t.dir, 'emit', '-f', file]);
    expect(b.stdout).toBe('2\n3\n');
    const c = await runCli(['--data', t.dir, 'emit'], { input: JSON.stringify(SAMPLES.security) });
    expect(c.stdout).toBe('4\n');
    const d = await runCli(['--data', t.dir, 'emit', '-'], {
      input: `${JSON.stringify(SAMPLES.ovn)}\n${JSON.stringify(SAMPLES.operation)}\n`,
    });
    expect(d.stdout).toBe('5\n6\n');
  });

  it('prints the server validation error as one line and exits non-zero', async () => {
    const r = await runCli(['--data', t.dir, 'emit', '{"type":"lifecycle","metadata":{"action":"x","source":"/"}}']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('Error: event 0: metadata.action: unknown lifecycle action "x"\n');
  });

  it('says clearly when no server is running', async () => {
    const empty = tempDir();
    const r = await runCli(['--data', empty, 'history']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error: cannot reach herald at .*unix\.socket \(is `herald serve` running\?/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('uses HERALD_DIR when --data is absent', async () => {
    const r = await runCli(['history', '-n', '1', '-f', 'json'], { env: { HERALD_DIR: t.dir } });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)[0].id).toBe(6);
  });
});

describe('herald history', () => {
  it('prints json, jsonl, yaml and table', async () => {
    const json = await runCli(['--data', t.dir, 'history', '-f', 'json', '--type', 'maas']);
    expect(JSON.parse(json.stdout).map((e: { id: number }) => e.id)).toEqual([3]);
    const jsonl = await runCli(['--data', t.dir, 'history', '-f', 'jsonl', '--limit', '2']);
    expect(
      jsonl.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).id),
    ).toEqual([6, 5]);
    const yaml = await runCli(['--data', t.dir, 'history', '-f', 'yaml', '--level', 'audit']);
    expect((parseYaml(yaml.stdout) as Array<{ id: number }>).map((e) => e.id)).toEqual([4, 3, 1]);
    const table = await runCli(['--data', t.dir, 'history', '-f', 'table', '--action', 'instance-started']);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+TIME\s+TYPE\s+PROJECT\s+LOCATION\s+LEVEL\s+SUMMARY$/);
    expect(lines[1]).toMatch(
      /^1\s+\S+\s+lifecycle\s+default\s+none\s+audit\s+instance-started \/1\.0\/instances\/c1 by tls\/alice$/,
    );
  });

  it('rejects a bad flag value with the server message', async () => {
    const r = await runCli(['--data', t.dir, 'history', '--level', 'loud']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('Error: level: unknown level "loud"\n');
  });
});

describe('herald demo', () => {
  it('sends a realistic mix of every type for a duration', async () => {
    const before = await t.herald.store.headId();
    const r = await runCli(['--data', t.dir, 'demo', '--rate', '400', '--duration', '1500ms', '--seed', '7']);
    expect(r.code).toBe(0);
    const after = await t.herald.store.headId();
    expect(after - before).toBeGreaterThan(300);
    const types = new Set((await t.herald.store.readAfter(before, 5000)).map((e) => e.fields.type));
    expect(types).toEqual(new Set(['lifecycle', 'logging', 'operation', 'security', 'maas']));
  });

  it('rejects a bad rate', async () => {
    const r = await runCli(['--data', t.dir, 'demo', '--rate', 'fast']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('Error: --rate must be a positive number, not "fast"\n');
  });
});
