/**
 * @module The HTTPS listener (what `lxc` 5.0.2 requires: TLS 1.3, a SAN certificate, an optional uncertified client
 * certificate) and the server's own ECDSA P-384 certificate, built with node:crypto alone so a fresh machine needs no
 * openssl and no X.509 package.
 */

import { createPrivateKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { isIP } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { certificateFingerprint } from '../core/fingerprint.js';
import { applyServerLimits, type Limits } from '../server/limits.js';

// ---------------------------------------------------------------------------------------------------------------
// A minimal DER writer: just the types an X.509 v3 certificate needs.

function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), len(body.length), body]);
}

const seq = (...c: Buffer[]): Buffer => tlv(0x30, ...c);
const set = (...c: Buffer[]): Buffer => tlv(0x31, ...c);
const octets = (b: Buffer): Buffer => tlv(0x04, b);
const bits = (b: Buffer, unused = 0): Buffer => tlv(0x03, Buffer.from([unused]), b);
const utf8 = (s: string): Buffer => tlv(0x0c, Buffer.from(s, 'utf8'));

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const out: number[] = [(parts[0] ?? 0) * 40 + (parts[1] ?? 0)];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

function positiveInteger(b: Buffer): Buffer {
  // DER integers are signed: a leading 1 bit would make the serial negative, so prefix a zero byte.
  return tlv(0x02, (b[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
}

function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  // RFC 5280: UTCTime through 2049, GeneralizedTime from 2050.
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${iso}Z`));
}

function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  // Expand '::' then write eight 16-bit groups.
  const [head = '', tail] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  for (const [i, g] of groups.entries()) out.writeUInt16BE(Number.parseInt(g || '0', 16), i * 2);
  return out;
}

const OID = {
  ecdsaSha384: '1.2.840.10045.4.3.3',
  organization: '2.5.4.10',
  commonName: '2.5.4.3',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
};

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [tlv(0x01, Buffer.from([0xff]))] : []), octets(value));
}

export interface CertificateRequest {
  readonly commonName: string;
  readonly organization?: string;
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  /** serverAuth for herald's own certificate, clientAuth for client certificates (as `lxc` generates them) */
  readonly usage: 'server' | 'client';
  readonly days?: number;
  /** validity start; defaults to a minute ago so clocks slightly behind still accept it */
  readonly notBefore?: Date;
}

export interface KeyAndCertificate {
  /** PKCS#8 PEM */
  readonly key: string;
  readonly cert: string;
  /** sha256 of the certificate's DER, lower-case hex: LXD's fingerprint */
  readonly fingerprint: string;
}

/**
 * A self-signed ECDSA P-384 certificate shaped like LXD's own (`O=linuxcontainers.org`, SANs, EKU, CA:false). Go's
 * verifier (used by `lxc`, which pins the certificate as a root) rejects CN-only certificates, so SANs are required.
 */
export function createSelfSignedCertificate(req: CertificateRequest): KeyAndCertificate {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const notBefore = req.notBefore ?? new Date(Date.now() - 60_000);
  const notAfter = new Date(notBefore.getTime() + (req.days ?? 3650) * 86_400_000);
  const name = seq(
    set(seq(oid(OID.organization), utf8(req.organization ?? 'linuxcontainers.org'))),
    set(seq(oid(OID.commonName), utf8(req.commonName))),
  );
  const sans = [
    ...(req.dnsNames ?? []).map((d) => tlv(0x82, Buffer.from(d, 'ascii'))),
    ...(req.ipAddresses ?? []).map((ip) => tlv(0x87, ipBytes(ip))),
  ];
  const serial = randomBytes(16);
  // Positive and minimally encoded (Go rejects a DER integer with a redundant leading zero).
  serial[0] = ((serial[0] as number) & 0x7f) | 0x01;
  const algorithm = seq(oid(OID.ecdsaSha384));
  const extensions = [
    extension(OID.basicConstraints, true, seq()),
    // digitalSignature (bit 0) + keyEncipherment (bit 2), as Go's LXD certificates carry.
    extension(OID.keyUsage, true, bits(Buffer.from([0xa0]), 5)),
    extension(OID.extKeyUsage, false, seq(oid(req.usage === 'server' ? OID.serverAuth : OID.clientAuth))),
    ...(sans.length > 0 ? [extension(OID.subjectAltName, false, seq(...sans))] : []),
  ];
  const tbs = seq(
    tlv(0xa0, positiveInteger(Buffer.from([2]))),
    positiveInteger(serial),
    algorithm,
    name,
    seq(time(notBefore), time(notAfter)),
    name,
    spki,
    tlv(0xa3, seq(...extensions)),
  );
  const signature = sign('sha384', tbs, privateKey);
  const der = seq(tbs, algorithm, bits(signature));
  return {
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    cert: derToPem(der),
    fingerprint: certificateFingerprint(der),
  };
}

export function derToPem(der: Buffer): string {
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END CERTIFICATE-----\n`;
}

// ---------------------------------------------------------------------------------------------------------------
// Listen addresses

export const DEFAULT_HTTPS_PORT = 8443;

export interface ListenAddress {
  /** '' = every interface */
  readonly host: string;
  readonly port: number;
}

/** `HOST:PORT`, `HOST`, `:PORT`, `[v6]:PORT` or `[v6]`; the port defaults to 8443 as LXD's. */
export function parseListenAddress(value: string): ListenAddress {
  const v = value.trim();
  let host: string;
  let port: string | undefined;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(v);
  if (bracket) {
    host = bracket[1] as string;
    port = bracket[2];
  } else if (isIP(v) === 6) {
    host = v;
  } else {
    const i = v.lastIndexOf(':');
    host = i === -1 ? v : v.slice(0, i);
    port = i === -1 ? undefined : v.slice(i + 1);
  }
  const n = port === undefined || port === '' ? DEFAULT_HTTPS_PORT : Number(port);
  if (!Number.isInteger(n) || n < 0 || n > 65535 || (port !== undefined && !/^\d+$/.test(port))) {
    throw new Error(`invalid listen address "${value}": the port must be a number from 0 to 65535`);
  }
  if (host !== '' && isIP(host) === 0 && !/^[A-Za-z0-9.-]+$/.test(host)) {
    throw new Error(`invalid listen address "${value}": "${host}" is neither an IP address nor a host name`);
  }
  return { host, port: n };
}

export function formatHostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

const WILDCARDS = new Set(['', '0.0.0.0', '::', '[::]']);

/** The concrete addresses behind a listen address: a wildcard stands for every interface address. */
export function concreteAddresses(host: string, port: number): string[] {
  if (!WILDCARDS.has(host)) return [formatHostPort(host, port)];
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (host === '0.0.0.0' && a.family !== 'IPv4') continue;
      // Link-local v6 addresses need a zone to be dialled; leave them out as LXD does.
      if (a.family === 'IPv6' && a.address.startsWith('fe80')) continue;
      out.push(formatHostPort(a.address, port));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Server certificate on disk and the listener

export interface ServerCertificate extends KeyAndCertificate {
  readonly certPath: string;
  readonly keyPath: string;
  /** false when loaded from an earlier start */
  readonly created: boolean;
}

/**
 * Load `server.crt`/`server.key` from the data directory, creating them on first start. The key is owner-only (0600)
 * even when it already existed; an existing certificate is kept (clients pinned it), whatever the listen addresses.
 */
export function ensureServerCertificate(dir: string, listen: readonly ListenAddress[]): ServerCertificate {
  const certPath = join(dir, 'server.crt');
  const keyPath = join(dir, 'server.key');
  if (existsSync(certPath) && existsSync(keyPath)) {
    chmodSync(keyPath, 0o600);
    const cert = readFileSync(certPath, 'utf8');
    const key = readFileSync(keyPath, 'utf8');
    createPrivateKey(key); // fail at start, with the path, rather than at the first handshake
    const der = pemToDer(cert);
    if (!der) throw new Error(`${certPath} does not hold a PEM certificate`);
    return { cert, key, fingerprint: certificateFingerprint(der), certPath, keyPath, created: false };
  }
  const host = hostname();
  const ips = new Set(['127.0.0.1', '::1']);
  const dns = new Set([host, 'localhost']);
  for (const l of listen) {
    if (WILDCARDS.has(l.host)) {
      for (const a of concreteAddresses(l.host, l.port)) ips.add(parseListenAddress(a).host);
    } else if (isIP(l.host)) ips.add(l.host);
    else dns.add(l.host);
  }
  const made = createSelfSignedCertificate({
    commonName: `root@${host}`,
    dnsNames: [...dns],
    ipAddresses: [...ips],
    usage: 'server',
  });
  writeFileSync(keyPath, made.key, { mode: 0o600 });
  chmodSync(keyPath, 0o600);
  writeFileSync(certPath, made.cert, { mode: 0o644 });
  return { ...made, certPath, keyPath, created: true };
}

export function pemToDer(pem: string): Buffer | undefined {
  const m = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(pem);
  return m ? Buffer.from((m[1] as string).replace(/\s+/g, ''), 'base64') : undefined;
}

export interface HttpsListenerOptions {
  readonly address: ListenAddress;
  readonly key: string;
  readonly cert: string;
  /** TLS 1.2 is refused unless enabled (lxc itself only speaks 1.3 unless LXD_INSECURE_TLS is set) */
  readonly allowTls12?: boolean;
  readonly limits: Limits;
}

/**
 * Start one HTTPS listener. The client certificate is requested but never CA-verified: trust is decided per request
 * by its fingerprint (the identity resolver), exactly as LXD does, so a self-signed `lxc` client certificate works.
 */
export async function listenHttps(
  opts: HttpsListenerOptions,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<Server> {
  const server = createServer(
    {
      key: opts.key,
      cert: opts.cert,
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: opts.allowTls12 ? 'TLSv1.2' : 'TLSv1.3',
      maxHeaderSize: opts.limits.headerBytes,
      handshakeTimeout: opts.limits.tlsHandshakeTimeoutMs,
      connectionsCheckingInterval: opts.limits.connectionsCheckingIntervalMs,
      headersTimeout: opts.limits.headersTimeoutMs,
      requestTimeout: opts.limits.requestTimeoutMs,
    },
    handler,
  );
  applyServerLimits(server, opts.limits);
  // A failed handshake (plain HTTP on the TLS port, a scanner) is the client's problem, not a server error.
  server.on('tlsClientError', (_err, socket: TLSSocket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: opts.address.host || undefined, port: opts.address.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

/** The address a listener is bound to, as `host:port` (resolves port 0 to the port chosen). */
export function boundAddress(server: Server): string {
  const a = server.address();
  if (a === null || typeof a === 'string') return String(a);
  return formatHostPort(a.address, a.port);
}
