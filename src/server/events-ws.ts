/**
 * @module GET /1.0/events: LXD's event websocket (query, permissions, errors before the upgrade, keepalive) on top of
 * the live hub, plus herald's extensions: resume with `since`, and the history filters (level, location, action, ...).
 */
import { type IncomingMessage, type Server, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { ForbiddenError, HeraldError, NotFoundError, QueryError, toHeraldError } from '../core/errors.js';
import type { EventType } from '../core/event.js';
import { type EventFilter, type ProjectScope, parseFilter, parseScope, parseTypes } from '../core/filter.js';
import { defaultTypes, type Identity, visibleTypes } from '../core/permissions.js';
import { parseTimePoint } from '../core/time.js';
import { CLOSE_CODES, type Frame, type Hub, type ListenerSink, type ResumePoint } from '../service/hub.js';
import type { Logger } from '../service/log.js';
import type { RouteModule } from './context.js';
import { errorBody } from './envelope.js';
import { LIMITS } from './limits.js';
import { queryOf } from './query.js';

export const EVENTS_PATH = '/1.0/events';
/** LXD's live stream defaults to the `default` project (events with no project reach every listener anyway). */
const DEFAULT_SCOPE: ProjectScope = { kind: 'project', project: 'default' };

export interface StreamRequest {
  readonly filter: EventFilter;
  readonly resume?: ResumePoint;
}

/**
 * Parse and authorise a live-stream query. Throws the HeraldError that goes back before the upgrade: 400 for an unknown
 * type, `project` with `all-projects` or a bad extension value, 403 for a type the caller may not see.
 */
export function parseStreamRequest(params: URLSearchParams, identity: Identity, now: number): StreamRequest {
  const asked = parseTypes(params);
  const scope = parseScope(params, DEFAULT_SCOPE);
  let types: EventType[];
  if (asked === undefined) types = defaultTypes(identity);
  else {
    const visible = visibleTypes(identity);
    if (asked.some((t) => !visible.includes(t))) throw new ForbiddenError();
    types = asked;
  }
  // `since` and `until` mean a time window in history; here `since` is the resume point and `until` has no meaning.
  const rest = new URLSearchParams(params);
  for (const key of ['type', 'since', 'until']) rest.delete(key);
  const filter: EventFilter = { ...parseFilter(rest, { now, defaultScope: DEFAULT_SCOPE }), types, scope };
  return { filter, resume: parseSince(params.get('since'), now) };
}

function parseSince(value: string | null, now: number): ResumePoint | undefined {
  if (value === null || value === '') return undefined;
  if (/^\d{1,15}$/.test(value)) return { afterId: Number(value) };
  const t = parseTimePoint(value, now);
  if (t === undefined) {
    throw new QueryError('since', `"${value}" is neither an event id, an RFC3339 timestamp nor a duration like 15m`);
  }
  return { sinceMs: t, text: value };
}

export interface EventStreamOptions {
  /** how often the server pings (LXD: 10 s) */
  readonly pingIntervalMs?: number;
  /** unanswered pings tolerated; one more and the connection is dropped (LXD: 2) */
  readonly maxMissedPongs?: number;
  /** how long a listener being closed may take to read its close frame before its socket is destroyed */
  readonly closeGraceMs?: number;
  /** concurrent listeners per identity over the network (the local unix socket has no cap, as for connections) */
  readonly listenersPerIdentity?: number;
  /** largest message a client may send before the connection is dropped (listeners send none) */
  readonly maxPayloadBytes?: number;
}

export const STREAM_DEFAULTS = {
  pingIntervalMs: 10_000,
  maxMissedPongs: 2,
  closeGraceMs: 5_000,
  listenersPerIdentity: LIMITS.listenersPerIdentity,
  maxPayloadBytes: LIMITS.wsMaxPayloadBytes,
} as const;

export interface EventStreamDeps {
  readonly hub: Hub;
  readonly identify: (req: IncomingMessage) => Identity;
  readonly log?: Logger;
  readonly now?: () => number;
}

const KEEPALIVE = Buffer.from('keepalive');

/**
 * A whole unmasked text frame (RFC 6455 §5.2) around an event's bytes, built once per event and written as is to every
 * socket: one write per delivery, no per-listener framing.
 */
export function textFrame(payload: Buffer): Buffer {
  const n = payload.length;
  const header = n < 126 ? 2 : n < 65_536 ? 4 : 10;
  const out = Buffer.allocUnsafe(header + n);
  out[0] = 0x81;
  if (n < 126) out[1] = n;
  else if (n < 65_536) {
    out[1] = 126;
    out.writeUInt16BE(n, 2);
  } else {
    out[1] = 127;
    out.writeUInt32BE(Math.floor(n / 2 ** 32), 2);
    out.writeUInt32BE(n >>> 0, 6);
  }
  payload.copy(out, header);
  return out;
}

/**
 * LXD's upgrader CheckOrigin (shared/ws/upgrader.go): no Origin is fine (lxc, scripts); a web origin must name this very
 * host:port; another scheme (ws+unix) is compared by host name only. A web page elsewhere cannot open the stream.
 */
export function originAllowed(origin: string | undefined, host: string | undefined): boolean {
  if (!origin) return true;
  const m = /^([a-z][a-z0-9+.-]*):\/\/(?:[^@/?#]*@)?([^/?#]*)/i.exec(origin);
  if (!m || !host) return false;
  const authority = (m[2] as string).toLowerCase();
  const h = host.toLowerCase();
  if (['http', 'https', 'ws', 'wss'].includes((m[1] as string).toLowerCase())) return authority === h;
  const name = (a: string) => (a.startsWith('[') ? a.slice(0, a.indexOf(']') + 1) : a.split(':')[0]);
  return name(authority) === name(h);
}

/** Close reasons are limited to 123 bytes by the protocol; `ws` throws on longer ones. */
function closeReason(reason: string): string {
  let r = reason;
  while (Buffer.byteLength(r) > 123) r = r.slice(0, -1);
  return r;
}

function writeHttpError(socket: Duplex, err: HeraldError): void {
  const body = JSON.stringify(errorBody(err.status, err.message, { code: err.code, ...(err.details ?? {}) }));
  writeHttp(socket, err.status, 'application/json', body);
}

function writeHttp(socket: Duplex, status: number, type: string, body: string, extra = ''): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: ${type}\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n${extra}Connection: close\r\n\r\n${body}`,
  );
}

/** The key an identity's listeners are counted under; undefined for the local unix socket, which has no cap. */
function capKey(identity: Identity): string | undefined {
  return identity.protocol === 'unix' ? undefined : `${identity.protocol}:${identity.username}`;
}

/**
 * The websocket side of the live stream. `handleUpgrade` is a plain `upgrade` listener, so any HTTP server (the unix
 * socket today, HTTPS later) serves the same stream by attaching it.
 */
export class EventStream {
  private readonly wss: WebSocketServer;
  private readonly sockets = new Set<WebSocket>();
  /** open listeners by identity, for the per-identity cap */
  private readonly perIdentity = new Map<string, number>();
  private readonly opts: Required<EventStreamOptions>;
  private closing = false;
  private nextId = 1;
  /** resolves `close()` once the last listener is gone */
  private idle: (() => void) | undefined;

  constructor(
    private readonly deps: EventStreamDeps,
    opts: EventStreamOptions = {},
  ) {
    this.opts = { ...STREAM_DEFAULTS, ...opts };
    this.wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      clientTracking: false,
      maxPayload: this.opts.maxPayloadBytes,
    });
  }

  get connections(): number {
    return this.sockets.size;
  }

  attach(server: Server): void {
    server.on('upgrade', this.handleUpgrade);
  }

  readonly handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://herald');
    let spec: StreamRequest;
    let identity: Identity;
    try {
      if (url.pathname !== EVENTS_PATH) throw new NotFoundError(`${req.method} ${url.pathname}`);
      if (this.closing) throw new HeraldError('HERALD_ERR_UNAVAILABLE', 'server is shutting down');
      if (!originAllowed(req.headers.origin, req.headers.host)) throw new ForbiddenError('request origin not allowed');
      identity = this.deps.identify(req);
      spec = parseStreamRequest(url.searchParams, identity, this.deps.now?.() ?? Date.now());
      const key = capKey(identity);
      if (key !== undefined && (this.perIdentity.get(key) ?? 0) >= this.opts.listenersPerIdentity) {
        throw new HeraldError(
          'HERALD_ERR_RATE_LIMITED',
          `at most ${this.opts.listenersPerIdentity} event listeners per identity are open at once`,
        );
      }
    } catch (err) {
      writeHttpError(socket, toHeraldError(err));
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.serve(ws, socket, identity, spec, req));
  };

  private serve(ws: WebSocket, socket: Duplex, identity: Identity, spec: StreamRequest, req: IncomingMessage): void {
    const id = this.nextId++;
    this.sockets.add(ws);
    const key = capKey(identity);
    if (key !== undefined) this.perIdentity.set(key, (this.perIdentity.get(key) ?? 0) + 1);
    let graceTimer: NodeJS.Timeout | undefined;
    const sink: ListenerSink = {
      get bufferedAmount() {
        // Only a socket past its own high-water mark will say 'drain'; below it the hub must keep writing, or a queue
        // started under a smaller hub limit would wait for a drain event that never comes.
        return socket.writableNeedDrain ? ws.bufferedAmount : 0;
      },
      send(frame: Frame) {
        // The frame bypasses ws's sender on purpose (see textFrame); ws still owns pings and the close handshake.
        if (ws.readyState !== ws.OPEN) return;
        frame.wire ??= textFrame(frame.data);
        socket.write(frame.wire);
      },
      close: (code: number, reason: string) => {
        if (ws.readyState === ws.OPEN) ws.close(code, closeReason(reason));
        // A listener that does not read cannot receive its close frame: do not wait for it for long.
        graceTimer ??= setTimeout(() => ws.terminate(), this.opts.closeGraceMs);
        graceTimer.unref();
      },
      cork: () => socket.cork(),
      uncork: () => socket.uncork(),
    };
    const handle = this.deps.hub.attach({ filter: spec.filter, identity, sink, resume: spec.resume });
    socket.on('drain', () => handle.drained());

    // Keepalive as LXD: ping at once and every interval; more than maxMissedPongs unanswered pings drop the client.
    let pending = 0;
    const ping = () => {
      if (pending > this.opts.maxMissedPongs) {
        ws.terminate();
        return;
      }
      pending++;
      ws.ping(KEEPALIVE);
    };
    const pinger = setInterval(ping, this.opts.pingIntervalMs);
    pinger.unref();
    ping();
    ws.on('pong', () => {
      pending = 0;
    });
    // Listeners only read: LXD ends the connection on any data frame, and so does herald.
    ws.on('message', () => ws.terminate());
    ws.on('error', () => {});
    ws.on('close', () => {
      clearInterval(pinger);
      if (graceTimer) clearTimeout(graceTimer);
      handle.detach();
      this.sockets.delete(ws);
      if (key !== undefined) {
        const left = (this.perIdentity.get(key) ?? 1) - 1;
        if (left > 0) this.perIdentity.set(key, left);
        else this.perIdentity.delete(key);
      }
      this.deps.log?.debug('Event listener server handler stopped', { id, last_id: handle.lastId });
      if (this.sockets.size === 0) this.idle?.();
    });
    this.deps.log?.debug('Event listener server handler started', {
      id,
      remote: req.socket.remoteAddress || '@',
      url: req.url,
    });
  }

  /**
   * Refuse new listeners and wait for the open ones to go (the hub closes them with 1001); whatever is still open after
   * `graceMs` is destroyed.
   */
  async close(graceMs = 1000): Promise<void> {
    this.closing = true;
    if (this.sockets.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        this.idle = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    for (const ws of this.sockets) ws.terminate();
    this.wss.close();
  }
}

/**
 * The plain (non-websocket) GET: the same checks as the upgrade, then gorilla's answer to a request that is not a
 * websocket handshake (LXD's events endpoint has no long-poll fallback).
 */
export const eventsStreamRoute: RouteModule = (app, ctx) => {
  app.get(EVENTS_PATH, async (req, reply) => {
    parseStreamRequest(queryOf(req.raw.url), req.identity, ctx.now?.() ?? Date.now());
    return reply
      .code(400)
      .header('Sec-WebSocket-Version', '13')
      .type('text/plain; charset=utf-8')
      .send(`${STATUS_CODES[400]}\n`);
  });
};

export { CLOSE_CODES };
