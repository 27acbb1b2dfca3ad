/** @module Loki labels and lines per event type, compared with the strings of spec lxd-events.md §5.4-5.5. */
import { describe, expect, it } from 'vitest';
import type { HeraldEvent } from '../../src/core/event.js';
import { goFloat, goJson, goSprint } from '../../src/core/go-format.js';
import {
  formatEvent,
  formatOptions,
  type LokiFormatOptions,
  labelName,
  naturalNs,
  rfc3339Nano,
  splitHostPort,
  streamKey,
} from '../../src/forwarders/loki/format.js';
import { encodePush, type PendingEntry, TimestampAssigner } from '../../src/forwarders/loki/forwarder.js';

const HOST = 'lxd-host';

function opts(over: Partial<Parameters<typeof formatOptions>[0]> = {}): LokiFormatOptions {
  return formatOptions({
    types: ['lifecycle', 'logging', 'ovn', 'security', 'maas'],
    loglevel: 'info',
    labels: [],
    hostname: HOST,
    location: 'none',
    ...over,
  });
}

const lifecycle = (metadata: Record<string, unknown>, extra: Partial<HeraldEvent> = {}): HeraldEvent =>
  ({
    id: 7,
    type: 'lifecycle',
    timestamp: '2026-03-01T10:00:00.123456789Z',
    location: 'none',
    project: 'default',
    metadata,
    ...extra,
  }) as HeraldEvent;

const logging = (metadata: Record<string, unknown>, type: 'logging' | 'ovn' = 'logging'): HeraldEvent =>
  ({ id: 8, type, timestamp: '2026-03-01T10:00:00Z', location: 'none', project: '', metadata }) as HeraldEvent;

const STARTED = {
  action: 'instance-started',
  source: '/1.0/instances/c1',
  requestor: { username: 'root', protocol: 'unix', address: '@' },
};

describe('lifecycle (spec §5.4, §5.5)', () => {
  it('formats the spec example line exactly', () => {
    const e = formatEvent(lifecycle(STARTED), opts());
    expect(e?.line).toBe(
      'action="instance-started" source="/1.0/instances/c1" requester-address="@" requester-protocol="unix" requester-username="root" instance-started',
    );
  });

  it('labels app, type, location (standalone: OS hostname) and instance (default: OS hostname)', () => {
    expect(formatEvent(lifecycle(STARTED), opts())?.labels).toEqual({
      app: 'lxd',
      instance: HOST,
      location: HOST,
      type: 'lifecycle',
    });
  });

  it('adds name and project labels for instance actions, and keeps label keys sorted', () => {
    const e = formatEvent(lifecycle({ ...STARTED, name: 'c1', project: 'web' }), opts({ instance: 'lxd01' }));
    expect(e?.labels).toEqual({
      app: 'lxd',
      instance: 'lxd01',
      location: HOST,
      name: 'c1',
      project: 'web',
      type: 'lifecycle',
    });
    expect(Object.keys(e?.labels ?? {})).toEqual(['app', 'instance', 'location', 'name', 'project', 'type']);
  });

  it('keeps a cluster member location and uses the member name as the default instance', () => {
    const o = opts({ location: 'member2' });
    const e = formatEvent(lifecycle(STARTED, { location: 'member1' }), o);
    expect(e?.labels.location).toBe('member1');
    expect(e?.labels.instance).toBe('member2');
  });

  it('flattens nested context with Go formatting, then the requestor, then the action', () => {
    const e = formatEvent(
      lifecycle({
        action: 'instance-created',
        source: '/1.0/instances/c1',
        context: {
          type: 'container',
          'storage-pool': 'default',
          limits: { cpu: 2, memory: '1GiB' },
          size: 123456789,
          command: ['bash', '-c', 'ls'],
          ok: true,
          none: null,
        },
      }),
      opts(),
    );
    expect(e?.line).toBe(
      'action="instance-created" source="/1.0/instances/c1" context-type="container" context-storage-pool="default" ' +
        'context-limits-cpu="2" context-limits-memory="1GiB" context-size="1.23456789e+08" context-command="[bash -c ls]" ' +
        'context-ok="true" context-none="<nil>" instance-created',
    );
  });

  it('promotes loki.labels keys with - turned into _, removing them from the line', () => {
    const o = opts({ labels: ['requester-username', 'action', 'context-type', 'source-missing'] });
    const e = formatEvent(lifecycle({ ...STARTED, action: 'instance-created', context: { type: 'container' } }), o);
    expect(e?.labels).toEqual({
      action: 'instance-created',
      app: 'lxd',
      context_type: 'container',
      instance: HOST,
      location: HOST,
      requester_username: 'root',
      type: 'lifecycle',
    });
    expect(e?.line).toBe('source="/1.0/instances/c1" requester-address="@" requester-protocol="unix" instance-created');
  });

  it('never overrides an existing label and stays within 15 labels', () => {
    const context: Record<string, string> = {};
    for (let i = 0; i < 20; i++) context[`k${i}`] = `v${i}`;
    const o = opts({ labels: ['name', ...Object.keys(context).map((k) => `context-${k}`)] });
    const e = formatEvent(lifecycle({ ...STARTED, name: 'c1', context }), o);
    expect(Object.keys(e?.labels ?? {})).toHaveLength(15);
    expect(e?.labels.name).toBe('c1');
    expect(e?.line).toContain('context-k19="v19"');
  });
});

describe('logging and ovn (spec §5.5)', () => {
  it('formats the spec example line exactly: sorted pairs, then the message', () => {
    const e = formatEvent(
      logging({ message: 'Binding socket', level: 'info', context: { socket: '[::]:443' } }),
      opts(),
    );
    expect(e?.line).toBe('context-socket="[::]:443" level="info" Binding socket');
    expect(e?.labels).toEqual({ app: 'lxd', instance: HOST, location: HOST, type: 'logging' });
  });

  it('formats ovn events the same way with type ovn', () => {
    const e = formatEvent(
      logging({ message: 'connected', level: 'info', context: { module: 'reconnect', sequence: '00001' } }, 'ovn'),
      opts(),
    );
    expect(e?.line).toBe('context-module="reconnect" context-sequence="00001" level="info" connected');
    expect(e?.labels.type).toBe('ovn');
  });

  it('applies loki.loglevel: drops more verbose levels, keeps the rest', () => {
    const at = (level: string, loglevel: string) =>
      formatEvent(logging({ message: 'm', level, context: {} }), opts({ loglevel })) !== undefined;
    expect(at('debug', 'info')).toBe(false);
    expect(at('info', 'info')).toBe(true);
    expect(at('warning', 'info')).toBe(true);
    expect(at('info', 'warning')).toBe(false);
    expect(at('warning', 'warn')).toBe(true);
    expect(at('error', 'error')).toBe(true);
    expect(at('debug', 'debug')).toBe(true);
    expect(at('trace', 'debug')).toBe(false);
  });

  it('promotes level and context keys (herald makes context-<k> a valid label name) and removes them', () => {
    const e = formatEvent(
      logging({ message: 'Binding socket', level: 'info', context: { socket: '[::]:443', x: 'y' } }),
      opts({ labels: ['level', 'context-socket'] }),
    );
    expect(e?.labels).toEqual({
      app: 'lxd',
      context_socket: '[::]:443',
      instance: HOST,
      level: 'info',
      location: HOST,
      type: 'logging',
    });
    expect(e?.line).toBe('context-x="y" Binding socket');
  });

  it('does not escape values in the line (LXD), yet the push body stays valid JSON', () => {
    const e = formatEvent(
      logging({ message: 'bad\u0000line\n"quoted"\ud800', level: 'error', context: { k: 'a"b' } }),
      opts(),
    );
    expect(e?.line).toBe('context-k="a"b" level="error" bad\u0000line\n"quoted"\ufffd');
    const entry: PendingEntry = {
      id: 1,
      timeMs: 0,
      key: streamKey(e?.labels ?? {}),
      ts: 1n,
      lineJson: JSON.stringify(e?.line),
      bytes: 1,
    };
    const body = JSON.parse(encodePush([entry]));
    expect(body.streams[0].values[0][1]).toBe(e?.line);
  });
});

describe('security: the OWASP line (spec §5.5)', () => {
  const sec = (metadata: Record<string, unknown>, location = 'none'): HeraldEvent =>
    ({
      id: 9,
      type: 'security',
      timestamp: '2026-03-01T10:00:00.120000Z',
      location,
      project: '',
      metadata,
    }) as HeraldEvent;

  const FAIL = {
    name: 'authn_login_fail:tls',
    level: 'warning',
    description: 'TLS authentication failure',
    request_path: '/1.0/instances',
    request_method: 'GET',
    requestor: { username: 'abc123', protocol: 'tls', address: '203.0.113.9', user_agent: 'curl/8' },
  };

  it('writes every listed key, all strings, in the listed order', () => {
    const e = formatEvent(sec(FAIL, 'member1'), opts({ httpsAddress: '10.0.0.5:8443' }));
    expect(e?.line).toBe(
      '{"appid":"lxd","type":"security","datetime":"2026-03-01T10:00:00.12Z","event":"authn_login_fail:tls",' +
        '"level":"warning","description":"TLS authentication failure","hostname":"lxd-host","host_ip":"10.0.0.5",' +
        '"port":"8443","protocol":"https","request_uri":"/1.0/instances","request_method":"GET",' +
        '"event_source":"member1","cluster_member_name":"member1","cluster_identifier":"","useragent":"curl/8",' +
        '"source_ip":"203.0.113.9","user_id":"tls/abc123"}',
    );
    expect(e?.labels).toEqual({ app: 'lxd', instance: HOST, location: 'member1', type: 'security' });
    const parsed = JSON.parse(e?.line ?? '') as Record<string, unknown>;
    expect(Object.values(parsed).every((v) => typeof v === 'string')).toBe(true);
    expect(parsed).not.toHaveProperty('project');
  });

  it('leaves host_ip and port empty without an https address, and omits requestor keys for daemon events', () => {
    const e = formatEvent(
      sec({ name: 'sys_monitor_disabled', level: 'warning', description: 'Loki monitoring disabled' }),
      opts(),
    );
    expect(JSON.parse(e?.line ?? '')).toEqual({
      appid: 'lxd',
      type: 'security',
      datetime: '2026-03-01T10:00:00.12Z',
      event: 'sys_monitor_disabled',
      level: 'warning',
      description: 'Loki monitoring disabled',
      hostname: HOST,
      host_ip: '',
      port: '',
      protocol: 'https',
      request_uri: '',
      request_method: '',
      event_source: 'none',
      cluster_member_name: 'none',
      cluster_identifier: '',
    });
  });

  it('omits user_id unless both protocol and username are set', () => {
    const e = formatEvent(sec({ ...FAIL, requestor: { ...FAIL.requestor, username: '' } }), opts());
    const parsed = JSON.parse(e?.line ?? '') as Record<string, string>;
    expect(parsed.useragent).toBe('curl/8');
    expect(parsed.source_ip).toBe('203.0.113.9');
    expect(parsed).not.toHaveProperty('user_id');
  });

  it('promotes OWASP keys to labels and keeps them in the line; never overrides type', () => {
    const e = formatEvent(sec(FAIL), opts({ labels: ['event', 'level', 'type', 'source_ip'] }));
    expect(e?.labels).toEqual({
      app: 'lxd',
      event: 'authn_login_fail:tls',
      instance: HOST,
      level: 'warning',
      location: HOST,
      source_ip: '203.0.113.9',
      type: 'security',
    });
    expect(JSON.parse(e?.line ?? '').event).toBe('authn_login_fail:tls');
  });

  it('escapes as Go json.Marshal does (HTML-safe)', () => {
    const e = formatEvent(sec({ ...FAIL, description: '<b>&</b>' }), opts());
    expect(e?.line).toContain('"description":"\\u003cb\\u003e\\u0026\\u003c/b\\u003e"');
    expect(JSON.parse(e?.line ?? '').description).toBe('<b>&</b>');
  });

  it('ignores loki.loglevel', () => {
    expect(formatEvent(sec({ ...FAIL, level: 'info' }), opts({ loglevel: 'error' }))).toBeDefined();
  });
});

describe('maas (herald format) and types', () => {
  const maas: HeraldEvent = {
    id: 10,
    type: 'maas',
    timestamp: '2026-03-01T10:00:00Z',
    location: 'none',
    project: '',
    metadata: {
      event_type: 'NODE',
      level: 'INFO',
      node: 'e86c7h',
      hostname: 'valued-moth',
      username: 'admin',
      description: "Started deploying 'valued-moth'.",
      action: '',
      ip_address: null,
      user_agent: '',
      endpoint: 0,
      zone: 'default',
      pool: 'default',
    },
  } as HeraldEvent;

  it('writes event_type, level, the set facts, then the description, labelled app=maas', () => {
    const e = formatEvent(maas, opts());
    expect(e?.line).toBe(
      'event_type="NODE" level="INFO" node="e86c7h" hostname="valued-moth" username="admin" zone="default" pool="default" Started deploying \'valued-moth\'.',
    );
    expect(e?.labels).toEqual({ app: 'maas', instance: HOST, location: HOST, type: 'maas' });
  });

  it('promotes maas keys', () => {
    const e = formatEvent(maas, opts({ labels: ['node', 'event_type'] }));
    expect(e?.labels.node).toBe('e86c7h');
    expect(e?.labels.event_type).toBe('NODE');
    expect(e?.line).toBe(
      'level="INFO" hostname="valued-moth" username="admin" zone="default" pool="default" Started deploying \'valued-moth\'.',
    );
  });

  it('forwards only loki.types, and never operations', () => {
    const o = opts({ types: ['lifecycle', 'logging'] });
    expect(formatEvent(maas, o)).toBeUndefined();
    expect(formatEvent(lifecycle(STARTED), o)).toBeDefined();
    const op = { ...lifecycle(STARTED), type: 'operation' } as unknown as HeraldEvent;
    expect(formatEvent(op, opts({ types: ['operation', 'lifecycle'] }))).toBeUndefined();
  });
});

describe('helpers', () => {
  it('formats numbers as Go fmt.Sprint does', () => {
    expect(goFloat(2)).toBe('2');
    expect(goFloat(1.5)).toBe('1.5');
    expect(goFloat(100000)).toBe('100000');
    expect(goFloat(1000000)).toBe('1e+06');
    expect(goFloat(1234567)).toBe('1.234567e+06');
    expect(goFloat(0.0001)).toBe('0.0001');
    expect(goFloat(0.00001)).toBe('1e-05');
    expect(goFloat(-2.5e-7)).toBe('-2.5e-07');
    expect(goSprint({ b: 1, a: [true, 'x'] })).toBe('map[a:[true x] b:1]');
    expect(goJson({ b: '<&>\u2028', a: 1 }, { sortKeys: false })).toBe('{"b":"\\u003c\\u0026\\u003e\\u2028","a":1}');
  });

  it('makes label names valid', () => {
    expect(labelName('context-socket')).toBe('context_socket');
    expect(labelName('context-a.b/c')).toBe('context_a_b_c');
    expect(labelName('9lives')).toBe('_9lives');
  });

  it('prints RFC3339Nano and splits host:port', () => {
    expect(rfc3339Nano('2026-03-01T10:00:00.000000Z')).toBe('2026-03-01T10:00:00Z');
    expect(rfc3339Nano('2026-03-01t10:00:00.1234567-05:00')).toBe('2026-03-01T10:00:00.1234567-05:00');
    expect(splitHostPort('[::1]:8443')).toEqual({ host: '::1', port: '8443' });
    expect(splitHostPort(':8443')).toEqual({ host: '', port: '8443' });
    expect(splitHostPort('10.0.0.1')).toEqual({ host: '10.0.0.1', port: '' });
  });

  it('derives timestamps from time (to the microsecond) and id, deterministically', () => {
    const ms = Date.parse('2026-03-01T10:00:00.123Z');
    expect(naturalNs('2026-03-01T10:00:00.123456789Z', ms, 1_000_042)).toBe(BigInt(ms) * 1_000_000n + 456_042n);
    expect(naturalNs('2026-03-01T10:00:00.123Z', ms, 5)).toBe(BigInt(ms) * 1_000_000n + 5n);
  });

  it('keeps timestamps strictly increasing per stream when time stands still or goes backwards', () => {
    const a = new TimestampAssigner();
    expect(a.assign('s', 1000n)).toBe(1000n);
    expect(a.assign('s', 1000n)).toBe(1001n);
    expect(a.assign('s', 500n)).toBe(1002n);
    expect(a.assign('s', 2000n)).toBe(2000n);
    expect(a.assign('t', 10n)).toBe(10n);
    const b = new TimestampAssigner([['s', '1001']]);
    expect(b.assign('s', 500n)).toBe(1002n);
  });
});
