/** @module Test support: a real herald on a temporary data directory, and an HTTP client over its unix socket. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Client, unixClient } from '../../src/cli/client.js';
import { type Herald, type HeraldOptions, startHerald } from '../../src/runtime/herald.js';
import { Logger } from '../../src/service/log.js';

export function tempDir(prefix = 'herald-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A quiet logger for tests (records still reach sinks). */
export function quietLogger(): Logger {
  return new Logger({ write: () => {} });
}

export interface TestHerald {
  readonly herald: Herald;
  readonly dir: string;
  readonly client: Client;
  /** Stop the server, keeping the data directory (for restart tests). */
  stop(): Promise<void>;
  /** Start a new server on the same data directory. */
  restart(extra?: Partial<HeraldOptions>): Promise<TestHerald>;
  /** Stop and delete the data directory. */
  cleanup(): Promise<void>;
}

export async function startTestHerald(extra: Partial<HeraldOptions> = {}, dir = tempDir()): Promise<TestHerald> {
  const herald = await startHerald({ dataDir: dir, logger: quietLogger(), ...extra });
  const t: TestHerald = {
    herald,
    dir,
    client: unixClient(dir),
    stop: () => herald.close(),
    restart: async (more = {}) => {
      await herald.close();
      return startTestHerald({ ...extra, ...more }, dir);
    },
    cleanup: async () => {
      await herald.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return t;
}

/** Valid sample events of each type, for tests that need realistic input. */
export const SAMPLES = {
  lifecycle: {
    type: 'lifecycle',
    project: 'default',
    metadata: {
      action: 'instance-started',
      source: '/1.0/instances/c1',
      requestor: { username: 'alice', protocol: 'tls', address: '10.0.0.1' },
      name: 'c1',
      project: 'default',
    },
  },
  logging: { type: 'logging', metadata: { message: 'Binding socket', level: 'info', context: { socket: '[::]:443' } } },
  ovn: {
    type: 'ovn',
    metadata: { message: 'connected', level: 'info', context: { module: 'reconnect', sequence: '00001' } },
  },
  operation: {
    type: 'operation',
    project: 'default',
    metadata: {
      id: '3e1b2a4c-1111-4222-8333-444455556666',
      class: 'task',
      description: 'Starting instance',
      created_at: '2026-01-01T00:00:00Z',
      updated_at: '2026-01-01T00:00:01Z',
      status: 'Running',
      status_code: 103,
      resources: { instances: ['/1.0/instances/c1'] },
      metadata: null,
      may_cancel: false,
      err: '',
      location: 'none',
    },
  },
  security: {
    type: 'security',
    metadata: {
      name: 'authn_login_fail:tls',
      level: 'warning',
      description: 'TLS authentication failure',
      request_path: '/1.0/instances',
      request_method: 'GET',
      requestor: { username: '', protocol: 'tls', address: '203.0.113.9', user_agent: 'curl/8' },
    },
  },
  maas: {
    type: 'maas',
    metadata: {
      event_type: 'NODE',
      node: 'e86c7h',
      hostname: 'valued-moth',
      username: 'admin',
      description: "Started deploying 'valued-moth'.",
      zone: 'default',
      pool: 'default',
      mac_addresses: ['52:54:00:AA:BB:CC'],
    },
  },
} as const;
