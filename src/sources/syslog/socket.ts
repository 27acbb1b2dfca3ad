/**
 * @module The syslog intake: an LXD-style `syslog.socket` (unix datagrams) and an optional loopback UDP port, whose
 * lines become `ovn` and `logging` events through the one publish path, batched so a burst is a few transactions.
 */
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, unlinkSync } from 'node:fs';
import { chmod } from 'node:fs/promises';
import { isIP } from 'node:net';
import { z } from 'zod';
import { type PreparedEvent, prepareOne } from '../../core/prepare.js';
import type { ConfigService } from '../../service/config.js';
import type { Logger } from '../../service/log.js';
import type { Metrics } from '../../service/metrics.js';
import type { Publisher } from '../../service/publisher.js';
import { parseSyslog } from './parse.js';
import { bindUnixDgram, type UnixDgramReceiver } from './unix-dgram.js';

/** Largest datagram taken, as rsyslog's default: OVS debug dumps of whole schemas are longer and are dropped. */
export const DEFAULT_MAX_DATAGRAM_BYTES = 8 * 1024;
export const DEFAULT_BATCH_LINES = 1000;
export const DEFAULT_FLUSH_MS = 5;
/** Lines parsed but not yet committed; past this the store is behind and new lines are dropped, not queued. */
export const DEFAULT_MAX_BACKLOG = 50_000;

/**
 * LXD's key for its syslog socket. LXD leaves it off; herald opens the socket unless the key says `false`, and opens
 * or closes it when the key changes.
 */
export const SYSLOG_CONFIG_KEY = 'core.syslog_socket';

export const DROP_REASONS = ['oversize', 'malformed', 'backlog', 'rejected'] as const;
export type DropReason = (typeof DROP_REASONS)[number];

export interface SyslogIntakeOptions {
  readonly publisher: Publisher;
  /** unix datagram socket to bind (an existing file there is replaced, as LXD does) */
  readonly path?: string;
  /** loopback `HOST:PORT` for UDP (`127.0.0.1:5514`, `[::1]:5514`, `localhost:5514`); port 0 picks a free one */
  readonly udp?: string;
  readonly metrics?: Metrics;
  readonly log?: Logger;
  readonly maxDatagramBytes?: number;
  /** lines per publish call; a partial batch waits at most `flushMs` */
  readonly batchLines?: number;
  readonly flushMs?: number;
  readonly maxBacklog?: number;
  /** follow `core.syslog_socket` (defined here when nobody has defined it) */
  readonly config?: ConfigService;
  /** GET /1.0 `environment`, kept current: `syslog_socket` while the socket is open, `syslog_udp` */
  readonly environment?: Record<string, unknown>;
}

export interface SyslogStats {
  /** datagrams received (= parsed + dropped as oversize or malformed) */
  received: number;
  /** lines that became events (= stored + dropped for backlog or rejected + waiting) */
  parsed: number;
  stored: number;
  dropped: Record<DropReason, number>;
}

/** `HOST:PORT` on a loopback address; anything else is refused, since syslog over UDP has no authentication at all. */
export function parseLoopbackAddress(spec: string): { host: string; port: number; family: 'udp4' | 'udp6' } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(spec.trim());
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new Error(`syslog UDP address must be HOST:PORT, not "${spec}"`);
  let host = (m[1] ?? m[2]) as string;
  if (host === 'localhost') host = '127.0.0.1';
  const v = isIP(host);
  // The URL parser writes an IPv6 address in its shortest form, so every spelling of ::1 compares equal.
  const loopback =
    (v === 4 && host.startsWith('127.')) || (v === 6 && new URL(`http://[${host}]/`).hostname === '[::1]');
  if (!loopback) throw new Error(`syslog UDP address must be on loopback (127.0.0.0/8 or ::1), not "${host}"`);
  return { host, port, family: v === 6 ? 'udp6' : 'udp4' };
}

export class SyslogIntake {
  readonly stats: SyslogStats = {
    received: 0,
    parsed: 0,
    stored: 0,
    dropped: { oversize: 0, malformed: 0, backlog: 0, rejected: 0 },
  };
  /** the bound UDP address (`host:port`), when UDP is on */
  udpAddress: string | undefined;
  /** the bound unix socket, undefined when none was asked for or it could not be bound */
  path: string | undefined;
  private unix: UnixDgramReceiver | undefined;
  private udp: Socket | undefined;
  private pending: PreparedEvent[] = [];
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private settled: Array<() => void> = [];
  private lastDropWarning = 0;
  private unlisten: (() => void) | undefined;
  private readonly maxBytes: number;
  private readonly batchLines: number;
  private readonly flushMs: number;
  private readonly maxBacklog: number;
  private readonly count: {
    received: (by?: number) => void;
    parsed: (by?: number) => void;
    dropped: Record<DropReason, (by?: number) => void>;
  };

  private constructor(private readonly opts: SyslogIntakeOptions) {
    this.maxBytes = opts.maxDatagramBytes ?? DEFAULT_MAX_DATAGRAM_BYTES;
    this.batchLines = opts.batchLines ?? DEFAULT_BATCH_LINES;
    this.flushMs = opts.flushMs ?? DEFAULT_FLUSH_MS;
    this.maxBacklog = opts.maxBacklog ?? DEFAULT_MAX_BACKLOG;
    const m = opts.metrics;
    const noop = () => {};
    const dropped = {} as Record<DropReason, (by?: number) => void>;
    for (const reason of DROP_REASONS) {
      dropped[reason] = m
        ? m.counter('herald_syslog_dropped_total', 'Syslog lines dropped, by reason', { reason })
        : noop;
    }
    this.count = {
      received: m ? m.counter('herald_syslog_received_total', 'Syslog datagrams received') : noop,
      parsed: m ? m.counter('herald_syslog_parsed_total', 'Syslog lines parsed into events') : noop,
      dropped,
    };
    m?.gauge('herald_syslog_backlog', 'Syslog lines parsed and not yet committed', () => this.backlog);
  }

  /**
   * Bind the sockets. An invalid or unbindable UDP address fails the start (binding nothing); a unix socket that
   * cannot be bound is logged and left out, since herald serves without it.
   */
  static async start(opts: SyslogIntakeOptions): Promise<SyslogIntake> {
    const udpAddress = opts.udp === undefined ? undefined : parseLoopbackAddress(opts.udp);
    const intake = new SyslogIntake(opts);
    const config = opts.config;
    try {
      if (config && !config.definition(SYSLOG_CONFIG_KEY)) {
        config.define([
          {
            key: SYSLOG_CONFIG_KEY,
            schema: z.string().refine((v) => v === 'true' || v === 'false', { message: 'must be true or false' }),
            description: 'receive OVS/OVN and syslog lines on DIR/syslog.socket',
            defaultValue: 'true',
          },
        ]);
      }
      if (config?.effective(SYSLOG_CONFIG_KEY) !== 'false') await intake.openUnix();
      if (udpAddress) {
        const sock = createSocket({ type: udpAddress.family, recvBufferSize: 4 * 1024 * 1024 });
        intake.udp = sock;
        await new Promise<void>((resolve, reject) => {
          sock.once('error', reject);
          sock.bind(udpAddress.port, udpAddress.host, () => {
            sock.off('error', reject);
            resolve();
          });
        });
        sock.on('message', (data) => intake.receive(data));
        // A receive error on UDP (e.g. ICMP noise) must not take the server down; the socket stays usable.
        sock.on('error', (err) => opts.log?.warn('Syslog UDP socket error', { err: err.message }));
        const a = sock.address();
        intake.udpAddress = a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
        if (opts.environment) opts.environment.syslog_udp = intake.udpAddress;
      }
    } catch (err) {
      await intake.close();
      throw err;
    }
    intake.unlisten = config?.onChange(async (keys) => {
      if (!keys.includes(SYSLOG_CONFIG_KEY) || intake.closed) return;
      if (config.effective(SYSLOG_CONFIG_KEY) === 'false') intake.closeUnix();
      else await intake.openUnix();
    });
    opts.log?.info('Syslog intake listening', { socket: intake.path, udp: intake.udpAddress });
    return intake;
  }

  /** Bind the unix socket (replacing a stale file, as LXD does); logs and leaves it closed when it cannot. */
  async openUnix(): Promise<void> {
    const path = this.opts.path;
    if (path === undefined || this.unix) return;
    try {
      if (existsSync(path)) unlinkSync(path);
      this.unix = bindUnixDgram(path, (data) => this.receive(data));
      this.path = path;
      // Daemons that log here run as root or as herald's own group, as with the API socket.
      await chmod(path, 0o660);
      if (this.opts.environment) this.opts.environment.syslog_socket = path;
    } catch (err) {
      // The socket is an extra source: without it (a path over 107 bytes, no native addon) herald still serves.
      this.closeUnix();
      this.opts.log?.error('Syslog socket unavailable', { socket: path, err: (err as Error).message });
    }
  }

  /** Stop taking datagrams on the unix socket and remove its file. */
  closeUnix(): void {
    this.unix?.close();
    this.unix = undefined;
    if (this.path !== undefined) {
      try {
        unlinkSync(this.path);
      } catch {
        // already gone: nothing to clean up
      }
    }
    this.path = undefined;
    if (this.opts.environment) delete this.opts.environment.syslog_socket;
  }

  /** Lines parsed and not yet committed. */
  get backlog(): number {
    return this.pending.length + this.inFlight;
  }

  /** One datagram, from either socket: the hot path, so one parse, one prepare and a push, nothing else. */
  receive(data: Buffer): void {
    this.stats.received++;
    this.count.received();
    if (data.length > this.maxBytes) {
      this.drop('oversize');
      return;
    }
    const parsed = parseSyslog(data);
    if (!parsed.ok) {
      this.drop('malformed');
      return;
    }
    this.stats.parsed++;
    this.count.parsed();
    if (this.closed || this.backlog >= this.maxBacklog) {
      this.drop('backlog');
      return;
    }
    const prepared = prepareOne({ type: parsed.type, metadata: parsed.metadata }, 0, this.opts.publisher.options);
    if (Array.isArray(prepared)) {
      this.drop('rejected');
      return;
    }
    this.pending.push(prepared);
    if (this.pending.length >= this.batchLines) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.flushMs);
  }

  /** Hand what is pending to the publisher now. */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.inFlight += batch.length;
    this.opts.publisher.publish(batch).then(
      (stored) => {
        this.stats.stored += stored.length;
        this.settle(batch.length);
      },
      (err: Error) => {
        this.settle(batch.length);
        this.drop('rejected', batch.length, err.message);
      },
    );
  }

  /** Resolves when nothing parsed is waiting to be committed. */
  drained(): Promise<void> {
    this.flush();
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.settled.push(resolve));
  }

  /** Stop receiving, commit what was received, remove the socket file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unlisten?.();
    this.closeUnix();
    if (this.udp) {
      const udp = this.udp;
      this.udp = undefined;
      await new Promise<void>((resolve) => udp.close(() => resolve()));
    }
    await this.drained();
  }

  private settle(n: number): void {
    this.inFlight -= n;
    if (this.inFlight === 0 && this.pending.length === 0) {
      const waiters = this.settled;
      this.settled = [];
      for (const w of waiters) w();
    }
  }

  private drop(reason: DropReason, n = 1, err?: string): void {
    this.stats.dropped[reason] += n;
    this.count.dropped[reason](n);
    // One warning a minute at most: a sender spraying bad lines must not turn into a stream of log events.
    const now = Date.now();
    if (now - this.lastDropWarning < 60_000) return;
    this.lastDropWarning = now;
    this.opts.log?.warn('Syslog lines dropped', { reason, ...this.stats.dropped, err });
  }
}
