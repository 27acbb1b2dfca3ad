/** @module Security test support: a herald with an HTTPS listener, client certificates, and an HTTPS client. */
import { request } from 'node:https';
import { connect, type TLSSocket } from 'node:tls';
import type { HeraldOptions } from '../../src/runtime/herald.js';
import { createSelfSignedCertificate, type KeyAndCertificate } from '../../src/runtime/tls-listener.js';
import { startTestHerald, type TestHerald } from '../support/herald.js';

export interface SecureHerald extends TestHerald {
  /** `127.0.0.1:<port>` of the HTTPS listener */
  readonly address: string;
  readonly host: string;
  readonly port: number;
  /** the server certificate (PEM), pinned by clients as lxc does */
  readonly ca: string;
}

/** A herald on a temp dir with an HTTPS listener on a free port of 127.0.0.1. */
export async function startSecureHerald(extra: Partial<HeraldOptions> = {}, dir?: string): Promise<SecureHerald> {
  const t = await startTestHerald({ https: ['127.0.0.1:0'], ...extra }, dir);
  const address = t.herald.httpsAddresses[0] as string;
  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  return { ...t, address, host: '127.0.0.1', port, ca: t.herald.serverCertificate?.cert as string };
}

/** A client certificate as `lxc` generates one (ECDSA P-384, EKU clientAuth). */
export function clientCert(name = 'client'): KeyAndCertificate {
  return createSelfSignedCertificate({ commonName: `root@${name}`, dnsNames: [name], usage: 'client' });
}

export interface Res {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  // biome-ignore lint/suspicious/noExplicitAny: test responses are inspected loosely
  readonly body: any;
}

export interface CallOptions {
  readonly cert?: KeyAndCertificate;
  readonly token?: string;
  readonly headers?: Record<string, string>;
  /** a raw body (string or bytes) instead of JSON */
  readonly raw?: string | Buffer;
}

/** One HTTPS request on a fresh connection (as lxc: Connection: close), verifying the pinned server certificate. */
export function call(t: SecureHerald, method: string, path: string, body?: unknown, o: CallOptions = {}): Promise<Res> {
  const payload = o.raw ?? (body === undefined ? undefined : JSON.stringify(body));
  const headers: Record<string, string> = { connection: 'close', 'user-agent': 'herald-test/1', ...o.headers };
  if (payload !== undefined && !o.headers?.['content-type'] && o.raw === undefined) {
    headers['content-type'] = 'application/json';
  }
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: t.host,
        port: t.port,
        method,
        path,
        headers,
        ca: t.ca,
        cert: o.cert?.cert,
        key: o.cert?.key,
        agent: false,
        minVersion: 'TLSv1.3',
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body: parsed });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** A raw TLS connection (for malformed HTTP), verified against the pinned certificate. */
export function rawTls(t: SecureHerald, cert?: KeyAndCertificate): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: t.host, port: t.port, ca: t.ca, cert: cert?.cert, key: cert?.key }, () => resolve(s));
    s.on('error', reject);
  });
}

/** Everything a raw connection receives until the server closes it (or the timeout). */
export function readAll(s: TLSSocket, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    const timer = setTimeout(() => {
      s.destroy();
      resolve(out);
    }, timeoutMs);
    s.on('data', (c: Buffer) => {
      out += c.toString('utf8');
    });
    s.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    s.on('error', () => {});
  });
}

export interface SecurityEvent {
  id: number;
  type: 'security';
  project?: string;
  metadata: {
    name: string;
    level: string;
    description: string;
    request_path?: string;
    project?: string;
    request_method?: string;
    requestor?: { username: string; protocol: string; address: string; user_agent: string };
  };
}

/** Security events (oldest first) whose name starts with `prefix`, read as the local admin over the unix socket. */
export async function securityEvents(t: TestHerald, prefix = ''): Promise<SecurityEvent[]> {
  const page = await t.client.call<{ events: SecurityEvent[] }>('GET', '/1.0/events/history?type=security&limit=1000');
  return page.events.filter((e) => e.metadata.name.startsWith(prefix)).reverse();
}

/** Trust a certificate through the admin's unix socket; returns its fingerprint. */
export async function trust(
  t: TestHerald,
  cert: KeyAndCertificate,
  grant: Record<string, unknown> = {},
): Promise<string> {
  await t.client.call('POST', '/1.0/certificates', { type: 'client', certificate: cert.cert, name: 'c', ...grant });
  return cert.fingerprint;
}
