/**
 * @module Every input limit herald enforces, in one place (documented in docs/security.md), with the checks that turn
 * a hostile request into a clear 4xx instead of a crash, a hang or a partial write.
 */
import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { BadJsonError, HeraldError, TooLargeError } from '../core/errors.js';
import { MAX_EVENT_BYTES } from '../core/event.js';
import { jsonBodyText } from './body.js';
import { errorBody } from './envelope.js';

export interface Limits {
  /** largest request body (a publish batch) */
  readonly bodyBytes: number;
  /** largest single event, measured on its canonical JSON */
  readonly eventBytes: number;
  /** most events in one publish request */
  readonly batchEvents: number;
  /** deepest JSON nesting accepted in a body (objects and arrays) */
  readonly jsonDepth: number;
  /** largest request head (request line plus headers) */
  readonly headerBytes: number;
  /** time allowed to receive a request's headers: the slowloris bound */
  readonly headersTimeoutMs: number;
  /** time allowed to receive a whole request */
  readonly requestTimeoutMs: number;
  /** idle keep-alive connections are closed after this */
  readonly keepAliveTimeoutMs: number;
  /** how often the server looks for requests past their timeouts */
  readonly connectionsCheckingIntervalMs: number;
  /** time allowed for a TLS handshake */
  readonly tlsHandshakeTimeoutMs: number;
  /** concurrent connections per HTTPS listener; more are closed at once (the unix socket has no cap) */
  readonly maxConnections: number;
  /** largest WebSocket message a client may send (clients send none but cluster members push events) */
  readonly wsMaxPayloadBytes: number;
  /** concurrent event listeners (WebSockets) per identity */
  readonly listenersPerIdentity: number;
  /** failed authentications an address may make in a burst before getting 429 */
  readonly authFailureBurst: number;
  /** one failed authentication is forgiven per this many ms */
  readonly authFailureRefillMs: number;
}

export const LIMITS: Limits = Object.freeze({
  bodyBytes: 16 * 1024 * 1024,
  eventBytes: MAX_EVENT_BYTES,
  batchEvents: 10_000,
  jsonDepth: 64,
  headerBytes: 16 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  keepAliveTimeoutMs: 5_000,
  connectionsCheckingIntervalMs: 2_000,
  tlsHandshakeTimeoutMs: 10_000,
  maxConnections: 4096,
  wsMaxPayloadBytes: 128 * 1024,
  listenersPerIdentity: 64,
  authFailureBurst: 10,
  authFailureRefillMs: 6_000,
});

/** Largest request body (kept under this name for the modules that imported it from app.ts). */
export const MAX_BODY_BYTES = LIMITS.bodyBytes;

export function withLimits(overrides: Partial<Limits> = {}): Limits {
  return Object.freeze({ ...LIMITS, ...overrides });
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  413: 'Payload Too Large',
  431: 'Request Header Fields Too Large',
};

/** What node's HTTP parser reports, as herald's error envelope (node's default reply has no body at all). */
function clientErrorReply(err: NodeJS.ErrnoException, limits: Limits): { status: number; message: string } {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, message: `request headers exceed ${limits.headerBytes} bytes` };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, message: 'request not received in time' };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, message: 'chunk extensions too large' };
    default:
      return { status: 400, message: `malformed HTTP request (${err.code ?? 'parse error'})` };
  }
}

/**
 * Apply the connection-level limits to a node HTTP(S) server: timeouts against slow clients, the connection cap, the
 * header size, and clear JSON errors for requests node's parser refuses before herald sees them.
 */
export function applyServerLimits(
  server: HttpServer | HttpsServer,
  limits: Limits,
  opts: { capConnections?: boolean } = {},
): void {
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  // The unix socket is guarded by file permissions and carries the local admin's many listeners: no cap there.
  if (opts.capConnections !== false) server.maxConnections = limits.maxConnections;
  // Read by node for each new connection's parser, so it holds for servers created before this call too.
  (server as { maxHeaderSize?: number }).maxHeaderSize = limits.headerBytes;
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const { status, message } = clientErrorReply(err, limits);
    const body = JSON.stringify(errorBody(status, message, { code: 'HERALD_ERR_BAD_REQUEST' }));
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Bad Request'}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}

/** A publish holds at most `batchEvents` events: refused before any of them is validated. */
export function assertBatchSize(raw: unknown, limits: Limits = LIMITS): void {
  if (Array.isArray(raw) && raw.length > limits.batchEvents) {
    throw new TooLargeError(`a publish holds at most ${limits.batchEvents} events; this one has ${raw.length}`);
  }
}

type WellFormed = { isWellFormed?: () => boolean };
const LONE_SURROGATE = /\p{Cs}/u;

function checkString(s: string): void {
  if (s.includes('\0')) throw new HeraldError('HERALD_ERR_BAD_REQUEST', 'strings must not contain NUL characters');
  const wf = (s as unknown as WellFormed).isWellFormed;
  if (wf ? !wf.call(s) : LONE_SURROGATE.test(s)) {
    throw new HeraldError('HERALD_ERR_BAD_REQUEST', 'strings must be valid Unicode (unpaired surrogate)');
  }
}

function checkKey(key: string, value: unknown): void {
  checkString(key);
  // The prototype-pollution keys: harmless in JSON.parse's own output, dangerous to any later merge or spread.
  if (
    key === '__proto__' ||
    (key === 'constructor' && value !== null && typeof value === 'object' && 'prototype' in value)
  )
    throw new BadJsonError('Object contains forbidden prototype property');
}

/**
 * Refuse parsed JSON that is valid but hostile: nesting deeper than `jsonDepth` (it would overflow the stack of every
 * later encoder), numbers outside the double range (JSON.parse turns 1e999 into Infinity, which encodes as null),
 * NUL characters and unpaired surrogates in strings or keys (they corrupt C-string and UTF-8 consumers downstream),
 * and prototype-pollution keys. Iterative, so a hostile depth cannot overflow the stack here either.
 */
export function inspectJson(root: unknown, limits: Limits = LIMITS): void {
  const values: unknown[] = [root];
  const depths: number[] = [1];
  while (values.length > 0) {
    const v = values.pop();
    const depth = depths.pop() as number;
    if (typeof v === 'string') checkString(v);
    else if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new HeraldError('HERALD_ERR_BAD_REQUEST', 'number out of range');
    } else if (v !== null && typeof v === 'object') {
      if (depth > limits.jsonDepth) throw new BadJsonError(`nested deeper than ${limits.jsonDepth} levels`);
      if (Array.isArray(v)) {
        for (const x of v) {
          values.push(x);
          depths.push(depth + 1);
        }
      } else {
        for (const k of Object.keys(v)) {
          const child = (v as Record<string, unknown>)[k];
          checkKey(k, child);
          values.push(child);
          depths.push(depth + 1);
        }
      }
    }
  }
}

/** A JSON request body: content type and UTF-8 checked (body.ts), parsed, and inspected against the limits. */
export function parseLimitedJson(body: unknown, contentType: string | undefined, limits: Limits = LIMITS): unknown {
  const text = jsonBodyText(body, contentType);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new BadJsonError(err instanceof RangeError ? 'nested too deeply' : (err as Error).message);
  }
  inspectJson(value, limits);
  return value;
}
