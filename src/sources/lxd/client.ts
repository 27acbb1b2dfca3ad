/**
 * @module A small client for an LXD server's API, as `lxc` talks to it: over its unix socket, or over HTTPS with a
 * client certificate and the server certificate pinned (LXD's certificates are self-signed, so no CA can vouch).
 */

import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { type PeerCertificate, connect as tlsConnect } from 'node:tls';
import { WebSocket } from 'ws';
import { certificateFingerprint, pemFingerprint } from '../../core/fingerprint.js';
import { VERSION } from '../../version.js';

/** Where an LXD server listens: its unix socket, or an HTTPS address (port 8443 unless given, as lxc). */
export type LxdEndpoint =
  | { readonly kind: 'unix'; readonly socketPath: string }
  | { readonly kind: 'https'; readonly host: string; readonly port: number };

/** `unix:///path`, `unix:/path`, `/path` or `https://host[:port]`; anything else is refused with the reason. */
export function parseLxdUrl(url: string): LxdEndpoint {
  const u = url.trim();
  if (u.startsWith('/')) return { kind: 'unix', socketPath: u };
  if (u.startsWith('unix:')) {
    const path = u.replace(/^unix:(\/\/)?/, '');
    if (!path.startsWith('/')) throw new Error(`"${url}": a unix socket URL needs an absolute path (unix:///path)`);
    return { kind: 'unix', socketPath: decodeURIComponent(path) };
  }
  let parsed: URL;
  try {
    parsed = new URL(u);
  } catch {
    throw new Error(`"${url}" is neither https://HOST[:PORT] nor a unix socket (unix:///path)`);
  }
  if (parsed.protocol !== 'https:') {
    throw new Error(`"${url}": LXD is reached over https:// or its unix socket (unix:///path), not ${parsed.protocol}`);
  }
  if (parsed.pathname !== '/' && parsed.pathname !== '') throw new Error(`"${url}": give the server address only`);
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  return { kind: 'https', host, port: parsed.port ? Number(parsed.port) : 8443 };
}

export function formatLxdUrl(e: LxdEndpoint): string {
  if (e.kind === 'unix') return `unix://${e.socketPath}`;
  return `https://${isIP(e.host) === 6 ? `[${e.host}]` : e.host}:${e.port}`;
}

export interface LxdCredentials {
  /** PEM client certificate and key (HTTPS only) */
  readonly cert?: string;
  readonly key?: string;
  /** the pinned server certificate (PEM); HTTPS refuses any other */
  readonly serverCert?: string;
}

export interface LxdResponse {
  readonly status: number;
  readonly body: { type?: string; error?: string; metadata?: unknown } | undefined;
  readonly text: string;
}

/** An HTTP-level failure talking to LXD, with LXD's own error text when it sent one. */
export class LxdError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

const USER_AGENT = `herald/${VERSION} (LXD source)`;
const REQUEST_TIMEOUT_MS = 10_000;

/** TLS options that accept exactly the pinned certificate, whatever name or address it was reached by. */
function pinnedTls(creds: LxdCredentials): Record<string, unknown> {
  if (!creds.serverCert) throw new LxdError('the LXD server certificate is not pinned');
  const want = pemFingerprint(creds.serverCert);
  return {
    cert: creds.cert,
    key: creds.key,
    // The pinned certificate is the only trust anchor; the fingerprint check below makes the match exact (lxc checks
    // the name too, but a pinned self-signed certificate already identifies the server).
    ca: creds.serverCert,
    checkServerIdentity: (_host: string, peer: PeerCertificate) => {
      const got = certificateFingerprint(peer.raw);
      return got === want
        ? undefined
        : new Error(`LXD server certificate changed: expected fingerprint ${want}, got ${got}`);
    },
    minVersion: 'TLSv1.2',
  };
}

/** The certificate an HTTPS LXD server presents (what `lxc remote add --accept-certificate` pins). */
export function fetchServerCertificate(host: string, port: number, timeoutMs = REQUEST_TIMEOUT_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      host,
      port,
      rejectUnauthorized: false,
      servername: isIP(host) ? undefined : host,
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new LxdError(`no TLS handshake with ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const peer = socket.getPeerCertificate();
      socket.end();
      if (!peer?.raw) return reject(new LxdError(`${host}:${port} presented no certificate`));
      const b64 = peer.raw.toString('base64').replace(/.{64}/g, '$&\n');
      resolve(`-----BEGIN CERTIFICATE-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END CERTIFICATE-----\n`);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(new LxdError(`cannot reach ${host}:${port}: ${err.message}`));
    });
  });
}

/** One API request to LXD; resolves with LXD's envelope whatever the status, rejects only when LXD cannot be reached. */
export function lxdRequest(
  endpoint: LxdEndpoint,
  creds: LxdCredentials,
  method: string,
  path: string,
  body?: unknown,
): Promise<LxdResponse> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string> = { 'user-agent': USER_AGENT };
  if (payload !== undefined) headers['content-type'] = 'application/json';
  return new Promise((resolve, reject) => {
    const onResponse = (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: LxdResponse['body'];
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        resolve({ status: res.statusCode ?? 0, body: parsed, text });
      });
      res.on('error', reject);
    };
    const req =
      endpoint.kind === 'unix'
        ? httpRequest(
            { socketPath: endpoint.socketPath, method, path, headers: { ...headers, host: 'lxd' } },
            onResponse,
          )
        : httpsRequest(
            { host: endpoint.host, port: endpoint.port, method, path, headers, agent: false, ...pinnedTls(creds) },
            onResponse,
          );
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', (err) => reject(new LxdError(`cannot reach ${formatLxdUrl(endpoint)}: ${err.message}`)));
    req.end(payload);
  });
}

/** What herald reads from LXD's `GET /1.0` before subscribing. */
export interface LxdServerInfo {
  readonly auth: string;
  readonly server: string;
  readonly serverName: string;
  readonly serverVersion: string;
  readonly certificateFingerprint: string;
  readonly unixSocket: string;
  readonly apiExtensions: readonly string[];
}

export async function getServerInfo(endpoint: LxdEndpoint, creds: LxdCredentials): Promise<LxdServerInfo> {
  const res = await lxdRequest(endpoint, creds, 'GET', '/1.0');
  if (res.body?.type !== 'sync' || typeof res.body.metadata !== 'object' || res.body.metadata === null) {
    throw new LxdError(
      `GET /1.0 did not answer as LXD does (HTTP ${res.status}${res.body?.error ? `: ${res.body.error}` : ''})`,
      res.status,
    );
  }
  const m = res.body.metadata as Record<string, unknown>;
  const env = (m.environment ?? {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  return {
    auth: str(m.auth),
    server: str(env.server),
    serverName: str(env.server_name),
    serverVersion: str(env.server_version),
    certificateFingerprint: str(env.certificate_fingerprint),
    unixSocket: str(env.unix_socket),
    apiExtensions: Array.isArray(m.api_extensions) ? (m.api_extensions as string[]) : [],
  };
}

/**
 * Join an LXD server's trust store with its trust password or a join token (lxc sends either in `password`), the
 * client certificate being taken from the TLS connection, as `lxc remote add` does.
 */
export async function joinLxd(endpoint: LxdEndpoint, creds: LxdCredentials, secret: string): Promise<void> {
  const res = await lxdRequest(endpoint, creds, 'POST', '/1.0/certificates', {
    type: 'client',
    certificate: '',
    password: secret,
  });
  if (res.body?.type === 'error' || res.status >= 400 || res.body === undefined) {
    throw new LxdError(res.body?.error || `HTTP ${res.status}`, res.status);
  }
}

/** Open `GET /1.0/events` on the server as a websocket client (not yet connected: listen for `open`). */
export function openEvents(endpoint: LxdEndpoint, creds: LxdCredentials, query: string): WebSocket {
  const path = `/1.0/events${query}`;
  const common = {
    headers: { 'user-agent': USER_AGENT },
    handshakeTimeout: REQUEST_TIMEOUT_MS,
    perMessageDeflate: false,
    // LXD events are small; herald refuses anything over its event limit anyway.
    maxPayload: 4 * 1024 * 1024,
  };
  if (endpoint.kind === 'unix') return new WebSocket(`ws+unix://${endpoint.socketPath}:${path}`, common);
  const host = isIP(endpoint.host) === 6 ? `[${endpoint.host}]` : endpoint.host;
  return new WebSocket(`wss://${host}:${endpoint.port}${path}`, { ...common, ...pinnedTls(creds) });
}
