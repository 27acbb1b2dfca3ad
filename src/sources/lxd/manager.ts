/**
 * @module The `sources` configuration: LXD servers herald keeps the event history of. Each source is a record in the
 * store's state table (`source.<name>`, with its counters under `source-stats.<name>`); a client key lives beside the
 * server key in the data directory (`sources/<name>.key`, 0600), never in the database or in an API answer.
 */

import { createPrivateKey, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { HeraldError, NotFoundError } from '../../core/errors.js';
import { pemFingerprint } from '../../core/fingerprint.js';
import type { EventStore } from '../../core/store.js';
import { createSelfSignedCertificate } from '../../runtime/tls-listener.js';
import type { Logger } from '../../service/log.js';
import type { Metrics } from '../../service/metrics.js';
import type { Publisher } from '../../service/publisher.js';
import {
  fetchServerCertificate,
  formatLxdUrl,
  getServerInfo,
  joinLxd,
  type LxdCredentials,
  type LxdEndpoint,
  type LxdServerInfo,
  parseLxdUrl,
} from './client.js';
import { type BackoffOptions, emptyCounters, LxdSource, type SourceCounters, type SourceStatus } from './source.js';

export const SOURCE_STATE_PREFIX = 'source.';
export const SOURCE_STATS_PREFIX = 'source-stats.';
export const SOURCE_TYPES = ['lxd'] as const;

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
/** How often changed counters are written back to the state table. */
const PERSIST_MS = 2000;

/** A source as kept in the state table (all public material: the key is a file). */
export interface StoredSource {
  readonly name: string;
  readonly type: 'lxd';
  readonly url: string;
  /** herald's client certificate (PEM), HTTPS only */
  readonly certificate?: string;
  /** the LXD server's certificate (PEM), pinned at add time, HTTPS only */
  readonly server_certificate?: string;
  readonly added_at: string;
}

/** `POST /1.0/sources`. */
export interface AddSourceInput {
  readonly name: string;
  readonly type: string;
  readonly url: string;
  /** PEM client certificate and key; absent on HTTPS: herald makes a key pair for this source */
  readonly certificate?: string;
  readonly key?: string;
  /** PEM of the LXD server's certificate, to pin */
  readonly server_certificate?: string;
  /** pin whatever certificate the server presents now (`lxc remote add --accept-certificate`) */
  readonly accept_certificate?: boolean;
  /** LXD's trust password or a join token: herald joins the server's trust store with its certificate */
  readonly password?: string;
}

export interface SourceManagerDeps {
  readonly store: EventStore;
  readonly publisher: Publisher;
  readonly log: Logger;
  readonly metrics?: Metrics;
  readonly dataDir: string;
  /** this herald's certificate fingerprint and unix socket, to refuse subscribing to itself */
  readonly self?: () => { readonly fingerprint?: string; readonly socket?: string };
  readonly backoff?: BackoffOptions;
}

function bad(message: string): HeraldError {
  return new HeraldError('HERALD_ERR_BAD_REQUEST', message);
}

export function validateSourceName(name: string): string {
  if (!NAME.test(name)) {
    throw bad(
      `source name "${name}" must be 1 to 63 letters, digits, '_', '.' or '-', starting with a letter or digit`,
    );
  }
  return name;
}

function certificateOf(pem: string, what: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch {
    throw bad(`${what} is not a PEM certificate`);
  }
}

export class SourceManager {
  private readonly sources = new Map<string, LxdSource>();
  private readonly configs = new Map<string, StoredSource>();
  private readonly dirty = new Set<string>();
  private persistTimer: NodeJS.Timeout | undefined;
  /** serialises add/remove so that two requests for one name cannot interleave */
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly countStored: (by?: number) => void;

  constructor(private readonly deps: SourceManagerDeps) {
    this.countStored =
      deps.metrics?.counter('herald_source_events_total', 'Events stored from LXD sources') ?? (() => {});
    deps.metrics?.gauge('herald_sources_connected', 'LXD sources currently connected', () =>
      this.list().reduce((n, s) => n + (s.connected ? 1 : 0), 0),
    );
    deps.metrics?.gauge('herald_sources', 'LXD sources configured', () => this.sources.size);
  }

  private keyPath(name: string): string {
    return join(this.deps.dataDir, 'sources', `${name}.key`);
  }

  /** Start every configured source (without waiting for them to connect). */
  async start(): Promise<void> {
    const stats = new Map(await this.deps.store.listState(SOURCE_STATS_PREFIX));
    for (const [key, value] of await this.deps.store.listState(SOURCE_STATE_PREFIX)) {
      let config: StoredSource;
      try {
        config = JSON.parse(value) as StoredSource;
        validateSourceName(config.name);
      } catch (err) {
        this.deps.log.error('Ignoring an unreadable source', { key, err: (err as Error).message });
        continue;
      }
      let counters = emptyCounters();
      const saved = stats.get(`${SOURCE_STATS_PREFIX}${config.name}`);
      if (saved) {
        try {
          counters = { ...counters, ...(JSON.parse(saved) as Partial<SourceCounters>) };
        } catch {
          // counters are informative: start them again rather than refuse the source
        }
      }
      try {
        const source = this.build(config, counters);
        this.configs.set(config.name, config);
        this.sources.set(config.name, source);
        void source.start();
      } catch (err) {
        this.deps.log.error('Cannot start source', { source: config.name, err: (err as Error).message });
      }
    }
  }

  private build(config: StoredSource, counters: SourceCounters): LxdSource {
    const endpoint = parseLxdUrl(config.url);
    let creds: LxdCredentials = {};
    if (endpoint.kind === 'https') {
      const keyFile = this.keyPath(config.name);
      if (!existsSync(keyFile)) throw new Error(`the client key ${keyFile} is missing`);
      creds = { cert: config.certificate, key: readFileSync(keyFile, 'utf8'), serverCert: config.server_certificate };
    }
    return new LxdSource(
      { name: config.name, endpoint, creds },
      {
        publisher: this.deps.publisher,
        log: this.deps.log,
        isSelf: (info) => this.isSelf(info),
        onChange: () => this.changed(config.name),
        onStored: this.countStored,
        backoff: this.deps.backoff,
      },
      counters,
    );
  }

  private isSelf(info: LxdServerInfo): boolean {
    if (info.server !== 'herald') return false;
    const self = this.deps.self?.() ?? {};
    return (
      (self.fingerprint !== undefined && info.certificateFingerprint === self.fingerprint) ||
      (self.socket !== undefined && info.unixSocket === self.socket)
    );
  }

  list(): SourceStatus[] {
    return [...this.sources.values()].map((s) => s.status()).sort((a, b) => a.name.localeCompare(b.name));
  }

  get(name: string): SourceStatus {
    const s = this.sources.get(name);
    if (!s) throw new NotFoundError(`Source "${name}"`);
    return s.status();
  }

  /** herald's client certificate (PEM) for an HTTPS source: public, for `lxc config trust add` on the server. */
  certificate(name: string): string | undefined {
    return this.configs.get(name)?.certificate;
  }

  /**
   * Add a source, pinning and joining as asked, then start it and wait for its first connection attempt so that the
   * answer says whether it is receiving events (or why not).
   */
  add(input: AddSourceInput): Promise<SourceStatus> {
    return this.serial(async () => {
      if (this.closed) throw new HeraldError('HERALD_ERR_UNAVAILABLE', 'server is shutting down');
      const name = validateSourceName(input.name);
      if (input.type !== 'lxd') throw bad(`source type "${input.type}" is not supported (supported: lxd)`);
      if (this.sources.has(name)) throw bad(`source "${name}" already exists`);
      let endpoint: LxdEndpoint;
      try {
        endpoint = parseLxdUrl(input.url);
      } catch (err) {
        throw bad((err as Error).message);
      }
      const config: { -readonly [K in keyof StoredSource]: StoredSource[K] } = {
        name,
        type: 'lxd',
        url: formatLxdUrl(endpoint),
        added_at: new Date().toISOString(),
      };
      let key: string | undefined;
      if (endpoint.kind === 'unix') {
        if (input.certificate || input.key || input.server_certificate || input.password) {
          throw bad('a unix socket source takes no certificate, key or password: the socket itself is the credential');
        }
      } else {
        const pair = this.clientPair(input);
        config.certificate = pair.cert;
        key = pair.key;
        config.server_certificate = await this.serverCertificate(endpoint, input);
        if (input.password) {
          try {
            await joinLxd(endpoint, { cert: pair.cert, key, serverCert: config.server_certificate }, input.password);
          } catch (err) {
            throw bad(`joining ${config.url} failed: ${(err as Error).message}`);
          }
        }
      }
      const creds =
        endpoint.kind === 'https' ? { cert: config.certificate, key, serverCert: config.server_certificate } : {};
      // Best effort: refuse herald itself now, rather than record a failing source.
      const info = await getServerInfo(endpoint, creds).catch(() => undefined);
      if (info && this.isSelf(info)) throw bad(`${config.url} is this herald itself: its events are already here`);

      if (key !== undefined) {
        mkdirSync(join(this.deps.dataDir, 'sources'), { recursive: true, mode: 0o700 });
        writeFileSync(this.keyPath(name), key, { mode: 0o600 });
        chmodSync(this.keyPath(name), 0o600);
      }
      await this.deps.store.setState(`${SOURCE_STATE_PREFIX}${name}`, JSON.stringify(config));
      await this.deps.store.setState(`${SOURCE_STATS_PREFIX}${name}`, undefined);
      const source = this.build(config, emptyCounters());
      this.configs.set(name, config);
      this.sources.set(name, source);
      this.deps.log.debug('LXD source added', { source: name, url: config.url });
      await source.start();
      return source.status();
    });
  }

  /** Stop a source (recording that its events are no longer received) and forget it and its key. */
  remove(name: string): Promise<void> {
    return this.serial(async () => {
      const source = this.sources.get(name);
      if (!source) throw new NotFoundError(`Source "${name}"`);
      this.sources.delete(name);
      this.configs.delete(name);
      this.dirty.delete(name);
      await source.stop('source removed');
      await this.deps.store.setState(`${SOURCE_STATE_PREFIX}${name}`, undefined);
      await this.deps.store.setState(`${SOURCE_STATS_PREFIX}${name}`, undefined);
      rmSync(this.keyPath(name), { force: true });
      this.deps.log.debug('LXD source removed', { source: name });
    });
  }

  /** herald's certificate for a source, given or made here (ECDSA P-384, as `lxc` makes its own). */
  private clientPair(input: AddSourceInput): { cert: string; key: string } {
    if (!input.certificate !== !input.key) throw bad('give both the client certificate and its key, or neither');
    if (input.certificate && input.key) {
      const cert = certificateOf(input.certificate, 'the client certificate');
      let matches = false;
      try {
        matches = cert.checkPrivateKey(createPrivateKey(input.key));
      } catch {
        throw bad('the client key is not a PEM private key');
      }
      if (!matches) throw bad('the client key does not belong to the client certificate');
      return { cert: input.certificate, key: input.key };
    }
    const made = createSelfSignedCertificate({ commonName: `herald@${hostname()}`, usage: 'client' });
    return { cert: made.cert, key: made.key };
  }

  private async serverCertificate(endpoint: LxdEndpoint & { kind: 'https' }, input: AddSourceInput): Promise<string> {
    if (input.server_certificate) {
      certificateOf(input.server_certificate, 'the server certificate');
      return input.server_certificate;
    }
    let pem: string;
    try {
      pem = await fetchServerCertificate(endpoint.host, endpoint.port);
    } catch (err) {
      throw bad(`${(err as Error).message}; give the server certificate to pin instead (--server-cert FILE)`);
    }
    if (!input.accept_certificate) {
      throw bad(
        `the LXD server's certificate is not pinned yet (fingerprint ${pemFingerprint(pem)}): ` +
          'check it and add --accept-certificate, or give it with --server-cert FILE',
      );
    }
    return pem;
  }

  private changed(name: string): void {
    if (!this.sources.has(name)) return;
    this.dirty.add(name);
    if (this.persistTimer || this.closed) return;
    this.persistTimer = setTimeout(() => {
      this.persistTimer = undefined;
      void this.persist();
    }, PERSIST_MS);
    this.persistTimer.unref();
  }

  private async persist(): Promise<void> {
    const names = [...this.dirty];
    this.dirty.clear();
    for (const name of names) {
      const s = this.sources.get(name);
      if (!s) continue;
      try {
        await this.deps.store.setState(`${SOURCE_STATS_PREFIX}${name}`, JSON.stringify(s.counters));
      } catch (err) {
        this.deps.log.warn('Could not save source counters', { source: name, err: (err as Error).message });
      }
    }
  }

  /** Stop every source (each records its stop) and save the counters; before the publish path closes. */
  async close(): Promise<void> {
    this.closed = true;
    await this.queue.catch(() => {});
    if (this.persistTimer) clearTimeout(this.persistTimer);
    this.persistTimer = undefined;
    await Promise.all([...this.sources.values()].map((s) => s.stop('herald stopping')));
    for (const name of this.sources.keys()) this.dirty.add(name);
    await this.persist();
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }
}
