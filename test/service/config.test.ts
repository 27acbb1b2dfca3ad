/** @module Server configuration: the service, LXD's PATCH/PUT/GET /1.0 semantics, Loki key validation, and the CLI. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { HeraldEvent } from '../../src/core/event.js';
import { lokiTargets, parseLokiKey } from '../../src/forwarders/loki/config.js';
import { ConfigError, ConfigService } from '../../src/service/config.js';
import { startTestHerald, type TestHerald } from '../support/herald.js';
import { LokiReceiver } from '../support/loki-receiver.js';
import { runCli } from '../support/run-cli.js';

let t: TestHerald;
beforeEach(async () => {
  t = await startTestHerald();
});
afterEach(async () => {
  await t.cleanup();
});

/**
 * Restart on the same data directory. The CLI client pools keep-alive connections per socket path, so it waits for the
 * old server's connections to be seen closed, lest the first request go out on one of them (EPIPE).
 */
async function restart(): Promise<void> {
  t = await t.restart();
  await new Promise((r) => setTimeout(r, 50));
}

/** A self-signed test CA (public certificate only). */
const CA = `-----BEGIN CERTIFICATE-----
MIIBhzCCAS2gAwIBAgIUfcXizXRazy+UAMUpD+jtN7z1ftMwCgYIKoZIzj0EAwIw
GTEXMBUGA1UEAwwOaGVyYWxkLXRlc3QtY2EwHhcNMjYxMTIxMjE0MDIzWhcNMzYx
MTE4MjE0MDIzWjAZMRcwFQYDVQQDDA5oZXJhbGQtdGVzdC1jYTBZMBMGByqGSM49
AgEGCCqGSM49AwEHA0IABM6WasqfFqmpjicSdJ3aAhmPwaQ+0/cLtZJzD4Yfu0tx
D/+Fp/J8I3zRzeoMU0YQN1/6wUhSl1/F6OqpuVsdaEWjUzBRMB0GA1UdDgQWBBS1
j1KD4786c2R+KgMKRe978Zp6GjAfBgNVHSMEGDAWgBS1j1KD4786c2R+KgMKRe97
8Zp6GjAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIQDrPT93jkNt
033q3iQo8ynHpeT3kq7tND8EWVzcrPIiDAIgMe8zoDYci4K5T0yHahFfmXiZ8RU+
dCaSD791Ei6MNRA=
-----END CERTIFICATE-----`;

async function serverConfig(): Promise<Record<string, string>> {
  return (await t.client.call<{ config: Record<string, string> }>('GET', '/1.0')).config;
}

async function patch(config: Record<string, unknown>): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await t.client.raw('PATCH', '/1.0', JSON.stringify({ config }), { 'content-type': 'application/json' });
  return { status: res.status, body: JSON.parse(res.body) };
}

describe('ConfigService', () => {
  it('validates with zod, merges, unsets with "", replaces, and tells listeners what changed', async () => {
    const c = await ConfigService.open(t.herald.store);
    c.define([
      { key: 'a.x', schema: z.string().regex(/^\d+$/, 'must be digits'), description: 'x', defaultValue: '1' },
      { key: /^a\.named\.[a-z]+$/, schema: z.string(), description: 'named' },
    ]);
    const seen: string[][] = [];
    c.onChange((keys) => {
      seen.push([...keys]);
    });
    expect(c.effective('a.x')).toBe('1');
    expect(await c.patch({ 'a.x': '5', 'a.named.foo': 'bar' })).toEqual(['a.named.foo', 'a.x']);
    expect(c.all()).toEqual({ 'a.named.foo': 'bar', 'a.x': '5' });
    expect(await c.patch({ 'a.x': '5' })).toEqual([]);
    await c.patch({ 'a.x': '' });
    expect(c.get('a.x')).toBeUndefined();
    expect(c.effective('a.x')).toBe('1');
    await c.replace({ 'a.x': '7' });
    expect(c.all()).toEqual({ 'a.x': '7' });
    expect(seen).toEqual([['a.named.foo', 'a.x'], ['a.x'], ['a.named.foo', 'a.x']]);

    expect(() => c.validate('a.x', 'no')).toThrow(ConfigError);
    await expect(c.patch({ 'a.x': '8', 'a.y': '1' })).rejects.toMatchObject({ key: 'a.y', reason: 'unknown key' });
    // Nothing of a rejected write is applied.
    expect(c.get('a.x')).toBe('7');

    const again = await ConfigService.open(t.herald.store);
    expect(again.all()).toEqual({ 'a.x': '7' });
  });
});

describe('PATCH, PUT and GET /1.0', () => {
  it('merges with PATCH, unsets with "", replaces with PUT, and shows the values in GET /1.0', async () => {
    expect(await serverConfig()).toEqual({});
    expect((await patch({ 'loki.api.url': 'http://loki:3100', 'loki.types': 'lifecycle, security' })).status).toBe(200);
    expect((await patch({ 'loki.instance': 'lxd01' })).status).toBe(200);
    expect(await serverConfig()).toEqual({
      'loki.api.url': 'http://loki:3100',
      'loki.instance': 'lxd01',
      'loki.types': 'lifecycle,security',
    });
    await patch({ 'loki.instance': '' });
    expect(await serverConfig()).not.toHaveProperty('loki.instance');
    await t.client.call('PUT', '/1.0', { config: { 'loki.loglevel': 'warn' } });
    expect(await serverConfig()).toEqual({ 'loki.loglevel': 'warn' });
    // Every successful update is a config-updated lifecycle event (LXD).
    const page = await t.client.call<{ events: HeraldEvent[] }>('GET', '/1.0/events/history?type=lifecycle');
    const updates = page.events.filter((e) => e.type === 'lifecycle' && e.metadata.action === 'config-updated');
    expect(updates).toHaveLength(4);
    expect(updates[0]?.type === 'lifecycle' && updates[0].metadata).toMatchObject({
      source: '/1.0',
      requestor: { username: 'root', protocol: 'unix', address: '@' },
    });
  });

  it('answers 400 naming the key and the reason for an unknown key or an invalid value (§5.1)', async () => {
    const cases: Array<[string, unknown, RegExp]> = [
      ['loki.nope', 'x', /unknown key/],
      ['loki.api.url', 'loki:3100', /not a URL|scheme/],
      ['loki.api.url', 'ftp://loki', /scheme must be http or https/],
      ['loki.types', 'lifecycle,operation', /"operation" is not a valid type/],
      ['loki.types', 'lifecycle,', /empty item/],
      ['loki.loglevel', 'verbose', /not a valid log level/],
      ['loki.api.ca_cert', 'not a cert', /not a PEM certificate/],
      ['loki.tenant', 'a b', /not a valid Loki tenant id/],
      ['loki.batch.max_wait', 'soon', /not a duration/],
      ['loki.batch.max_bytes', '0', /must be an integer/],
      ['loki.api.url', { nested: true }, /value must be a string/],
    ];
    for (const [key, value, reason] of cases) {
      const r = await patch({ 'loki.instance': 'kept-out', [key]: value });
      expect(r.status, key).toBe(400);
      expect(String(r.body.error), key).toMatch(reason);
      expect((r.body.metadata as { key?: string }).key, key).toBe(key);
    }
    expect(await serverConfig()).toEqual({});
  });

  it('normalises values: a push path in the URL is dropped, lists are trimmed, numbers become strings', async () => {
    await patch({
      'loki.api.url': 'https://loki.example:3100/loki/api/v1/push/',
      'loki.labels': ' requester-username , context-type',
      'loki.batch.max_bytes': 20480,
    });
    expect(await serverConfig()).toEqual({
      'loki.api.url': 'https://loki.example:3100',
      'loki.batch.max_bytes': '20480',
      'loki.labels': 'requester-username,context-type',
    });
  });

  it('applies defaults (§5.1) and knows named targets', () => {
    const c = t.herald.config;
    expect(c.effective('loki.loglevel')).toBe('info');
    expect(c.effective('loki.types')).toBe('lifecycle,logging');
    expect(parseLokiKey('loki.api.url')).toEqual({ target: 'default', suffix: 'api.url' });
    expect(parseLokiKey('loki.audit.api.url')).toEqual({ target: 'audit', suffix: 'api.url' });
    expect(parseLokiKey('loki.audit.types')).toEqual({ target: 'audit', suffix: 'types' });
    expect(parseLokiKey('loki.api.types')).toBeUndefined();
    expect(c.definition('loki.default.api.url')).toBeUndefined();
    expect(lokiTargets(c).size).toBe(0);
  });

  it('accepts a PEM CA certificate only when it parses', async () => {
    expect((await patch({ 'loki.api.ca_cert': CA })).status).toBe(200);
    const truncated = CA.split('\n').slice(0, 4).join('\n');
    expect((await patch({ 'loki.api.ca_cert': truncated })).status).toBe(400);
  });

  it('persists across restarts, and the forwarder comes back with it', async () => {
    const rx = await LokiReceiver.start();
    try {
      await patch({ 'loki.api.url': rx.url, 'loki.instance': 'lxd01' });
      await restart();
      expect(await serverConfig()).toEqual({ 'loki.api.url': rx.url, 'loki.instance': 'lxd01' });
      expect(t.herald.loki.names()).toEqual(['default']);
    } finally {
      await rx.close();
    }
  });

  it('emits sys_monitor_disabled when forwarding is unset while a target exists', async () => {
    const rx = await LokiReceiver.start();
    try {
      await patch({ 'loki.api.url': rx.url, 'loki.types': 'security', 'loki.batch.max_wait': '10ms' });
      await patch({ 'loki.api.url': '' });
      expect(t.herald.loki.names()).toEqual([]);
      const page = await t.client.call<{ events: HeraldEvent[] }>('GET', '/1.0/events/history?type=security');
      expect(page.events[0]).toMatchObject({
        type: 'security',
        metadata: { name: 'sys_monitor_disabled', level: 'warning', description: 'Loki monitoring disabled' },
      });
      // The target delivers it before it stops.
      await rx.waitFor(() => rx.entries.some((e) => e.line.includes('"event":"sys_monitor_disabled"')), 5000);
      // Unsetting again, with no target, emits nothing more.
      await patch({ 'loki.types': '' });
      const again = await t.client.call<{ events: HeraldEvent[] }>('GET', '/1.0/events/history?type=security');
      expect(again.events).toHaveLength(1);
    } finally {
      await rx.close();
    }
  });
});

describe('herald config', () => {
  it('sets, gets, shows and unsets keys', async () => {
    const set = await runCli(['--data', t.dir, 'config', 'set', 'loki.api.url', 'http://loki:3100']);
    expect(set.code).toBe(0);
    expect((await runCli(['--data', t.dir, 'config', 'set', 'loki.instance=a', 'loki.loglevel=debug'])).code).toBe(0);
    const get = await runCli(['--data', t.dir, 'config', 'get', 'loki.api.url']);
    expect(get.stdout).toBe('http://loki:3100\n');
    const show = await runCli(['--data', t.dir, 'config', 'show']);
    expect(show.stdout).toBe('config:\n  loki.api.url: http://loki:3100\n  loki.instance: a\n  loki.loglevel: debug\n');
    expect((await runCli(['--data', t.dir, 'config', 'unset', 'loki.instance'])).code).toBe(0);
    expect((await runCli(['--data', t.dir, 'config', 'get', 'loki.instance'])).stdout).toBe('\n');
    const bad = await runCli(['--data', t.dir, 'config', 'set', 'loki.loglevel', 'loud']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^Error: Cannot set "loki.loglevel" to "loud": not a valid log level/);
  });
});
