/** @module The CLI's HTTP client: talks to a herald server over its unix socket (LXD envelope in and out). */
import { request } from 'node:http';
import { paths } from '../runtime/paths.js';

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

export interface Client {
  readonly socketPath: string;
  raw(method: string, path: string, body?: string, headers?: Record<string, string>): Promise<RawResponse>;
  /** A JSON call that returns the envelope's metadata, or throws the server's error as one clear line. */
  call<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
}

export function unixClient(dir: string): Client {
  const socketPath = paths(dir).unixSocket;
  const raw = (method: string, path: string, body?: string, headers: Record<string, string> = {}) =>
    new Promise<RawResponse>((resolve, reject) => {
      // No agent: a kept-alive socket from before a server restart would fail the first request with EPIPE.
      const req = request(
        { socketPath, method, path, agent: false, headers: { host: 'herald', ...headers } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
          reject(
            new CliError(
              `cannot reach herald at ${socketPath} (is \`herald serve\` running? set --data or HERALD_DIR)`,
            ),
          );
        } else reject(new CliError(`cannot reach herald at ${socketPath}: ${err.message}`));
      });
      if (body !== undefined) req.end(body);
      else req.end();
    });
  return {
    socketPath,
    raw,
    async call<T>(method: string, path: string, body?: unknown): Promise<T> {
      const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      const res = await raw(method, path, payload, payload === undefined ? {} : { 'content-type': 'application/json' });
      let parsed: { type?: string; error?: string; metadata?: unknown };
      try {
        parsed = JSON.parse(res.body);
      } catch {
        throw new CliError(`unexpected response from herald (HTTP ${res.status}): ${res.body.slice(0, 200)}`);
      }
      if (parsed.type === 'error' || res.status >= 400) throw new CliError(parsed.error ?? `HTTP ${res.status}`);
      return parsed.metadata as T;
    },
  };
}
