/** @module Events of every type with the content that trips renderers: quoting, numbers, offsets, unicode, projects. */
import { SAMPLES } from '../support/herald.js';

export const CORPUS: readonly Record<string, unknown>[] = [
  {
    type: 'lifecycle',
    project: 'default',
    metadata: {
      action: 'instance-started',
      source: '/1.0/instances/c1',
      requestor: { username: 'alice', protocol: 'tls', address: '10.0.0.1:50000' },
      name: 'c1',
      project: 'default',
    },
  },
  // An instance event from an async operation: no requestor, a context of mixed JSON values.
  {
    type: 'lifecycle',
    project: 'default',
    metadata: {
      action: 'instance-created',
      source: '/1.0/instances/c2',
      context: {
        type: 'container',
        'storage-pool': 'p1',
        n: 10,
        f: 1.5,
        big: 1e21,
        small: 0.0001,
        t: true,
        z: null,
        list: ['a', 'b'],
        map: { k: 'v', 'n-1': 2 },
        empty: '',
        quote: 'say "hi"',
        eq: 'a=b',
      },
    },
  },
  // LXD's joiner requestor: all three fields empty but present.
  {
    type: 'lifecycle',
    metadata: {
      action: 'certificate-created',
      source: '/1.0/certificates/abc',
      requestor: { username: '', protocol: '', address: '127.0.0.1:54250' },
    },
  },
  // Another offset and a fraction with trailing zeros (lxc trims them, keeps the offset).
  {
    type: 'lifecycle',
    timestamp: '2026-03-04T10:20:30.100+02:00',
    project: 'foo',
    metadata: { action: 'profile-created', source: '/1.0/profiles/p9?project=foo', context: { old_name: 'p8' } },
  },
  {
    type: 'lifecycle',
    timestamp: '2026-03-04T10:20:30.123456789Z',
    project: 'bar',
    metadata: {
      action: 'project-renamed',
      source: '/1.0/projects/bar',
      context: { old_name: 'baz' },
      requestor: { username: 'root', protocol: 'unix', address: '@' },
    },
  },
  {
    type: 'lifecycle',
    timestamp: '2026-03-04T10:20:30Z',
    metadata: { action: 'config-updated', source: '/1.0' },
  },
  { type: 'logging', metadata: { message: 'Binding socket', level: 'info', context: { socket: '[::]:8443' } } },
  { type: 'logging', metadata: { message: 'debug details', level: 'debug', context: { id: 'x', remote: '@' } } },
  {
    type: 'logging',
    metadata: {
      message: 'Failed to statfs',
      level: 'error',
      context: { err: 'no such file or directory', path: '/var/lib/lxd/containers/c2/rootfs' },
    },
  },
  {
    type: 'logging',
    metadata: {
      message: 'Unicode é ✓ <tag> & "quoted"\nsecond line',
      level: 'warning',
      context: { 'key with space': 'value with space', empty: '', tab: 'a\tb', emoji: '🚀' },
    },
  },
  { type: 'logging', metadata: { message: '', level: 'info', context: {} } },
  { type: 'logging', metadata: { message: 'no context', level: 'info', context: null } },
  {
    type: 'operation',
    project: 'default',
    metadata: {
      id: '3e1b2a4c-1111-4222-8333-444455556666',
      class: 'task',
      description: 'Starting instance',
      created_at: '2026-01-01T00:00:00.5Z',
      updated_at: '2026-01-01T00:00:01+01:00',
      status: 'Running',
      status_code: 103,
      resources: { instances: ['/1.0/instances/c1'], containers: ['/1.0/containers/c1'] },
      metadata: { progress: { percent: '50', stage: 'unpack' }, n: 3 },
      may_cancel: false,
      err: '',
      location: 'none',
    },
  },
  {
    type: 'operation',
    metadata: {
      id: '049b98f7-4cde-4583-ba4a-2712db2af2a6',
      class: 'token',
      description: 'Executing operation',
      created_at: '2026-11-21T20:42:43.790473991Z',
      updated_at: '2026-11-21T20:42:43.790473991Z',
      status: 'Failure',
      status_code: 400,
      resources: null,
      metadata: null,
      may_cancel: true,
      err: 'Failed: "quoted" reason',
      location: 'none',
    },
  },
  {
    type: 'operation',
    project: 'foo',
    metadata: {
      id: '71d8e0f9-9ba1-4f82-b73c-a52a9d148321',
      class: 'task',
      description: 'Creating storage volume snapshot',
      created_at: '2026-11-21T20:50:12.060322244Z',
      updated_at: '2026-11-21T20:50:12.060322244Z',
      status: 'Success',
      status_code: 200,
      resources: { storage_volumes: ['/1.0/storage_volumes/vol2'] },
      metadata: null,
      may_cancel: false,
      err: '',
      location: 'none',
    },
  },
  // Types lxc 5.0.2 cannot render (ovn, security) and herald's own `maas`: never sent to lxc unless asked by name.
  { type: 'ovn', metadata: { message: 'connected', level: 'info', context: { module: 'reconnect', sequence: '1' } } },
  SAMPLES.security,
  {
    type: 'maas',
    metadata: { event_type: 'NODE', node: 'e86c7h', hostname: 'valued-moth', username: 'admin', description: 'x' },
  },
  // Levels logrus treats specially: lxc prints fatal/panic records and goes on; trace is below its default level.
  { type: 'logging', metadata: { message: 'fatal record', level: 'fatal', context: {} } },
  { type: 'logging', metadata: { message: 'panic record', level: 'panic', context: { k: 'v' } } },
  { type: 'logging', metadata: { message: 'trace record', level: 'trace', context: {} } },
];
