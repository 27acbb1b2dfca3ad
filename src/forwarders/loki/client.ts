/** @module The HTTP side of a Loki target: `POST /loki/api/v1/push` (gzip JSON) and `GET /ready`, each with a timeout. */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { promisify } from 'node:util';
import { gzip as gzipCb, constants as zlibConstants } from 'node:zlib';

const gzip = promisify(gzipCb);

/** Loki's error bodies are read up to this many bytes (LXD reads 1024). */
const MAX_ERROR_BODY = 1024;

export interface LokiClientOptions {
  /** base URL without the push path */
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
  readonly bearerToken?: string;
  readonly tenant?: string;
  /** PEM CA certificate for an https Loki */
  readonly caCert?: string;
  readonly timeoutMs: number;
  /** gzip the body (default true) */
  readonly gzip?: boolean;
}

export interface LokiResponse {
  readonly status: number;
  /** the start of the body (for error messages) */
  readonly body: string;
}

/** A push that got no HTTP answer: refused, reset, timed out or aborted. */
export class LokiNetworkError extends Error {
  constructor(
    message: string,
    readonly aborted = false,
  ) {
    super(message);
  }
}

export class LokiClient {
  private readonly base: URL;
  private readonly agent: HttpAgent | HttpsAgent;
  private readonly headers: Record<string, string>;

  constructor(readonly options: LokiClientOptions) {
    this.base = new URL(options.url);
    const https = this.base.protocol === 'https:';
    // Keep-alive: a catch-up sends hundreds of requests a second to one Loki.
    this.agent = https
      ? new HttpsAgent({ keepAlive: true, maxSockets: 4, ...(options.caCert ? { ca: options.caCert } : {}) })
      : new HttpAgent({ keepAlive: true, maxSockets: 4 });
    const h: Record<string, string> = { 'user-agent': 'herald' };
    if (options.bearerToken) h.authorization = `Bearer ${options.bearerToken}`;
    else if (options.username && options.password) {
      // LXD sends basic auth only when both are set.
      h.authorization = `Basic ${Buffer.from(`${options.username}:${options.password}`).toString('base64')}`;
    }
    if (options.tenant) h['x-scope-orgid'] = options.tenant;
    this.headers = h;
  }

  /** Compress a push body once, so that retries and split halves do not pay for it again. */
  async encode(json: string): Promise<{ body: Buffer; gzip: boolean }> {
    if (this.options.gzip === false) return { body: Buffer.from(json), gzip: false };
    // One output chunk for the whole body: zlib then runs on the thread pool in one go instead of needing an event
    // loop turn per 16 KiB, which a busy loop (a backlog being read) would hand out slowly.
    const chunkSize = Math.max(64 * 1024, Buffer.byteLength(json) + 1024);
    return { body: await gzip(json, { level: zlibConstants.Z_BEST_SPEED, chunkSize }), gzip: true };
  }

  /** POST a push body. Resolves with Loki's answer, rejects with LokiNetworkError when there was none. */
  push(encoded: { body: Buffer; gzip: boolean }, signal?: AbortSignal): Promise<LokiResponse> {
    const headers: Record<string, string> = {
      ...this.headers,
      'content-type': 'application/json',
      'content-length': String(encoded.body.length),
    };
    if (encoded.gzip) headers['content-encoding'] = 'gzip';
    return this.send('POST', '/loki/api/v1/push', headers, encoded.body, signal);
  }

  /** LXD's readiness check: `GET <url>/ready`. */
  ready(signal?: AbortSignal): Promise<LokiResponse> {
    return this.send('GET', '/ready', { ...this.headers }, undefined, signal);
  }

  close(): void {
    this.agent.destroy();
  }

  private send(
    method: string,
    path: string,
    headers: Record<string, string>,
    body: Buffer | undefined,
    signal?: AbortSignal,
  ): Promise<LokiResponse> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(new LokiNetworkError('aborted', true));
      const u = this.base;
      const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)({
        protocol: u.protocol,
        hostname: u.hostname.replace(/^\[|\]$/g, ''),
        port: u.port || undefined,
        path: `${u.pathname.replace(/\/$/, '')}${path}`,
        method,
        headers,
        agent: this.agent,
      });
      let done = false;
      const finish = (err: Error | undefined, res?: LokiResponse): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(res as LokiResponse);
      };
      // One deadline for the whole exchange: connecting, sending, and reading the answer.
      const timer = setTimeout(() => {
        finish(new LokiNetworkError(`no answer within ${this.options.timeoutMs}ms`));
        req.destroy();
      }, this.options.timeoutMs);
      const onAbort = (): void => {
        finish(new LokiNetworkError('aborted', true));
        req.destroy();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', (err: NodeJS.ErrnoException) => finish(new LokiNetworkError(err.code ?? err.message)));
      req.on('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < MAX_ERROR_BODY) chunks.push(c);
          size += c.length;
        });
        res.on('end', () =>
          finish(undefined, {
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).subarray(0, MAX_ERROR_BODY).toString('utf8').trim(),
          }),
        );
        res.on('error', (err) => finish(new LokiNetworkError(err.message)));
      });
      req.end(body);
    });
  }
}
