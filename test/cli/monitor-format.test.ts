/** @module lxc monitor's three formats, checked against output captured from the real lxc 5.0.2 (spec lxd-real-events). */
import { describe, expect, it } from 'vitest';
import {
  formatEvent,
  goTimeString,
  goTimestamp,
  parseLogrusLevel,
  toLogRecord,
  type WireEvent,
  yamlKeyLess,
  yamlV2NonString,
} from '../../src/cli/monitor-format.js';
import { goFloat, goJson, goQuote, goSprint } from '../../src/core/go-format.js';
import { SAMPLES } from '../support/herald.js';

// Frames as herald sends them (LXD key order, id last), carrying events the real LXD emitted.
const projectRenamed: WireEvent = {
  type: 'lifecycle',
  timestamp: '2026-11-21T20:50:11.984079791Z',
  metadata: {
    action: 'project-renamed',
    source: '/1.0/projects/x3',
    context: { old_name: 'x2' },
    requestor: { username: 'root', protocol: 'unix', address: '@' },
  },
  location: 'none',
  project: 'x3',
  id: 17,
};
const poolCreated: WireEvent = {
  type: 'lifecycle',
  timestamp: '2026-11-21T20:50:12.023446570Z',
  metadata: {
    action: 'storage-pool-created',
    source: '/1.0/storage-pools/s2',
    requestor: { username: 'root', protocol: 'unix', address: '@' },
  },
  location: 'none',
  project: 'default',
  id: 18,
};
const certificateCreated: WireEvent = {
  type: 'lifecycle',
  timestamp: '2026-11-21T20:44:35.871367045Z',
  metadata: {
    action: 'certificate-created',
    source: '/1.0/certificates/7ff5e58372c4e2de0554aa0ff454d6d5e809137bc16bd594376656c199e0e4b8',
    requestor: { username: '', protocol: '', address: '127.0.0.1:54250' },
  },
  location: 'none',
  project: 'default',
  id: 19,
};
const instanceCreated: WireEvent = {
  type: 'lifecycle',
  timestamp: '2026-11-21T20:50:12.155745557Z',
  metadata: {
    action: 'instance-created',
    source: '/1.0/instances/c1',
    context: { 'storage-pool': 's1', type: 'container' },
  },
  location: 'none',
  project: 'default',
  id: 20,
};
const operation: WireEvent = {
  type: 'operation',
  timestamp: '2026-11-21T20:42:43.574169619Z',
  metadata: {
    id: 'b083c2e3-8dd2-4546-8f49-0eac860b4df0',
    class: 'task',
    description: 'Cleaning up expired images',
    created_at: '2026-11-21T20:42:43.571580915Z',
    updated_at: '2026-11-21T20:42:43.571580915Z',
    status: 'Running',
    status_code: 103,
    resources: null,
    metadata: null,
    may_cancel: false,
    err: '',
    location: 'none',
  },
  location: 'none',
  id: 21,
};
const logging: WireEvent = {
  type: 'logging',
  timestamp: '2026-11-21T20:42:28.312788398Z',
  metadata: {
    message: 'Handling API request',
    level: 'debug',
    context: { ip: '@', method: 'GET', protocol: 'unix', url: '/1.0', username: 'root' },
  },
  location: 'none',
  id: 22,
};
const statfs: WireEvent = {
  type: 'logging',
  timestamp: '2026-11-21T20:50:12.5Z',
  metadata: {
    message: 'Failed to statfs',
    level: 'error',
    context: {
      err: 'no such file or directory',
      instance: 'c2',
      instanceType: 'container',
      path: '/var/lib/lxd/containers/c2/rootfs',
      project: 'default',
    },
  },
  location: 'none',
  id: 23,
};

describe('json (lxc monitor --format=json)', () => {
  it('prints the envelope with sorted keys, without id, one line plus a blank line', () => {
    expect(formatEvent(projectRenamed, { format: 'json' })).toBe(
      '{"location":"none","metadata":{"action":"project-renamed","context":{"old_name":"x2"},"requestor":{"address":"@","protocol":"unix","username":"root"},"source":"/1.0/projects/x3"},"project":"x3","timestamp":"2026-11-21T20:50:11.984079791Z","type":"lifecycle"}\n\n',
    );
    expect(formatEvent(operation, { format: 'json' })).toBe(
      '{"location":"none","metadata":{"class":"task","created_at":"2026-11-21T20:42:43.571580915Z","description":"Cleaning up expired images","err":"","id":"b083c2e3-8dd2-4546-8f49-0eac860b4df0","location":"none","may_cancel":false,"metadata":null,"resources":null,"status":"Running","status_code":103,"updated_at":"2026-11-21T20:42:43.571580915Z"},"timestamp":"2026-11-21T20:42:43.574169619Z","type":"operation"}\n\n',
    );
  });

  it('re-renders the timestamp as Go does and omits empty location and project', () => {
    const out = formatEvent(poolCreated, { format: 'json' });
    expect(out).toContain('"timestamp":"2026-11-21T20:50:12.02344657Z"');
    expect(goTimestamp('2026-11-21T20:50:12.100Z')).toBe('2026-11-21T20:50:12.1Z');
    expect(goTimestamp('2026-11-21T20:50:12.000Z')).toBe('2026-11-21T20:50:12Z');
    expect(goTimestamp('2026-11-21t20:50:12.5+00:00')).toBe('2026-11-21T20:50:12.5Z');
    expect(goTimestamp('2026-11-21T22:50:12.5+02:00')).toBe('2026-11-21T22:50:12.5+02:00');
    const bare = formatEvent({ type: 'logging', timestamp: '2026-01-01T00:00:00Z', metadata: {} }, { format: 'json' });
    expect(bare).toBe('{"metadata":{},"timestamp":"2026-01-01T00:00:00Z","type":"logging"}\n\n');
  });

  it("escapes strings as Go's encoding/json does", () => {
    expect(goJson({ b: '<a&b>', a: '\b\f\n\u2028' })).toBe(
      '{"a":"\\u0008\\u000c\\n\\u2028","b":"\\u003ca\\u0026b\\u003e"}',
    );
    expect(goJson('back\\b')).toBe('"back\\\\b"');
    expect(goJson({ n: 1e21, m: 1e-7, z: 10 })).toBe('{"m":1e-7,"n":1e+21,"z":10}');
  });
});

describe('yaml (lxc monitor, the default format)', () => {
  it('prints the sorted map as yaml.v2 does, followed by two blank lines', () => {
    expect(formatEvent(projectRenamed, { format: 'yaml' })).toBe(
      [
        'location: none',
        'metadata:',
        '  action: project-renamed',
        '  context:',
        '    old_name: x2',
        '  requestor:',
        "    address: '@'",
        '    protocol: unix',
        '    username: root',
        '  source: /1.0/projects/x3',
        'project: x3',
        'timestamp: "2026-11-21T20:50:11.984079791Z"',
        'type: lifecycle',
        '',
        '',
        '',
      ].join('\n'),
    );
    expect(formatEvent(operation, { format: 'yaml' })).toBe(
      [
        'location: none',
        'metadata:',
        '  class: task',
        '  created_at: "2026-11-21T20:42:43.571580915Z"',
        '  description: Cleaning up expired images',
        '  err: ""',
        '  id: b083c2e3-8dd2-4546-8f49-0eac860b4df0',
        '  location: none',
        '  may_cancel: false',
        '  metadata: null',
        '  resources: null',
        '  status: Running',
        '  status_code: 103',
        '  updated_at: "2026-11-21T20:42:43.571580915Z"',
        'timestamp: "2026-11-21T20:42:43.574169619Z"',
        'type: operation',
        '',
        '',
        '',
      ].join('\n'),
    );
  });

  it('quotes what YAML 1.1 would read as another type, leaves sequences unindented, numbers as Go prints them', () => {
    const e: WireEvent = {
      type: 'operation',
      timestamp: '2026-01-01T00:00:00Z',
      metadata: { resources: { instances: ['/1.0/instances/c1'] }, metadata: { n: '10', big: 1234567, yes: 'on' } },
    };
    expect(formatEvent(e, { format: 'yaml' })).toBe(
      [
        'metadata:',
        '  metadata:',
        '    big: 1.234567e+06',
        '    "n": "10"',
        '    "yes": "on"',
        '  resources:',
        '    instances:',
        '    - /1.0/instances/c1',
        'timestamp: "2026-01-01T00:00:00Z"',
        'type: operation',
        '',
        '',
        '',
      ].join('\n'),
    );
    for (const s of ['', 'y', 'No', 'OFF', '~', '12', '0x1f', '1.5e3', '.inf', '2026-01-01', '1:20']) {
      expect(yamlV2NonString(s), s).toBe(true);
    }
    for (const s of ['none', 'unix', '@', 'c1', '/1.0', 'yess', '1.2.3']) expect(yamlV2NonString(s), s).toBe(false);
  });

  it('sorts keys as yaml.v2 (digit runs as numbers, other non-letters before letters)', () => {
    expect(['b', 'a10', 'a2', 'a_b', 'aB', 'ab'].sort(yamlKeyLess)).toEqual(['a_b', 'a2', 'a10', 'aB', 'ab', 'b']);
  });
});

describe('pretty (logrus text)', () => {
  it('renders lines exactly as lxc monitor --pretty does when not on a terminal', () => {
    const pretty = (e: WireEvent) => formatEvent(e, { format: 'pretty' });
    expect(pretty(projectRenamed)).toBe(
      'time="2026-11-21T20:50:11Z" level=info msg="Action: project-renamed, Source: /1.0/projects/x3, Requestor: unix/root (@)" old_name=x2\n',
    );
    expect(pretty(instanceCreated)).toBe(
      'time="2026-11-21T20:50:12Z" level=info msg="Action: instance-created, Source: /1.0/instances/c1" storage-pool=s1 type=container\n',
    );
    expect(pretty(certificateCreated)).toBe(
      'time="2026-11-21T20:44:35Z" level=info msg="Action: certificate-created, Source: /1.0/certificates/7ff5e58372c4e2de0554aa0ff454d6d5e809137bc16bd594376656c199e0e4b8, Requestor: / (127.0.0.1:54250)"\n',
    );
    expect(pretty(operation)).toBe(
      'time="2026-11-21T20:42:43Z" level=info msg="ID: b083c2e3-8dd2-4546-8f49-0eac860b4df0, Class: task, Description: Cleaning up expired images" CreatedAt="2026-11-21 20:42:43.571580915 +0000 UTC" Err= Location=none MayCancel=false Metadata="map[]" Resources="map[]" Status=Running StatusCode=Running UpdatedAt="2026-11-21 20:42:43.571580915 +0000 UTC"\n',
    );
    expect(pretty(logging)).toBe(
      'time="2026-11-21T20:42:28Z" level=debug msg="Handling API request" ip=@ method=GET protocol=unix url=/1.0 username=root\n',
    );
    expect(pretty(statfs)).toBe(
      'time="2026-11-21T20:50:12Z" level=error msg="Failed to statfs" err="no such file or directory" instance=c2 instanceType=container path=/var/lib/lxd/containers/c2/rootfs project=default\n',
    );
  });

  it('colors and pads as logrus does on a terminal', () => {
    const tty = (e: WireEvent) => formatEvent(e, { format: 'pretty', tty: true });
    expect(
      tty({
        ...logging,
        timestamp: '2026-11-21T20:50:05Z',
        metadata: { message: 'test log line 1', level: 'info', context: { n: '1' } },
      }),
    ).toBe(`\x1b[36mINFO   \x1b[0m[2026-11-21T20:50:05Z] test log line 1${' '.repeat(31)}\x1b[36mn\x1b[0m=1\n`);
    expect(tty(poolCreated)).toBe(
      '\x1b[36mINFO   \x1b[0m[2026-11-21T20:50:12Z] Action: storage-pool-created, Source: /1.0/storage-pools/s2, Requestor: unix/root (@) \n',
    );
    expect(tty(statfs).startsWith('\x1b[31mERROR  \x1b[0m[2026-11-21T20:50:12Z] Failed to statfs')).toBe(true);
  });

  it('filters by --loglevel across every type (lifecycle and operation are info)', () => {
    const at = (level: 'info' | 'warning' | 'debug') => formatEvent(logging, { format: 'pretty', logLevel: level });
    expect(at('debug')).not.toBe('');
    expect(at('info')).toBe('');
    expect(formatEvent(projectRenamed, { format: 'pretty', logLevel: 'info' })).not.toBe('');
    expect(formatEvent(projectRenamed, { format: 'pretty', logLevel: 'warning' })).toBe('');
    expect(formatEvent(statfs, { format: 'pretty', logLevel: 'warning' })).not.toBe('');
  });

  it('renders security and maas events sensibly, and refuses types lxc does not know', () => {
    const security = { ...SAMPLES.security, timestamp: '2026-01-01T00:00:00Z' } as WireEvent;
    expect(formatEvent(security, { format: 'pretty' })).toBe(
      'time="2026-01-01T00:00:00Z" level=warning msg="TLS authentication failure" name="authn_login_fail:tls" request_method=GET request_path=/1.0/instances requestor="tls/ (203.0.113.9)"\n',
    );
    const maas: WireEvent = {
      type: 'maas',
      timestamp: '2026-01-01T00:00:00Z',
      metadata: {
        event_type: 'NODE',
        level: 'INFO',
        node: 'e86c7h',
        hostname: 'valued-moth',
        username: 'admin',
        description: "Started deploying 'valued-moth'.",
        ip_address: null,
      },
    };
    expect(formatEvent(maas, { format: 'pretty' })).toBe(
      'time="2026-01-01T00:00:00Z" level=info msg="Type: NODE, Description: Started deploying \'valued-moth\'." hostname=valued-moth node=e86c7h username=admin\n',
    );
    expect(() => toLogRecord({ type: 'custom', timestamp: '2026-01-01T00:00:00Z', metadata: {} })).toThrow(
      'Not supported event type: custom',
    );
    expect(() => toLogRecord({ ...logging, metadata: { message: 'm', level: 'x', context: {} } })).toThrow(
      'not a valid logrus Level: "x"',
    );
  });
});

describe("Go's value renderings", () => {
  it('prints numbers, maps, times and quoted strings as fmt and strconv do', () => {
    expect(goFloat(10)).toBe('10');
    expect(goFloat(123456)).toBe('123456');
    expect(goFloat(1234567)).toBe('1.234567e+06');
    expect(goFloat(0.5)).toBe('0.5');
    expect(goFloat(0.00001)).toBe('1e-05');
    expect(goSprint({ b: [1, 'x'], a: null, c: true })).toBe('map[a:<nil> b:[1 x] c:true]');
    expect(goTimeString('2026-11-21T20:50:05.616000Z')).toBe('2026-11-21 20:50:05.616 +0000 UTC');
    expect(goTimeString('2026-11-21T22:50:05+02:00')).toBe('2026-11-21 22:50:05 +0200 +0200');
    expect(goQuote('a "b"\n\u0001é\u00a0')).toBe('"a \\"b\\"\\n\\x01é\\u00a0"');
    expect(parseLogrusLevel('WARN')).toBe('warning');
    expect(parseLogrusLevel('dbug')).toBe('debug');
    expect(parseLogrusLevel('loud')).toBeUndefined();
  });
});
