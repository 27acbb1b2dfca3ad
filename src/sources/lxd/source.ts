/**
 * @module One LXD server as an event source: subscribe to its `/1.0/events?all-projects=true`, store every event
 * unchanged through the one publish path, reconnect with backoff, and record each gap (disconnect, reconnect, stop) as
 * a `logging` event, so that history shows where LXD's events were not being received rather than hiding it.
 */

import type { WebSocket } from 'ws';
import { pemFingerprint } from '../../core/fingerprint.js';
import type { Logger } from '../../service/log.js';
import type { Publisher } from '../../service/publisher.js';
import {
  formatLxdUrl,
  getServerInfo,
  type LxdCredentials,
  type LxdEndpoint,
  type LxdServerInfo,
  openEvents,
} from './client.js';
import { ingestLxdFrame } from './ingest.js';

/**
 * No `type`: LXD then sends every type this identity may see (an admin certificate or the unix socket: all of them;
 * a restricted certificate: operation and lifecycle), so herald never asks for a type it would be refused.
 */
export const EVENTS_QUERY = '?all-projects=true';

export type SourceState = 'connecting' | 'connected' | 'disconnected' | 'failed' | 'stopped';

/** Counters that survive restarts (persisted by the manager). */
export interface SourceCounters {
  events_stored: number;
  events_rejected: number;
  connects: number;
  disconnects: number;
  /** LXD's timestamp of the last event stored */
  last_event_at: string | null;
  last_error: string | null;
  last_error_at: string | null;
}

export function emptyCounters(): SourceCounters {
  return {
    events_stored: 0,
    events_rejected: 0,
    connects: 0,
    disconnects: 0,
    last_event_at: null,
    last_error: null,
    last_error_at: null,
  };
}

/** What `GET /1.0/sources/<name>` and `herald source list` show. */
export interface SourceStatus extends SourceCounters {
  readonly name: string;
  readonly type: 'lxd';
  readonly url: string;
  readonly status: SourceState;
  readonly connected: boolean;
  /** when the current status began */
  readonly since: string;
  /** when the next connection attempt is due, while disconnected */
  readonly next_attempt_at: string | null;
  /** what the server said about itself at the last connect */
  readonly server: { readonly name: string; readonly version: string } | null;
  /** sha256 of herald's client certificate (HTTPS), to find it in `lxc config trust list` */
  readonly client_fingerprint: string | null;
  readonly server_fingerprint: string | null;
  /** lifecycle actions / security names herald's catalogue did not know, stored as sent (at most 50 listed) */
  readonly unknown_names: readonly string[];
}

export interface BackoffOptions {
  /** first retry delay, ms */
  readonly initialMs?: number;
  /** longest retry delay, ms */
  readonly maxMs?: number;
  /** a connection that stayed up this long resets the backoff */
  readonly stableMs?: number;
  /** no ping or frame from LXD for this long: the connection is dead (LXD pings every 10 s) */
  readonly silenceMs?: number;
}

export const BACKOFF_DEFAULTS = { initialMs: 500, maxMs: 30_000, stableMs: 10_000, silenceMs: 35_000 } as const;

/** Exponential backoff with jitter (half to all of the step), so that many sources do not retry in lockstep. */
export function backoffDelay(attempt: number, o: Required<BackoffOptions>, random = Math.random): number {
  const step = Math.min(o.maxMs, o.initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(step * (0.5 + random() * 0.5));
}

export interface LxdSourceConfig {
  readonly name: string;
  readonly endpoint: LxdEndpoint;
  readonly creds: LxdCredentials;
}

export interface LxdSourceDeps {
  readonly publisher: Publisher;
  readonly log: Logger;
  /** true when the server is this very herald (subscribing to itself would loop) */
  readonly isSelf?: (info: LxdServerInfo) => boolean;
  /** called when counters change (the manager persists them, throttled) */
  readonly onChange?: () => void;
  /** called for every stored event (metrics) */
  readonly onStored?: (n: number) => void;
  readonly backoff?: BackoffOptions;
}

/** A failure that retrying cannot fix (the server is herald itself). */
class PermanentError extends Error {}

/** Pause reading from LXD while this many events wait for the store, resume below the low mark. */
const HIGH_WATER = 2000;
const LOW_WATER = 500;
/** At most one "rejected" logging event per source in this window; the next one carries the count. */
const REJECT_REPORT_MS = 5000;
const MAX_UNKNOWN_LISTED = 50;
const MAX_CONTEXT = 1024;

const clip = (s: string): string => (s.length > MAX_CONTEXT ? `${s.slice(0, MAX_CONTEXT)}…` : s);

export class LxdSource {
  readonly name: string;
  readonly url: string;
  readonly counters: SourceCounters;
  private readonly backoff: Required<BackoffOptions>;
  private state: SourceState = 'stopped';
  private since = new Date().toISOString();
  private nextAttemptAt: number | undefined;
  private running = false;
  private ws: WebSocket | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private silenceTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  /** connected at least once since start: later connects are reconnects */
  private everConnected = false;
  /** a gap is open (a disconnect was recorded) and not yet closed by a reconnect */
  private gapOpen = false;
  /** a "cannot connect" was already recorded for the current run of failures */
  private failureReported = false;
  private connectedAt = 0;
  private server: { name: string; version: string } | null = null;
  private serverFingerprint: string | null = null;
  private readonly unknown = new Set<string>();
  private inflight = 0;
  private paused = false;
  private rejectedUnreported = 0;
  private lastRejectReport = 0;
  private firstAttempt: Promise<void> | undefined;
  /** why herald itself dropped the connection (silence), for the disconnect record */
  private dropReason: string | undefined;
  private readonly clientFingerprint: string | null;

  constructor(
    private readonly config: LxdSourceConfig,
    private readonly deps: LxdSourceDeps,
    counters: SourceCounters = emptyCounters(),
  ) {
    this.name = config.name;
    this.url = formatLxdUrl(config.endpoint);
    this.counters = counters;
    this.backoff = { ...BACKOFF_DEFAULTS, ...deps.backoff };
    this.clientFingerprint = config.creds.cert ? pemFingerprint(config.creds.cert) : null;
  }

  /** Start connecting; resolves after the first attempt (connected or failed), never rejects. */
  start(): Promise<void> {
    if (this.running) return this.firstAttempt ?? Promise.resolve();
    this.running = true;
    this.firstAttempt = this.connect();
    return this.firstAttempt;
  }

  status(): SourceStatus {
    return {
      name: this.name,
      type: 'lxd',
      url: this.url,
      status: this.state,
      connected: this.state === 'connected',
      since: this.since,
      next_attempt_at:
        this.nextAttemptAt !== undefined && this.state !== 'connected'
          ? new Date(this.nextAttemptAt).toISOString()
          : null,
      ...this.counters,
      server: this.server,
      client_fingerprint: this.clientFingerprint,
      server_fingerprint: this.serverFingerprint,
      unknown_names: [...this.unknown],
    };
  }

  /**
   * Stop for good: close the connection, wait for received events to be stored, and record the stop (herald stopping,
   * or the source removed) when events were flowing, since LXD's events are not received from then on.
   */
  async stop(reason: 'herald stopping' | 'source removed'): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.clearSilence();
    const wasConnected = this.state === 'connected';
    this.setState('stopped');
    const ws = this.ws;
    this.ws = undefined;
    if (ws) {
      ws.removeAllListeners('close');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          ws.terminate();
          resolve();
        }, 1000);
        ws.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        ws.on('error', () => {});
        ws.close(1000, reason);
      });
    }
    await this.deps.publisher.drained();
    if (wasConnected || this.gapOpen) {
      await this.record('info', `LXD source "${this.name}" stopped`, { reason });
    }
  }

  private setState(s: SourceState): void {
    if (s !== this.state) {
      this.state = s;
      this.since = new Date().toISOString();
    }
  }

  private async connect(): Promise<void> {
    if (!this.running) return;
    this.setState(this.everConnected ? 'disconnected' : 'connecting');
    try {
      const info = await getServerInfo(this.config.endpoint, this.config.creds);
      if (this.deps.isSelf?.(info)) {
        throw new PermanentError('this URL is this herald itself: subscribing to its own events would loop');
      }
      if (info.auth !== 'trusted') {
        throw new Error(
          this.clientFingerprint
            ? `the LXD server does not trust herald's client certificate (fingerprint ${this.clientFingerprint}); ` +
                `trust it there with \`lxc config trust add\`, or re-add the source with --password`
            : 'the LXD server does not trust this connection',
        );
      }
      this.server = { name: info.serverName, version: info.serverVersion };
      this.serverFingerprint = info.certificateFingerprint || null;
      await this.subscribe();
    } catch (err) {
      if (!this.running) return;
      this.fail(err as Error);
    }
  }

  private subscribe(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const ws = openEvents(this.config.endpoint, this.config.creds, EVENTS_QUERY);
      this.ws = ws;
      let opened = false;
      ws.on('unexpected-response', (_req, res) => {
        // LXD refuses with its JSON error envelope (403 for an untrusted certificate, 500 for a bad query).
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let msg = `HTTP ${res.statusCode}`;
          try {
            const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { error?: string };
            if (body.error) msg += `: ${body.error}`;
          } catch {
            // not JSON: the status alone says it
          }
          ws.terminate();
          reject(new Error(`GET /1.0/events refused: ${msg}`));
        });
      });
      ws.on('error', (err) => {
        if (!opened) reject(err);
      });
      ws.on('open', () => {
        opened = true;
        this.onOpen();
        resolve();
      });
      ws.on('ping', () => this.alive());
      ws.on('message', (data, isBinary) => {
        this.alive();
        // LXD writes text frames; Go clients parse binary frames the same way, so herald does too.
        this.onFrame(isBinary ? Buffer.from(data as Buffer).toString('utf8') : data.toString());
      });
      ws.on('close', (code, reason) => {
        if (this.ws !== ws) return;
        this.ws = undefined;
        this.clearSilence();
        if (!opened) return;
        const why = reason.length > 0 ? `${code} ${reason.toString()}` : `${code}`;
        const dropped = this.dropReason;
        this.dropReason = undefined;
        this.onClosed(new Error(dropped ?? `connection closed (${why})`));
      });
    });
  }

  private onOpen(): void {
    const reconnect = this.everConnected;
    this.everConnected = true;
    this.connectedAt = Date.now();
    this.counters.connects++;
    this.failureReported = false;
    this.nextAttemptAt = undefined;
    this.setState('connected');
    this.alive();
    this.deps.onChange?.();
    const server = this.server ? `${this.server.name} ${this.server.version}`.trim() : '';
    if (reconnect || this.gapOpen) {
      this.gapOpen = false;
      void this.record('info', `LXD source "${this.name}" reconnected`, { server });
    } else {
      void this.record('info', `LXD source "${this.name}" connected`, { server });
    }
    // The record above is the logging event; stderr gets it only with --debug, so that it is not published twice.
    this.deps.log.debug('LXD source connected', { source: this.name, url: this.url });
  }

  private onClosed(err: Error): void {
    if (!this.running) return;
    this.counters.disconnects++;
    this.noteError(err);
    this.gapOpen = true;
    // Recorded after every event received before it (the publish path keeps order), so the gap starts here.
    void this.record('warning', `LXD source "${this.name}" disconnected`, { error: clip(err.message) });
    this.deps.log.debug('LXD source disconnected', { source: this.name, url: this.url, err: err.message });
    if (Date.now() - this.connectedAt >= this.backoff.stableMs) this.attempt = 0;
    this.scheduleRetry();
  }

  private fail(err: Error): void {
    this.noteError(err);
    if (err instanceof PermanentError) {
      this.setState('failed');
      this.running = false;
      void this.record('error', `LXD source "${this.name}" stopped: ${err.message}`, { error: clip(err.message) });
      return;
    }
    // One record per run of failures: the gap is already visible from the disconnect (or from never connecting).
    if (!this.failureReported && !this.gapOpen) {
      this.failureReported = true;
      this.gapOpen = true;
      void this.record('warning', `LXD source "${this.name}" cannot connect`, { error: clip(err.message) });
    }
    this.deps.log.debug('LXD source connection failed', { source: this.name, err: err.message });
    this.scheduleRetry();
  }

  private noteError(err: Error): void {
    this.counters.last_error = err.message;
    this.counters.last_error_at = new Date().toISOString();
    this.deps.onChange?.();
  }

  private scheduleRetry(): void {
    if (!this.running) return;
    this.setState(this.everConnected ? 'disconnected' : 'connecting');
    const delay = backoffDelay(this.attempt++, this.backoff);
    this.nextAttemptAt = Date.now() + delay;
    this.retryTimer = setTimeout(() => void this.connect(), delay);
    this.retryTimer.unref();
  }

  /** Any ping or frame from LXD proves the connection alive; silence past `silenceMs` means it is dead. */
  private alive(): void {
    this.clearSilence();
    this.silenceTimer = setTimeout(() => {
      this.dropReason = `no ping or event from LXD for ${this.backoff.silenceMs / 1000} s`;
      this.ws?.terminate();
    }, this.backoff.silenceMs);
    this.silenceTimer.unref();
  }

  private clearSilence(): void {
    if (this.silenceTimer) clearTimeout(this.silenceTimer);
    this.silenceTimer = undefined;
  }

  private onFrame(data: string): void {
    const r = ingestLxdFrame(data);
    if (r.kind === 'rejected') {
      this.counters.events_rejected++;
      this.rejectedUnreported++;
      this.deps.onChange?.();
      const now = Date.now();
      if (now - this.lastRejectReport >= REJECT_REPORT_MS) {
        this.lastRejectReport = now;
        const count = this.rejectedUnreported;
        this.rejectedUnreported = 0;
        void this.record('warning', `LXD source "${this.name}" received an event herald cannot store`, {
          type: r.type,
          timestamp: r.timestamp,
          reason: clip(r.reason),
          rejected: String(count),
        });
      }
      return;
    }
    if (r.unknown !== undefined && !this.unknown.has(r.unknown) && this.unknown.size < MAX_UNKNOWN_LISTED) {
      this.unknown.add(r.unknown);
      void this.record('warning', `LXD source "${this.name}" sent "${r.unknown}", unknown to herald; stored as sent`, {
        type: r.prepared.event.type,
        name: r.unknown,
      });
    }
    const timestamp = r.prepared.event.timestamp;
    this.inflight++;
    if (!this.paused && this.inflight >= HIGH_WATER && this.ws) {
      // The store is behind: stop reading, so LXD's socket (not herald's memory) holds the backlog.
      this.paused = true;
      this.ws.pause();
    }
    this.deps.publisher.publish([r.prepared]).then(
      () => {
        this.counters.events_stored++;
        this.counters.last_event_at = timestamp;
        this.deps.onStored?.(1);
        this.settled();
      },
      (err: Error) => {
        this.noteError(new Error(`storing an event failed: ${err.message}`));
        this.settled();
      },
    );
  }

  private settled(): void {
    this.inflight--;
    this.deps.onChange?.();
    if (this.paused && this.inflight <= LOW_WATER) {
      this.paused = false;
      this.ws?.resume();
    }
  }

  /** A `logging` event about this source, through the one publish path (herald's location, no project). */
  private async record(
    level: 'info' | 'warning' | 'error',
    message: string,
    context: Record<string, string>,
  ): Promise<void> {
    try {
      await this.deps.publisher.publishRaw({
        type: 'logging',
        metadata: { message, level, context: { source: this.name, url: this.url, ...context } },
      });
    } catch (err) {
      this.deps.log.warn('Could not record an LXD source event', { source: this.name, err: (err as Error).message });
    }
  }
}
