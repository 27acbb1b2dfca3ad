/**
 * @module Enforcement: who may reach which endpoint (LXD's untrusted/trusted split plus admin-only routes), the
 * failed-authentication rate limit, and herald's own security events, all published through the one publish path.
 */

import { type IncomingMessage, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { securityAction } from '../core/catalogue/security.js';
import { ForbiddenError, HeraldError } from '../core/errors.js';
import type { Identity } from '../core/permissions.js';
import type { EventStore, PageRequest, StoredEvent } from '../core/store.js';
import type { IdentityService } from '../service/identities.js';
import { peerHost } from '../service/identities.js';
import type { Logger } from '../service/log.js';
import type { Publisher } from '../service/publisher.js';
import type { FailureRateLimiter } from '../service/rate-limit.js';
import type { AppContext, RouteModule } from './context.js';
import { errorBody, syncBody } from './envelope.js';
import { queryOf } from './query.js';
import { API_EXTENSIONS } from './routes/server.js';

/** What emitting a security event needs: the publish path, and a log for when publishing fails. */
export interface SecurityDeps {
  readonly publisher: Publisher;
  readonly log: Logger;
}

export interface SecurityRequestor {
  readonly username: string;
  readonly protocol: string;
  readonly address: string;
  readonly user_agent: string;
}

/** The request facts a request-scoped security event carries (LXD: `request_path`, raw `?project=`, method). */
export interface SecurityRequest {
  readonly path: string;
  readonly method: string;
  readonly project: string;
  readonly requestor: SecurityRequestor;
}

// Bounds what an attacker-chosen header or URL can put into the log.
const MAX_FIELD = 1024;
const clip = (s: string): string => (s.length > MAX_FIELD ? `${s.slice(0, MAX_FIELD)}…` : s);

export function pathOf(url: string | undefined): string {
  const u = url ?? '/';
  const q = u.indexOf('?');
  return q === -1 ? u : u.slice(0, q);
}

function projectOf(url: string | undefined): string {
  return queryOf(url).get('project') ?? '';
}

/** The request-scoped facts of a security event, from the raw request and the identity it resolved to. */
export function securityRequest(req: IncomingMessage, identity: Identity): SecurityRequest {
  const ua = req.headers['user-agent'];
  return {
    path: clip(pathOf(req.url)),
    method: req.method ?? '',
    project: clip(projectOf(req.url)),
    requestor: {
      username: identity.username,
      protocol: identity.protocol,
      address: identity.address,
      user_agent: clip(typeof ua === 'string' ? ua : ''),
    },
  };
}

/**
 * Publish one security event. Daemon-level events (sys_*) carry no request. Never throws: a failure to record is
 * logged (the server may be shutting down), and the refusal it records still happens.
 */
export async function emitSecurity(
  deps: SecurityDeps,
  name: string,
  opts: { description?: string; request?: SecurityRequest } = {},
): Promise<void> {
  const base = name.split(':')[0] as string;
  const description = opts.description ?? securityAction(base)?.descriptions[0] ?? '';
  const r = opts.request;
  const metadata: Record<string, unknown> = { name, description };
  if (r) {
    metadata.request_path = r.path;
    if (r.project) metadata.project = r.project;
    metadata.request_method = r.method;
    metadata.requestor = r.requestor;
  }
  try {
    await deps.publisher.publishRaw({ type: 'security', project: r?.project ?? '', metadata });
  } catch (err) {
    deps.log.warn('Could not record a security event', { name, err: (err as Error).message });
  }
}

/** A daemon-level event: `sys_startup`, `sys_shutdown`, `sys_monitor_disabled`. */
export function emitSystemEvent(
  deps: SecurityDeps,
  name: 'sys_startup' | 'sys_shutdown' | 'sys_monitor_disabled',
): Promise<void> {
  return emitSecurity(deps, name);
}

/**
 * Record an authorization refusal (`authz_fail:<entitlement>:<entity url>`) and return the 403 to throw. Routes call
 * this wherever an identity is denied, so every denial is audited the same way.
 */
export async function authzFail(
  ctx: Pick<AppContext, 'publisher' | 'log'>,
  req: FastifyRequest,
  entitlement: string,
  url: string,
): Promise<ForbiddenError> {
  await emitSecurity(ctx, `authz_fail:${entitlement}:${url}`, { request: securityRequest(req.raw, req.identity) });
  return new ForbiddenError('Forbidden');
}

/** The entity URL of a project (or of the server, for events of no project), as LXD names entities in authz_fail. */
export function projectUrl(project: string): string {
  return project === '' ? '/1.0' : `/1.0/projects/${project}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Endpoint access

type Access = 'public' | 'trusted' | 'admin';

/** Reachable without credentials, as in LXD: the API root, the server info (untrusted shape), and joining. */
const PUBLIC = new Set(['GET /', 'GET /1.0', 'POST /1.0/certificates']);

/**
 * Reachable by restricted identities: the routes that apply the visibility rules themselves (core/permissions.ts),
 * and their own certificate. Every other route is admin-only, so a route added later is closed until opened here.
 */
const TRUSTED = new Set([
  'GET /1.0/errors',
  'GET /1.0/events',
  'GET /1.0/events/history',
  'POST /1.0/events',
  'GET /1.0/certificates',
  'GET /1.0/certificates/:fingerprint',
  'PUT /1.0/certificates/:fingerprint',
  'PATCH /1.0/certificates/:fingerprint',
  // lxc remote add reads the caller's projects right after joining, restricted or not
  'GET /1.0/projects',
  'GET /1.0/projects/:name',
]);
/** The MAAS API authenticates its own callers (OAuth API keys, which MAAS clients send without a certificate). */
const PUBLIC_PREFIXES = ['/MAAS/'];

export function accessOf(method: string, route: string | undefined): Access | undefined {
  if (route === undefined) return undefined;
  const m = method === 'HEAD' ? 'GET' : method;
  const key = `${m} ${route}`;
  if (PUBLIC.has(key) || PUBLIC_PREFIXES.some((p) => route.startsWith(p))) return 'public';
  if (TRUSTED.has(key)) return 'trusted';
  return 'admin';
}

/** `GET /1.0` as an untrusted caller sees it (lxc reads `auth` to decide whether to send its password). */
export function untrustedServer(): Record<string, unknown> {
  return {
    api_extensions: API_EXTENSIONS,
    api_status: 'stable',
    api_version: '1.0',
    auth: 'untrusted',
    public: false,
    auth_methods: ['tls'],
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Visibility for paged readers

/** Most rows one history request reads looking for events a restricted caller may see. */
const MAX_SCAN_PAGES = 20;

export interface VisiblePage {
  /** newest first, at most `limit` */
  readonly events: StoredEvent[];
  /** set when scanning stopped before the page filled: continue older than this id */
  readonly olderFrom?: number;
  /** set when scanning stopped before the page filled: continue newer than this id */
  readonly newerFrom?: number;
}

/**
 * A keyset page of only the events `visible` accepts. Visibility cannot be pushed into the store's query (it depends
 * on per-project entitlements and on the requestor), so pages are read and filtered until the page fills, the log
 * ends, or a bound on the rows read is reached, in which case the cursor says where to continue.
 */
export async function pageVisible(
  store: EventStore,
  req: PageRequest,
  visible: (e: StoredEvent) => boolean,
): Promise<VisiblePage> {
  const out: StoredEvent[] = [];
  if (req.after !== undefined) {
    // Newer than `after`: the oldest matches first, so scan forwards and return them newest first.
    let cursor = req.after;
    for (let round = 0; round < MAX_SCAN_PAGES; round++) {
      const raw = await store.page({ ...req, before: undefined, after: cursor });
      for (let i = raw.length - 1; i >= 0 && out.length < req.limit; i--) {
        const e = raw[i] as StoredEvent;
        if (visible(e)) out.push(e);
      }
      if (out.length >= req.limit || raw.length < req.limit) return { events: out.reverse() };
      cursor = (raw[0] as StoredEvent).id;
    }
    return { events: out.reverse(), newerFrom: cursor };
  }
  let cursor = req.before;
  for (let round = 0; round < MAX_SCAN_PAGES; round++) {
    const raw = await store.page({ ...req, after: undefined, before: cursor });
    for (const e of raw) {
      if (out.length >= req.limit) break;
      if (visible(e)) out.push(e);
    }
    if (out.length >= req.limit || raw.length < req.limit) return { events: out };
    cursor = (raw[raw.length - 1] as StoredEvent).id;
  }
  return { events: out, olderFrom: cursor };
}

const RATE_LIMIT_EVENT = 'authn_login_fail:rate_limit';

export interface AuthOptions {
  readonly identities: IdentityService;
  readonly limiter: FailureRateLimiter;
  readonly publisher: Publisher;
  readonly log: Logger;
}

/** The trust model at the transport edge: resolves identities, guards endpoints, counts and reports failures. */
export class Auth {
  readonly identities: IdentityService;
  readonly limiter: FailureRateLimiter;
  private readonly deps: SecurityDeps;

  constructor(opts: AuthOptions) {
    this.identities = opts.identities;
    this.limiter = opts.limiter;
    this.deps = { publisher: opts.publisher, log: opts.log };
  }

  /** AppContext.identify */
  readonly identify = (req: IncomingMessage): Identity => this.identities.resolve(req);

  /** Emit a request-scoped security event for this request. */
  event(req: IncomingMessage, identity: Identity, name: string, description?: string): Promise<void> {
    return emitSecurity(this.deps, name, { description, request: securityRequest(req, identity) });
  }

  /**
   * A failed authentication: record it, count it against the address, and when that empties the address's burst,
   * record the lockout too (once per lockout).
   */
  async failure(req: IncomingMessage, identity: Identity, name: string, description?: string): Promise<void> {
    await this.event(req, identity, name, description);
    const host = peerHost(req);
    this.limiter.fail(host);
    if (this.limiter.shouldReport(host)) {
      await this.event(req, identity, RATE_LIMIT_EVENT, 'Too many failed authentications: address rate-limited');
      this.deps.log.warn('Rate-limiting failed authentications', { address: host });
    }
  }

  private rateLimited(req: IncomingMessage): HeraldError {
    const host = peerHost(req);
    return new HeraldError(
      'HERALD_ERR_RATE_LIMITED',
      `too many failed authentications from ${host}; retry in ${this.limiter.retryAfterSeconds(host)}s`,
    );
  }

  /**
   * The decision for one request, shared by the fastify hook and the WebSocket upgrade: the identity when it may go
   * on, or the error to answer with. `access` is the endpoint's class.
   */
  async admit(req: IncomingMessage, identity: Identity, access: Access | undefined): Promise<HeraldError | undefined> {
    if (identity.kind !== 'untrusted') return undefined;
    if (this.limiter.blocked(peerHost(req))) return this.rateLimited(req);
    if (identity.reason === 'token') {
      const description =
        identity.detail === 'unknown' ? 'Unrecognised bearer token subject' : 'Bearer token verification failed';
      await this.failure(req, identity, 'authn_token_reuse', description);
      return new ForbiddenError('not authorized');
    }
    if (access === 'public') return undefined;
    // LXD reports only a certificate that was presented and matched nothing; anonymous callers are just refused.
    if (identity.reason === 'certificate') await this.failure(req, identity, 'authn_login_fail:tls');
    return new ForbiddenError('not authorized');
  }

  /**
   * For upgrade handlers outside fastify (the events WebSocket): the caller's identity, or the HeraldError to answer
   * with before upgrading (403 untrusted, 429 rate-limited), with the same security events as any request.
   */
  async guardUpgrade(req: IncomingMessage): Promise<Identity | HeraldError> {
    const identity = this.identify(req);
    return (await this.admit(req, identity, 'trusted')) ?? identity;
  }

  /** The onRequest hook, registered through buildApp's extra route modules. */
  readonly hook: RouteModule = (app: FastifyInstance, ctx: AppContext): void => {
    app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
      const access = accessOf(req.method, req.routeOptions.url);
      const refused = await this.admit(req.raw, req.identity, access);
      if (refused) {
        if (refused.code === 'HERALD_ERR_RATE_LIMITED') {
          reply.header('retry-after', String(this.limiter.retryAfterSeconds(peerHost(req.raw))));
        }
        throw refused;
      }
      if (req.identity.kind === 'untrusted') {
        if (req.method === 'GET' && req.routeOptions.url === '/1.0') return reply.send(syncBody(untrustedServer()));
        return;
      }
      if (access === 'admin' && req.identity.kind !== 'admin') {
        throw await authzFail(
          ctx,
          req,
          req.method === 'GET' || req.method === 'HEAD' ? 'can_view' : 'can_edit',
          pathOf(req.url),
        );
      }
    });
  };
}

/** An LXD error response written on a raw socket (an upgrade refused before it happens), then the socket closed. */
export function writeUpgradeError(socket: Duplex, err: HeraldError): void {
  const body = JSON.stringify(errorBody(err.status, err.message, { code: err.code }));
  socket.end(
    `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? 'Error'}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * Wrap an `upgrade` listener (the events WebSocket) so that it only sees callers the trust model admits: untrusted
 * or rate-limited callers get their 403/429 (and their security events) before any upgrade.
 */
export function guardUpgrades(
  auth: Auth,
  next: (req: IncomingMessage, socket: Duplex, head: Buffer) => void,
): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    auth.guardUpgrade(req).then(
      (r) => (r instanceof HeraldError ? writeUpgradeError(socket, r) : next(req, socket, head)),
      () => socket.destroy(),
    );
  };
}
