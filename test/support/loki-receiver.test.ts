/** @module The test Loki receiver enforces Loki's rules and fails on demand. */
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LokiReceiver } from './loki-receiver.js';

let rx: LokiReceiver;
beforeEach(async () => {
  rx = await LokiReceiver.start({ maxLineBytes: 64 });
});
afterEach(async () => {
  await rx.close();
});

type Values = Array<[string, string]>;

async function push(
  streams: Array<{ stream: Record<string, string>; values: Values }>,
  opts: { gzip?: boolean; contentType?: string } = {},
): Promise<{ status: number; text: string }> {
  const json = JSON.stringify({ streams });
  const headers: Record<string, string> = { 'content-type': opts.contentType ?? 'application/json' };
  if (opts.gzip) headers['content-encoding'] = 'gzip';
  const res = await fetch(`${rx.url}/loki/api/v1/push`, {
    method: 'POST',
    headers,
    body: opts.gzip ? gzipSync(json) : json,
  });
  return { status: res.status, text: await res.text() };
}

const S = { app: 'lxd', type: 'logging' };

describe('Loki receiver', () => {
  it('answers /ready and accepts JSON and gzip pushes with 204', async () => {
    expect((await fetch(`${rx.url}/ready`)).status).toBe(200);
    expect((await push([{ stream: S, values: [['1', 'a']] }])).status).toBe(204);
    expect((await push([{ stream: S, values: [['2', 'b']] }], { gzip: true })).status).toBe(204);
    expect(rx.entries.map((e) => e.line)).toEqual(['a', 'b']);
    expect(rx.entries[0]?.stream).toBe('{app="lxd", type="logging"}');
  });

  it('refuses a body that is not JSON, and a non-JSON content type', async () => {
    const res = await fetch(`${rx.url}/loki/api/v1/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"streams":[{"stream":',
    });
    expect(res.status).toBe(400);
    expect((await push([{ stream: S, values: [['1', 'a']] }], { contentType: 'application/x-protobuf' })).status).toBe(
      415,
    );
  });

  it('rejects invalid label names and more than 15 labels', async () => {
    const bad = await push([{ stream: { 'context-socket': 'x' }, values: [['1', 'a']] }]);
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('invalid label name "context-socket"');
    const many: Record<string, string> = {};
    for (let i = 0; i < 16; i++) many[`l${i}`] = 'v';
    expect((await push([{ stream: many, values: [['1', 'a']] }])).status).toBe(400);
    delete many.l15;
    expect((await push([{ stream: many, values: [['1', 'a']] }])).status).toBe(204);
    expect(rx.stats.accepted).toBe(1);
  });

  it('rejects entries out of order within a stream but accepts equal timestamps with other lines', async () => {
    expect((await push([{ stream: S, values: [['10', 'a']] }])).status).toBe(204);
    expect((await push([{ stream: S, values: [['10', 'b']] }])).status).toBe(204);
    const late = await push([{ stream: S, values: [['9', 'c']] }]);
    expect(late.status).toBe(400);
    expect(late.text).toContain("'entry out of order'");
    // Another stream has its own order.
    expect((await push([{ stream: { ...S, type: 'ovn' }, values: [['1', 'x']] }])).status).toBe(204);
    expect(rx.entries.map((e) => e.line)).toEqual(['a', 'b', 'x']);
  });

  it('keeps the valid entries of a push that has invalid ones (like Loki)', async () => {
    const res = await push([
      {
        stream: S,
        values: [
          ['1', 'ok'],
          ['2', 'x'.repeat(65)],
          ['3', 'fine'],
        ],
      },
    ]);
    expect(res.status).toBe(400);
    expect(res.text).toContain('line too long');
    expect(rx.entries.map((e) => e.line)).toEqual(['ok', 'fine']);
  });

  it('drops identical entries (stream, timestamp, line) silently', async () => {
    const values: Values = [
      ['5', 'a'],
      ['6', 'b'],
    ];
    expect((await push([{ stream: S, values }])).status).toBe(204);
    expect((await push([{ stream: S, values }])).status).toBe(204);
    expect(rx.stats.duplicates).toBe(2);
    expect(rx.entries).toHaveLength(2);
    // Same timestamp, different line: not a duplicate, but older than the last entry: out of order.
    expect((await push([{ stream: S, values: [['5', 'z']] }])).status).toBe(400);
  });

  it('rejects lines a rule names', async () => {
    rx.rejectLines((line) => (line.includes('poison') ? 'poisoned line' : undefined));
    const res = await push([
      {
        stream: S,
        values: [
          ['1', 'a'],
          ['2', 'poison'],
        ],
      },
    ]);
    expect(res.status).toBe(400);
    expect(res.text).toContain('poisoned line');
    expect(rx.entries.map((e) => e.line)).toEqual(['a']);
  });

  it('fails with 500 and 429 for a period, then recovers', async () => {
    rx.fail('500', 150);
    expect((await push([{ stream: S, values: [['1', 'a']] }])).status).toBe(500);
    rx.fail('429');
    expect((await push([{ stream: S, values: [['1', 'a']] }])).status).toBe(429);
    await rx.recover();
    expect((await push([{ stream: S, values: [['1', 'a']] }])).status).toBe(204);
  });

  it('refuses connections while down and listens on the same port again', async () => {
    const url = rx.url;
    rx.fail('refuse');
    await expect(fetch(`${url}/ready`)).rejects.toThrow();
    await rx.recover();
    expect(rx.url).toBe(url);
    expect((await fetch(`${url}/ready`)).status).toBe(200);
  });

  it('hangs requests until it recovers, then drops them', async () => {
    rx.fail('hang', 200);
    const started = Date.now();
    await expect(push([{ stream: S, values: [['1', 'a']] }])).rejects.toThrow();
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(rx.entries).toHaveLength(0);
    expect((await push([{ stream: S, values: [['1', 'a']] }])).status).toBe(204);
  });

  it('answers any status it is told to, and can ingest a push yet lose the answer', async () => {
    rx.fail('401');
    expect((await push([{ stream: S, values: [['1', 'a']] }])).status).toBe(401);
    rx.fail('lose-answer');
    await expect(push([{ stream: S, values: [['1', 'a']] }])).rejects.toThrow();
    expect(rx.entries.map((e) => e.line)).toEqual(['a']);
    await rx.recover();
    expect((await push([{ stream: S, values: [['1', 'a']] }])).status).toBe(204);
    expect(rx.stats.duplicates).toBe(1);
  });

  it('keeps per-stream digests in lean mode', async () => {
    const lean = await LokiReceiver.start({ lean: true });
    try {
      const body = JSON.stringify({ streams: [{ stream: S, values: [['1', 'a']] }] });
      const send = () =>
        fetch(`${lean.url}/loki/api/v1/push`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
      expect((await send()).status).toBe(204);
      expect((await send()).status).toBe(204);
      expect(lean.entries).toHaveLength(0);
      expect(lean.stats.duplicates).toBe(1);
      expect(lean.digests().get('{app="lxd", type="logging"}')?.count).toBe(1);
    } finally {
      await lean.close();
    }
  });
});
