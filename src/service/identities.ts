/**
 * @module Who a caller is: the trust store of client certificates, bearer tokens, the trust password and one-time join
 * tokens (persisted in the store's state table, secrets only as hashes), and the resolver that maps a request to an
 * Identity. Reads are served from memory so that resolving a request never waits on the store.
 */

import { createHash, randomBytes, scrypt, timingSafeEqual, X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { TLSSocket } from 'node:tls';
import { HeraldError, NotFoundError } from '../core/errors.js';
import { certificateFingerprint } from '../core/fingerprint.js';
import {
  ENTITLEMENTS,
  type Entitlement,
  type Grant,
  type Identity,
  identityFromGrant,
  LOCAL_ADMIN,
} from '../core/permissions.js';
import type { EventStore } from '../core/store.js';
import type { Logger } from './log.js';

const KEY = {
  cert: 'trust.cert.',
  join: 'trust.join.',
  password: 'trust.password',
  token: 'auth.token.',
} as const;

/** Go's zero time: what LXD writes as `expires_at` of a join token that never expires. */
export const NEVER = '0001-01-01T00:00:00Z';

export interface TrustedCertificate {
  readonly fingerprint: string;
  readonly name: string;
  readonly type: 'client';
  /** PEM */
  readonly certificate: string;
  readonly grant: Grant;
  readonly added_at: string;
}

export interface TokenRecord {
  readonly id: string;
  readonly name: string;
  /** sha256 hex of the whole token: the token itself is never stored */
  readonly hash: string;
  readonly created_at: string;
  readonly expires_at: string | null;
  readonly revoked_at: string | null;
  readonly grant: Grant;
}

interface JoinRecord {
  readonly name: string;
  /** sha256 hex of the secret */
  readonly hash: string;
  readonly created_at: string;
  readonly expires_at: string | null;
  readonly grant: Grant;
}

interface PasswordRecord {
  readonly algorithm: 'scrypt';
  readonly N: number;
  readonly r: number;
  readonly p: number;
  readonly salt: string;
  readonly hash: string;
}

/** Why a bearer token was refused; `subject` is the token id it claimed (never the secret). */
export type BearerResult =
  | { readonly ok: true; readonly record: TokenRecord }
  | { readonly ok: false; readonly subject: string; readonly detail: string; readonly description: string };

export const TOKEN_PREFIX = 'herald_';
const TOKEN = /^herald_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
export const FINGERPRINT = /^[0-9a-f]{64}$/;
const NAME = /^[^\p{Cc}/\\]{1,128}$/u;
const PROJECT = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 64 } as const;

function sha256(s: string | Buffer): string {
  return createHash('sha256').update(s).digest('hex');
}

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}

function scryptAsync(password: string, salt: Buffer, p: { N: number; r: number; p: number }): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, SCRYPT.keylen, { N: p.N, r: p.r, p: p.p }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

function bad(message: string): HeraldError {
  return new HeraldError('HERALD_ERR_BAD_REQUEST', message);
}

/** A client certificate given as PEM, as base64 DER (what pylxd and `lxc` send) or as raw DER. */
export function parseCertificate(input: string | Buffer): {
  der: Buffer;
  pem: string;
  fingerprint: string;
  commonName: string;
} {
  let der: Buffer;
  if (Buffer.isBuffer(input) && input[0] === 0x30) der = input;
  else {
    const text = Buffer.isBuffer(input) ? input.toString('utf8') : input;
    const pem = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(text);
    const b64 = (pem ? (pem[1] as string) : text).replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw bad('certificate is neither PEM nor base64 DER');
    der = Buffer.from(b64, 'base64');
  }
  let x: X509Certificate;
  try {
    x = new X509Certificate(der);
  } catch {
    throw bad('certificate could not be parsed as X.509');
  }
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(x.subject)?.[1] ?? '';
  return { der: x.raw, pem: x.toString(), fingerprint: sha256(x.raw), commonName: cn };
}

export function validateName(name: string, what: string): string {
  if (!NAME.test(name)) throw bad(`${what} must be 1 to 128 characters without control characters or slashes`);
  return name;
}

/** A grant from API input, validated: projects by LXD's name rules, entitlements from the fixed list. */
export function makeGrant(input: {
  restricted?: boolean;
  projects?: readonly string[] | null;
  entitlements?: readonly string[] | null;
  server_entitlements?: readonly string[] | null;
}): Grant {
  const projects = [...new Set(input.projects ?? [])];
  for (const p of projects) if (!PROJECT.test(p)) throw bad(`"${p}" is not a valid project name`);
  const ents = (list: readonly string[] | null | undefined, fallback: readonly Entitlement[]): Entitlement[] => {
    if (list == null) return [...fallback];
    for (const e of list) {
      if (!(ENTITLEMENTS as readonly string[]).includes(e)) {
        throw bad(`"${e}" is not an entitlement (one of ${ENTITLEMENTS.join(', ')})`);
      }
    }
    return [...new Set(list as Entitlement[])];
  };
  const restricted =
    input.restricted ?? (projects.length > 0 || input.entitlements != null || input.server_entitlements != null);
  if (!restricted) return { restricted: false, projects: [], entitlements: [], server_entitlements: [] };
  return {
    restricted: true,
    projects,
    entitlements: ents(input.entitlements, ENTITLEMENTS),
    server_entitlements: ents(input.server_entitlements, []),
  };
}

function unmapped(ip: string): string {
  return ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}

/** A socket's peer as LXD writes requestor addresses: `host:port`, `[v6]:port`. */
export function peerAddress(req: IncomingMessage): string {
  const host = unmapped(req.socket.remoteAddress ?? '');
  const port = req.socket.remotePort ?? 0;
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The peer's host alone: the key of the failed-authentication rate limit. */
export function peerHost(req: IncomingMessage): string {
  return unmapped(req.socket.remoteAddress ?? '');
}

const fingerprints = new WeakMap<TLSSocket, string | null>();

/** sha256 of the DER of the client certificate the TLS peer presented, or undefined (computed once per connection). */
export function peerFingerprint(socket: unknown): string | undefined {
  if (!(socket instanceof TLSSocket)) return undefined;
  let fp = fingerprints.get(socket);
  if (fp === undefined) {
    const raw = socket.getPeerCertificate(false)?.raw;
    fp = raw && raw.length > 0 ? certificateFingerprint(raw) : null;
    fingerprints.set(socket, fp);
  }
  return fp ?? undefined;
}

/** The DER of the peer's certificate (for trusting it at POST /1.0/certificates). */
export function peerCertificateDer(socket: unknown): Buffer | undefined {
  if (!(socket instanceof TLSSocket)) return undefined;
  const raw = socket.getPeerCertificate(false)?.raw;
  return raw && raw.length > 0 ? raw : undefined;
}

export interface IdentityServiceOptions {
  readonly now?: () => number;
  readonly log?: Logger;
}

export class IdentityService {
  private readonly certs = new Map<string, TrustedCertificate>();
  private readonly tokensById = new Map<string, TokenRecord>();
  private readonly joins = new Map<string, JoinRecord>();
  private password: PasswordRecord | undefined;
  private server: { fingerprint: string; addresses: readonly string[] } = { fingerprint: '', addresses: [] };
  private readonly now: () => number;

  constructor(
    private readonly store: EventStore,
    private readonly opts: IdentityServiceOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
  }

  /** Read everything once at start; afterwards this service is the only writer of these keys. */
  async load(): Promise<void> {
    const parse = <T>(key: string, value: string): T | undefined => {
      try {
        return JSON.parse(value) as T;
      } catch {
        this.opts.log?.warn('Ignoring a corrupt trust record', { key });
        return undefined;
      }
    };
    for (const [k, v] of await this.store.listState(KEY.cert)) {
      const c = parse<TrustedCertificate>(k, v);
      if (c) this.certs.set(c.fingerprint, c);
    }
    for (const [k, v] of await this.store.listState(KEY.token)) {
      const t = parse<TokenRecord>(k, v);
      if (t) this.tokensById.set(t.id, t);
    }
    for (const [k, v] of await this.store.listState(KEY.join)) {
      const j = parse<JoinRecord>(k, v);
      if (j) this.joins.set(j.hash, j);
    }
    const pw = await this.store.getState(KEY.password);
    this.password = pw ? parse<PasswordRecord>(KEY.password, pw) : undefined;
  }

  /** The server certificate's fingerprint and its HTTPS addresses: what a join token carries. */
  setServer(fingerprint: string, addresses: readonly string[]): void {
    this.server = { fingerprint, addresses };
  }

  private iso(ms = this.now()): string {
    return new Date(ms).toISOString();
  }

  private expired(expiresAt: string | null): boolean {
    return expiresAt !== null && expiresAt !== NEVER && Date.parse(expiresAt) <= this.now();
  }

  // -- resolution -------------------------------------------------------------------------------------------------

  /**
   * Who sent this request. Anything not on a TLS socket came over the local unix socket: the local admin. On TLS a
   * bearer token, when present, decides (a bad one is never rescued by a certificate); otherwise the certificate.
   */
  resolve(req: IncomingMessage): Identity {
    const socket = req.socket;
    if (!(socket instanceof TLSSocket)) return LOCAL_ADMIN;
    const address = peerAddress(req);
    const authz = req.headers.authorization;
    if (typeof authz === 'string' && /^bearer\s/i.test(authz)) {
      const r = this.checkBearer(authz.slice(7).trim());
      if (r.ok) return identityFromGrant(r.record.grant, r.record.id, 'bearer', address);
      return { kind: 'untrusted', reason: 'token', username: r.subject, protocol: 'bearer', address, detail: r.detail };
    }
    const fp = peerFingerprint(socket);
    const cert = fp ? this.certs.get(fp) : undefined;
    if (fp && cert) return identityFromGrant(cert.grant, fp, 'tls', address);
    return {
      kind: 'untrusted',
      reason: fp ? 'certificate' : 'anonymous',
      username: fp ?? '',
      protocol: 'tls',
      address,
    };
  }

  checkBearer(token: string): BearerResult {
    const m = TOKEN.exec(token);
    const failed = 'Bearer token verification failed';
    if (!m) return { ok: false, subject: '', detail: 'malformed', description: failed };
    const id = m[1] as string;
    const record = this.tokensById.get(id);
    if (!record) return { ok: false, subject: id, detail: 'unknown', description: 'Unrecognised bearer token subject' };
    if (!sameHex(record.hash, sha256(token)))
      return { ok: false, subject: id, detail: 'mismatch', description: failed };
    if (record.revoked_at) return { ok: false, subject: id, detail: 'revoked', description: failed };
    if (this.expired(record.expires_at)) return { ok: false, subject: id, detail: 'expired', description: failed };
    return { ok: true, record };
  }

  // -- trust store ------------------------------------------------------------------------------------------------

  certificates(): TrustedCertificate[] {
    return [...this.certs.values()].sort((a, b) => a.added_at.localeCompare(b.added_at));
  }

  isTrusted(fingerprint: string): boolean {
    return this.certs.has(fingerprint);
  }

  /** A certificate by fingerprint or unique prefix (as `lxc config trust` accepts). */
  certificate(fpOrPrefix: string): TrustedCertificate {
    const exact = this.certs.get(fpOrPrefix);
    if (exact) return exact;
    const found = [...this.certs.values()].filter((c) => c.fingerprint.startsWith(fpOrPrefix));
    if (found.length > 1) throw bad(`fingerprint prefix "${fpOrPrefix}" matches ${found.length} certificates`);
    if (!found[0]) throw new NotFoundError('Certificate');
    return found[0];
  }

  async addCertificate(input: {
    certificate: string | Buffer;
    name: string;
    grant: Grant;
  }): Promise<TrustedCertificate> {
    const parsed = parseCertificate(input.certificate);
    if (this.certs.has(parsed.fingerprint)) throw bad('Certificate already in trust store');
    const rec: TrustedCertificate = {
      fingerprint: parsed.fingerprint,
      name: validateName(input.name, 'certificate name'),
      type: 'client',
      certificate: parsed.pem,
      grant: input.grant,
      added_at: this.iso(),
    };
    await this.store.setState(KEY.cert + rec.fingerprint, JSON.stringify(rec));
    this.certs.set(rec.fingerprint, rec);
    return rec;
  }

  /** Change name, grant or the certificate itself (the entry then moves to the new fingerprint). */
  async updateCertificate(
    fingerprint: string,
    patch: { name?: string; grant?: Grant; certificate?: string },
  ): Promise<{ before: TrustedCertificate; after: TrustedCertificate }> {
    const before = this.certificate(fingerprint);
    let next: TrustedCertificate = {
      ...before,
      name: patch.name === undefined ? before.name : validateName(patch.name, 'certificate name'),
      grant: patch.grant ?? before.grant,
    };
    if (patch.certificate !== undefined) {
      const parsed = parseCertificate(patch.certificate);
      if (parsed.fingerprint !== before.fingerprint && this.certs.has(parsed.fingerprint)) {
        throw bad('Certificate already in trust store');
      }
      next = { ...next, fingerprint: parsed.fingerprint, certificate: parsed.pem };
    }
    await this.store.setState(KEY.cert + next.fingerprint, JSON.stringify(next));
    if (next.fingerprint !== before.fingerprint) {
      await this.store.setState(KEY.cert + before.fingerprint, undefined);
      this.certs.delete(before.fingerprint);
    }
    this.certs.set(next.fingerprint, next);
    return { before, after: next };
  }

  async removeCertificate(fingerprint: string): Promise<TrustedCertificate> {
    const rec = this.certificate(fingerprint);
    await this.store.setState(KEY.cert + rec.fingerprint, undefined);
    this.certs.delete(rec.fingerprint);
    return rec;
  }

  // -- trust password ---------------------------------------------------------------------------------------------

  hasTrustPassword(): boolean {
    return this.password !== undefined;
  }

  /** Set (or with '' / undefined, remove) the trust password; only a salted scrypt hash is kept. */
  async setTrustPassword(password: string | undefined): Promise<void> {
    if (!password) {
      await this.store.setState(KEY.password, undefined);
      this.password = undefined;
      return;
    }
    const salt = randomBytes(16);
    const hash = await scryptAsync(password, salt, SCRYPT);
    const rec: PasswordRecord = {
      algorithm: 'scrypt',
      N: SCRYPT.N,
      r: SCRYPT.r,
      p: SCRYPT.p,
      salt: salt.toString('base64'),
      hash: hash.toString('base64'),
    };
    await this.store.setState(KEY.password, JSON.stringify(rec));
    this.password = rec;
  }

  async checkTrustPassword(password: string): Promise<boolean> {
    const rec = this.password;
    if (!rec || !password) return false;
    const hash = await scryptAsync(password, Buffer.from(rec.salt, 'base64'), rec);
    const want = Buffer.from(rec.hash, 'base64');
    return hash.length === want.length && timingSafeEqual(hash, want);
  }

  // -- join tokens (LXD's `lxc config trust add` tokens) ------------------------------------------------------------

  /** A one-time token in LXD's format: base64 of JSON {client_name, fingerprint, addresses, secret, expires_at}. */
  async createJoinToken(input: { name: string; grant: Grant; expiresAt?: number }): Promise<{
    token: string;
    secret: string;
    expires_at: string;
    fingerprint: string;
    addresses: readonly string[];
  }> {
    if (this.server.addresses.length === 0 || !this.server.fingerprint) {
      throw bad('no HTTPS address to put in a join token: start herald with --listen HOST:PORT');
    }
    const name = validateName(input.name, 'client name');
    const secret = randomBytes(32).toString('hex');
    const expires_at = input.expiresAt === undefined ? NEVER : this.iso(input.expiresAt);
    const rec: JoinRecord = {
      name,
      hash: sha256(secret),
      created_at: this.iso(),
      expires_at: input.expiresAt === undefined ? null : expires_at,
      grant: input.grant,
    };
    await this.store.setState(KEY.join + rec.hash, JSON.stringify(rec));
    this.joins.set(rec.hash, rec);
    const payload = {
      client_name: name,
      fingerprint: this.server.fingerprint,
      addresses: this.server.addresses,
      secret,
      expires_at,
    };
    return {
      token: Buffer.from(JSON.stringify(payload)).toString('base64'),
      secret,
      expires_at,
      fingerprint: this.server.fingerprint,
      addresses: this.server.addresses,
    };
  }

  /** Redeem a join token (the whole base64 token, as lxc sends it in `password`): one use, then it is gone. */
  async redeemJoinToken(token: string): Promise<{ name: string; grant: Grant } | undefined> {
    let secret: unknown;
    try {
      if (token.length > 4096 || !/^[A-Za-z0-9+/=_-]+$/.test(token)) return undefined;
      secret = (JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { secret?: unknown })?.secret;
    } catch {
      return undefined;
    }
    if (typeof secret !== 'string' || secret === '') return undefined;
    const hash = sha256(secret);
    const rec = this.joins.get(hash);
    if (!rec) return undefined;
    this.joins.delete(hash);
    await this.store.setState(KEY.join + hash, undefined);
    if (this.expired(rec.expires_at)) return undefined;
    return { name: rec.name, grant: rec.grant };
  }

  pendingJoinTokens(): Array<{ name: string; created_at: string; expires_at: string | null }> {
    return [...this.joins.values()]
      .filter((j) => !this.expired(j.expires_at))
      .map((j) => ({ name: j.name, created_at: j.created_at, expires_at: j.expires_at }));
  }

  // -- bearer tokens ----------------------------------------------------------------------------------------------

  tokens(): TokenRecord[] {
    return [...this.tokensById.values()].sort((a, b) => a.created_at.localeCompare(b.created_at));
  }

  async createToken(input: { name: string; grant: Grant; expiresAt?: number }): Promise<{
    record: TokenRecord;
    token: string;
  }> {
    const name = validateName(input.name, 'token name');
    let id = randomBytes(8).toString('hex');
    while (this.tokensById.has(id)) id = randomBytes(8).toString('hex');
    const token = `${TOKEN_PREFIX}${id}_${randomBytes(32).toString('base64url')}`;
    const record: TokenRecord = {
      id,
      name,
      hash: sha256(token),
      created_at: this.iso(),
      expires_at: input.expiresAt === undefined ? null : this.iso(input.expiresAt),
      revoked_at: null,
      grant: input.grant,
    };
    await this.store.setState(KEY.token + id, JSON.stringify(record));
    this.tokensById.set(id, record);
    return { record, token };
  }

  /** A token by id, or by name when exactly one active token has it. */
  token(idOrName: string): TokenRecord {
    const byId = this.tokensById.get(idOrName);
    if (byId) return byId;
    const named = [...this.tokensById.values()].filter((t) => t.name === idOrName && !t.revoked_at);
    if (named.length > 1) throw bad(`${named.length} active tokens are named "${idOrName}": give the id`);
    if (!named[0]) throw new NotFoundError('Token');
    return named[0];
  }

  /** Revoke: the record stays (marked) so that a later use is reported as the reuse of a revoked token. */
  async revokeToken(idOrName: string): Promise<TokenRecord> {
    const rec = this.token(idOrName);
    if (rec.revoked_at) throw bad(`token ${rec.id} is already revoked`);
    const next: TokenRecord = { ...rec, revoked_at: this.iso() };
    await this.store.setState(KEY.token + rec.id, JSON.stringify(next));
    this.tokensById.set(rec.id, next);
    return next;
  }

  tokenStatus(t: TokenRecord): 'active' | 'expired' | 'revoked' {
    if (t.revoked_at) return 'revoked';
    return this.expired(t.expires_at) ? 'expired' : 'active';
  }
}
