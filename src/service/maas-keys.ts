/**
 * @module MAAS API keys (spec maas-events.md §5): `consumer:token:secret` keys created and revoked by herald, stored
 * as a hash of the secret, and OAuth 1.0 PLAINTEXT request verification with MAAS's (piston's) checks, order and
 * error texts.
 */
import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import { HeraldError } from '../core/errors.js';
import { MaasApiError, parsePyInt, pyRepr } from '../core/maas-view.js';
import type { EventStore } from '../core/store.js';

export const MAAS_KEY_STATE_PREFIX = 'maas.key.';
/** piston's `OAuthServer.timestamp_threshold`: only timestamps this far in the past are refused (not future ones). */
export const TIMESTAMP_THRESHOLD_S = 300;

const NECESSARY = [
  'oauth_consumer_key',
  'oauth_token',
  'oauth_signature',
  'oauth_signature_method',
  'oauth_timestamp',
  'oauth_nonce',
] as const;

// piston's key alphabet (Django's make_random_password): no look-alike characters.
const ALPHABET = 'abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const KEY_SIZE = 18;
const SECRET_SIZE = 32;
/** Django's username rule, which MAAS usernames follow. */
const USERNAME = /^[\w.@+-]{1,150}$/;

export interface MaasKeyRecord {
  readonly consumer_key: string;
  readonly token_key: string;
  /** hex sha256 of the token secret: the secret itself is shown once, at creation, and never stored */
  readonly secret_sha256: string;
  readonly username: string;
  readonly created_at: string;
}

export type MaasKeyInfo = Omit<MaasKeyRecord, 'secret_sha256'>;

export type MaasAuthResult =
  /** the request carries no OAuth credentials at all */
  | { readonly kind: 'none' }
  | { readonly kind: 'ok'; readonly username: string; readonly consumerKey: string }
  | { readonly kind: 'error'; readonly error: MaasApiError };

export interface MaasAuthRequest {
  readonly authorization?: string;
  readonly query: URLSearchParams;
  /** a POST's form fields, when it sent any */
  readonly form?: URLSearchParams;
  readonly nowMs: number;
}

function randomString(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHABET[randomInt(ALPHABET.length)];
  return s;
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Python's `urllib.parse.unquote`: %XX sequences decoded as UTF-8 (bad bytes become U+FFFD), stray `%` kept. */
export function pyUnquote(s: string): string {
  if (!s.includes('%')) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; ) {
    if (s[i] === '%' && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(s.slice(i + 1, i + 3), 16));
      i += 3;
    } else {
      const cp = s.codePointAt(i) as number;
      const ch = String.fromCodePoint(cp);
      bytes.push(...Buffer.from(ch, 'utf8'));
      i += ch.length;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

type ParamIssue = 'missing' | 'unexpected type';

function problems(get: (key: string) => string | undefined): Map<string, ParamIssue> {
  const out = new Map<string, ParamIssue>();
  for (const p of NECESSARY) {
    const v = get(p);
    if (v === undefined) out.set(p, 'missing');
    else if (p === 'oauth_timestamp' && parsePyInt(v) === undefined) out.set(p, 'unexpected type');
  }
  return out;
}

/** MAAS's `parse_auth_params`: null unless the header starts with `OAuth`; values lose quotes, not escapes. */
function parseAuthParams(header: string): Map<string, string> | null {
  let h = header.trim();
  if (!h.startsWith('OAuth')) return null;
  // Python's lstrip("OAuth") strips any of those letters, not the word.
  h = h.replace(/^[OAuth]+/, '').trim();
  const out = new Map<string, string>();
  for (const part of h.split(',')) {
    const p = part.trim();
    const eq = p.indexOf('=');
    if (eq === -1) continue;
    out.set(
      p.slice(0, eq).trim(),
      p
        .slice(eq + 1)
        .trim()
        .replace(/^"+|"+$/g, ''),
    );
  }
  return out;
}

function last(params: URLSearchParams | undefined, key: string): string | undefined {
  if (!params) return undefined;
  const all = params.getAll(key);
  return all.length > 0 ? all[all.length - 1] : undefined;
}

/** The message MAAS's `RequestValidityReport.generate_error_message` builds for a type problem. */
function validityMessage(
  auth: Map<string, ParamIssue>,
  authMissing: boolean,
  get: Map<string, ParamIssue>,
  post: Map<string, ParamIssue>,
): string {
  const listed = (m: Map<string, ParamIssue>) =>
    [...m].map(([k, v]) => `${k} ${v === 'missing' ? 'is missing' : 'has an unexpected type'}`).join(', ');
  const attempted = (m: Map<string, ParamIssue>) =>
    [...m.values()].filter((v) => v === 'missing').length < NECESSARY.length;
  const parts: string[] = [];
  if (authMissing) parts.push("missing starting 'OAuth' from 'Authentication' header");
  else if (attempted(auth)) parts.push(`the following problems were found among the auth params: ${listed(auth)}`);
  // MAAS labels the POST report "query params" too.
  if (attempted(get)) parts.push(`the following problems were found among the query params: ${listed(get)}`);
  if (attempted(post)) parts.push(`the following problems were found among the query params: ${listed(post)}`);
  return parts.join('; ');
}

/** 401 through piston's `send_oauth_error`: Django's default content type and the OAuth challenge header. */
function unauthorized(message: string): MaasApiError {
  const body =
    message === 'Invalid consumer.'
      ? 'Authorization Error: Invalid API key.'
      : `Authorization Error: ${pyRepr(message)}`;
  return new MaasApiError(401, body, 'text/html; charset=utf-8', { 'WWW-Authenticate': 'OAuth realm="OAuth"' });
}

function badRequest(message: string): MaasApiError {
  return new MaasApiError(400, pyRepr(`Bad Request: ${message}`));
}

/** piston's `rc.FORBIDDEN`: despite the name, a 401. */
export function forbidden(): MaasApiError {
  return new MaasApiError(401, 'Forbidden', 'text/plain');
}

class ParamError extends Error {}

const YEAR_S = 366n * 86_400n;

/**
 * When a nonce may be forgotten: once its timestamp is past the threshold. piston accepts future timestamps, so a
 * future one is remembered until it too has aged out (capped at a year, beyond which the cache bound takes over).
 */
function nonceExpiry(timestampS: bigint, nowMs: number): number {
  const nowS = BigInt(Math.floor(nowMs / 1000));
  const ts = timestampS > nowS + YEAR_S ? nowS + YEAR_S : timestampS;
  return Math.max(nowMs, Number(ts) * 1000) + TIMESTAMP_THRESHOLD_S * 1000;
}

/**
 * Nonces of signed requests per (consumer, token), remembered until their timestamp can no longer pass the threshold.
 * Bounded: past the cap the entries closest to expiry go first, which only matters to a key holder flooding its own.
 */
class NonceCache {
  private readonly seen = new Map<string, number>();
  constructor(private readonly cap: number) {}

  used(key: string, nowMs: number): boolean {
    const prev = this.seen.get(key);
    return prev !== undefined && prev > nowMs;
  }

  add(key: string, expiresMs: number, nowMs: number): void {
    if (this.seen.size >= this.cap) this.sweep(nowMs);
    this.seen.set(key, expiresMs);
  }

  private sweep(nowMs: number): void {
    for (const [k, exp] of this.seen) if (exp <= nowMs) this.seen.delete(k);
    if (this.seen.size < this.cap) return;
    const byExpiry = [...this.seen].sort((a, b) => a[1] - b[1]);
    for (const [k] of byExpiry.slice(0, this.seen.size - Math.floor(this.cap * 0.9))) this.seen.delete(k);
  }
}

export interface MaasKeysOptions {
  /** most nonces remembered at once */
  readonly nonceCapacity?: number;
}

export class MaasKeys {
  private readonly nonces: NonceCache;

  constructor(
    private readonly store: EventStore,
    opts: MaasKeysOptions = {},
  ) {
    this.nonces = new NonceCache(opts.nonceCapacity ?? 100_000);
  }

  /** Create a key for a user; the returned `key` (`consumer:token:secret`) is the only time the secret is seen. */
  async create(username: string, nowMs = Date.now()): Promise<{ key: string; record: MaasKeyInfo }> {
    if (!USERNAME.test(username)) {
      throw new HeraldError(
        'HERALD_ERR_BAD_REQUEST',
        `"${username}" is not a valid username (letters, digits and @.+-_, at most 150 characters)`,
      );
    }
    const consumer = randomString(KEY_SIZE);
    const token = randomString(KEY_SIZE);
    const secret = randomString(SECRET_SIZE);
    const record: MaasKeyRecord = {
      consumer_key: consumer,
      token_key: token,
      secret_sha256: sha256(secret).toString('hex'),
      username,
      created_at: new Date(nowMs).toISOString(),
    };
    await this.store.setState(MAAS_KEY_STATE_PREFIX + consumer, JSON.stringify(record));
    const { secret_sha256: _, ...info } = record;
    return { key: `${consumer}:${token}:${secret}`, record: info };
  }

  async list(): Promise<MaasKeyInfo[]> {
    const rows = await this.store.listState(MAAS_KEY_STATE_PREFIX);
    return rows
      .map(([, v]) => {
        const { secret_sha256: _, ...info } = JSON.parse(v) as MaasKeyRecord;
        return info;
      })
      .sort((a, b) => a.created_at.localeCompare(b.created_at) || a.consumer_key.localeCompare(b.consumer_key));
  }

  /** Revoke by consumer key or by the whole API key; false when there is no such key. */
  async revoke(keyOrConsumer: string): Promise<boolean> {
    const consumer = keyOrConsumer.split(':')[0] ?? '';
    if (!consumer || (await this.lookup(consumer)) === undefined) return false;
    await this.store.setState(MAAS_KEY_STATE_PREFIX + consumer, undefined);
    return true;
  }

  private async lookup(consumer: string): Promise<MaasKeyRecord | undefined> {
    const v = await this.store.getState(MAAS_KEY_STATE_PREFIX + consumer);
    return v === undefined ? undefined : (JSON.parse(v) as MaasKeyRecord);
  }

  /**
   * Check a request's OAuth credentials as MAAS does: first which of the header, query and form carry a usable set of
   * the six parameters (none: 401 `Forbidden`, or 400 when the timestamp is not an integer), then piston's
   * `verify_request` on the merged parameters: version, consumer, token, timestamp, nonce, signature method, signature.
   */
  async authenticate(req: MaasAuthRequest): Promise<MaasAuthResult> {
    const header = req.authorization ?? '';
    const authParams = parseAuthParams(header);
    const anyGiven = authParams !== null || NECESSARY.some((p) => req.query.has(p) || (req.form?.has(p) ?? false));
    if (!anyGiven) return { kind: 'none' };

    const authProblems = authParams === null ? new Map<string, ParamIssue>() : problems((k) => authParams.get(k));
    const getProblems = problems((k) => last(req.query, k));
    const postProblems = problems((k) => last(req.form, k));
    const authInvalid = authParams === null || authProblems.size > 0;
    if (authInvalid && getProblems.size > 0 && postProblems.size > 0) {
      const all = [...authProblems.values(), ...getProblems.values(), ...postProblems.values()];
      if (all.includes('unexpected type')) {
        return {
          kind: 'error',
          error: badRequest(validityMessage(authProblems, authParams === null, getProblems, postProblems)),
        };
      }
      return { kind: 'error', error: forbidden() };
    }

    try {
      const params = this.merged(header, req.query, req.form);
      return await this.verify(params, req.nowMs);
    } catch (err) {
      if (err instanceof MaasApiError) return { kind: 'error', error: err };
      throw err;
    }
  }

  /** piston's `OAuthRequest.from_request`: form fields, then the header, then the query string (blanks dropped). */
  private merged(header: string, query: URLSearchParams, form: URLSearchParams | undefined): Map<string, string> {
    const out = new Map<string, string>();
    if (form) for (const [k, v] of form) out.set(k, v);
    if (header.startsWith('OAuth ')) {
      for (const raw of header.slice(6).split(',')) {
        // piston skips any part that mentions a realm, even inside a value.
        if (raw.includes('realm')) continue;
        const p = raw.trim();
        const eq = p.indexOf('=');
        if (eq === -1) throw unauthorized('Unable to parse OAuth parameters from Authorization header.');
        out.set(p.slice(0, eq), pyUnquote(p.slice(eq + 1).replace(/^"+|"+$/g, '')));
      }
    }
    const firsts = new Map<string, string>();
    for (const [k, v] of query) if (v !== '' && !firsts.has(k)) firsts.set(k, v);
    // parse_qs has already decoded the value once; piston unquotes it again.
    for (const [k, v] of firsts) out.set(k, pyUnquote(v));
    return out;
  }

  private async verify(params: Map<string, string>, nowMs: number): Promise<MaasAuthResult> {
    const need = (key: string): string => {
      const v = params.get(key);
      if (v === undefined) throw new ParamError(key);
      return v;
    };
    try {
      const version = params.get('oauth_version');
      if (version && version !== '1.0') throw unauthorized(`OAuth version ${version} not supported.`);
      const consumer = need('oauth_consumer_key');
      const record = await this.lookup(consumer);
      if (!record) throw unauthorized('Invalid consumer.');
      const token = need('oauth_token');
      // piston looks the token up alone; herald also insists it belongs to the consumer presented with it.
      if (record.token_key !== token) throw unauthorized(`Invalid access token: ${token}`);
      const timestampRaw = need('oauth_timestamp');
      const nonce = need('oauth_nonce');
      const timestamp = parsePyInt(timestampRaw);
      if (timestamp === undefined) {
        // Only reachable when the merged value differs from the one validated; Python's int() raises, a 500.
        throw new MaasApiError(500, `invalid literal for int() with base 10: ${pyRepr(timestampRaw)}`);
      }
      const nowS = BigInt(Math.floor(nowMs / 1000));
      if (nowS - timestamp > BigInt(TIMESTAMP_THRESHOLD_S)) {
        throw unauthorized(
          `Expired timestamp: given ${timestamp} and now ${nowS} has a greater difference than threshold ${TIMESTAMP_THRESHOLD_S}`,
        );
      }
      // A reused nonce is reported before a bad signature, as piston does, but only a signed request spends one, so
      // knowing a key's public half is not enough to fill the cache or burn its owner's nonces.
      const nonceKey = `${consumer}\0${token}\0${nonce}`;
      if (this.nonces.used(nonceKey, nowMs)) throw unauthorized(`Nonce already used: ${nonce}`);
      const method = params.get('oauth_signature_method') ?? 'PLAINTEXT';
      // HMAC-SHA1 needs the secret itself, which herald does not keep.
      if (method !== 'PLAINTEXT') {
        throw unauthorized(`Signature method ${method} not supported try one of the following: PLAINTEXT`);
      }
      const signature = params.get('oauth_signature');
      if (signature === undefined) throw unauthorized('Missing signature.');
      // PLAINTEXT: escape(consumer secret, "") + "&" + escape(token secret); herald's secrets need no escaping.
      const ok =
        signature.startsWith('&') &&
        timingSafeEqual(sha256(signature.slice(1)), Buffer.from(record.secret_sha256, 'hex'));
      // MAAS's message would go on to print the expected signature, i.e. the secret: herald does not.
      if (!ok) throw unauthorized('Invalid signature.');
      this.nonces.add(nonceKey, nonceExpiry(timestamp, nowMs), nowMs);
      return { kind: 'ok', username: record.username, consumerKey: consumer };
    } catch (err) {
      if (err instanceof ParamError) throw badRequest(`Parameter not found: ${err.message}`);
      throw err;
    }
  }
}
