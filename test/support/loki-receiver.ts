/**
 * @module Test support: a Loki push receiver on 127.0.0.1 that enforces Loki's documented rules (label names, at most
 * 15 labels, non-decreasing time per stream, line size, deduplication of identical entries), takes JSON and gzip
 * bodies, and can be told to fail (refuse connections, answer 500 or 429, hang). Run directly, it serves a parent
 * process over IPC (the benchmark runs it that way so that it does not share a CPU with herald).
 */
import { createHash, type Hash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { gunzip as gunzipCb } from 'node:zlib';

const gunzip = promisify(gunzipCb);

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TIMESTAMP = /^\d{1,19}$/;

/**
 * `refuse`: connections are refused; a status (`500`, `429`, `401` ...): every request gets that status; `hang`: requests get no answer until
 * recovery, when their connections drop; `lose-answer`: the push is ingested but the connection drops before the
 * answer (the client cannot know it was accepted, so it sends it again).
 */
export type FailureMode = 'refuse' | 'hang' | 'lose-answer' | `${number}`;

export interface LokiReceiverOptions {
  /** Loki's `max_line_size` (default 256 KiB) */
  readonly maxLineBytes?: number;
  /** Loki's `max_label_names_per_series` (default 15) */
  readonly maxLabels?: number;
  /** keep only counts, digests and a hash per entry, not the entries themselves (for millions of entries) */
  readonly lean?: boolean;
  readonly port?: number;
}

export interface ReceivedEntry {
  readonly labels: Readonly<Record<string, string>>;
  /** the canonical stream key: label pairs sorted by name */
  readonly stream: string;
  readonly ts: string;
  readonly line: string;
}

export interface ReceiverStats {
  requests: number;
  pushes: number;
  accepted: number;
  duplicates: number;
  rejectedEntries: number;
  rejectedRequests: number;
  failedRequests: number;
  bodyBytes: number;
}

interface StreamState {
  last: bigint;
  count: number;
  /** ts -> identities of the lines accepted at that ts */
  seen: Map<string, Set<string>>;
  digest: Hash;
}

/** Sorted `{k="v", ...}`, as Loki prints a stream. */
export function streamString(labels: Readonly<Record<string, string>>): string {
  return `{${Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(', ')}}`;
}

function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return `${s.length}:${(h >>> 0).toString(36)}`;
}

export class LokiReceiver {
  readonly entries: ReceivedEntry[] = [];
  readonly stats: ReceiverStats = {
    requests: 0,
    pushes: 0,
    accepted: 0,
    duplicates: 0,
    rejectedEntries: 0,
    rejectedRequests: 0,
    failedRequests: 0,
    bodyBytes: 0,
  };
  /** every request's headers, newest last (auth, tenant and encoding checks) */
  readonly requestHeaders: Array<IncomingMessage['headers']> = [];
  private readonly streams = new Map<string, StreamState>();
  private readonly sockets = new Set<Socket>();
  private readonly hanging = new Set<ServerResponse>();
  private mode: FailureMode | undefined;
  private recoverTimer: NodeJS.Timeout | undefined;
  private rejectRule: ((line: string, labels: Readonly<Record<string, string>>) => string | undefined) | undefined;
  private waiters: Array<{ check: () => boolean; resolve: () => void }> = [];
  private port = 0;
  private readonly server: Server;

  private constructor(private readonly options: LokiReceiverOptions) {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 30_000;
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  static async start(options: LokiReceiverOptions = {}): Promise<LokiReceiver> {
    const r = new LokiReceiver(options);
    await r.listen(options.port ?? 0);
    return r;
  }

  /** Base URL to configure as `loki.api.url`. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Fail every request in this way until `recover()` (or for `forMs`). */
  fail(mode: FailureMode, forMs?: number): void {
    if (this.recoverTimer) clearTimeout(this.recoverTimer);
    this.mode = mode;
    if (mode === 'refuse') {
      this.server.close();
      for (const s of this.sockets) s.destroy();
    }
    if (forMs !== undefined) this.recoverTimer = setTimeout(() => void this.recover(), forMs);
  }

  async recover(): Promise<void> {
    if (this.recoverTimer) clearTimeout(this.recoverTimer);
    this.recoverTimer = undefined;
    const was = this.mode;
    this.mode = undefined;
    // Hung requests end as a dropped connection, which is how a client sees a Loki that hung and then restarted.
    for (const res of this.hanging) res.socket?.destroy();
    this.hanging.clear();
    if (was === 'refuse') await this.listen(this.port);
  }

  get failing(): FailureMode | undefined {
    return this.mode;
  }

  /** Reject (400, like a validation error) every entry whose line the rule names a reason for. */
  rejectLines(
    rule: ((line: string, labels: Readonly<Record<string, string>>) => string | undefined) | undefined,
  ): void {
    this.rejectRule = rule;
  }

  /** Per stream: entries accepted and a digest over their (ts, line) in arrival order. */
  digests(): Map<string, { count: number; digest: string; last: string }> {
    const out = new Map<string, { count: number; digest: string; last: string }>();
    for (const [k, s] of this.streams) {
      out.set(k, { count: s.count, digest: s.digest.copy().digest('hex'), last: String(s.last) });
    }
    return out;
  }

  /** Resolves when `check` holds (checked after every push), or rejects after `timeoutMs`. */
  waitFor(check: () => boolean, timeoutMs = 10_000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const w = {
        check,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`receiver: condition not met within ${timeoutMs}ms (accepted ${this.stats.accepted})`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  async close(): Promise<void> {
    if (this.recoverTimer) clearTimeout(this.recoverTimer);
    for (const res of this.hanging) res.socket?.destroy();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        this.port = (this.server.address() as { port: number }).port;
        resolve();
      });
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.stats.requests++;
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const path = (req.url ?? '').split('?')[0];
    if (this.mode === 'hang') {
      this.stats.failedRequests++;
      this.hanging.add(res);
      return;
    }
    if (this.mode !== undefined && /^\d+$/.test(this.mode)) {
      this.stats.failedRequests++;
      res.writeHead(Number(this.mode), { 'content-type': 'text/plain' }).end(`injected failure ${this.mode}\n`);
      return;
    }
    if (req.method === 'GET' && path === '/ready') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ready\n');
      return;
    }
    if (req.method !== 'POST' || path !== '/loki/api/v1/push') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found\n');
      return;
    }
    this.requestHeaders.push(req.headers);
    if (this.requestHeaders.length > 100) this.requestHeaders.shift();
    this.stats.bodyBytes += body.length;
    const type = req.headers['content-type'] ?? '';
    if (!/^application\/json/i.test(type)) {
      return this.answer(res, 415, `unsupported content type "${type}" (this receiver takes JSON)`);
    }
    let text: string;
    try {
      const raw = req.headers['content-encoding'] === 'gzip' ? await gunzip(body) : body;
      text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
    } catch (err) {
      return this.answer(res, 400, `cannot read body: ${(err as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      return this.answer(res, 400, `body is not valid JSON: ${(err as Error).message}`);
    }
    const errors = this.ingest(parsed);
    this.stats.pushes++;
    for (const w of [...this.waiters]) {
      if (w.check()) {
        this.waiters = this.waiters.filter((x) => x !== w);
        w.resolve();
      }
    }
    if (this.mode === 'lose-answer') {
      this.stats.failedRequests++;
      res.socket?.destroy();
      return;
    }
    if (errors.length > 0) {
      this.stats.rejectedRequests++;
      return this.answer(res, 400, errors.slice(0, 10).join('\n'));
    }
    res.writeHead(204).end();
  }

  private answer(res: ServerResponse, status: number, message: string): void {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(`${message}\n`);
  }

  /** Apply Loki's rules to a push; valid entries are kept even when others fail (Loki answers 400 for those). */
  private ingest(body: unknown): string[] {
    const errors: string[] = [];
    const streams = (body as { streams?: unknown })?.streams;
    if (!Array.isArray(streams)) return ['body has no "streams" array'];
    const maxLabels = this.options.maxLabels ?? 15;
    const maxLine = this.options.maxLineBytes ?? 256 * 1024;
    for (const s of streams) {
      const labels = (s as { stream?: unknown })?.stream;
      const values = (s as { values?: unknown })?.values;
      if (labels === null || typeof labels !== 'object' || Array.isArray(labels) || !Array.isArray(values)) {
        errors.push('stream must have a "stream" object and a "values" array');
        continue;
      }
      const l = labels as Record<string, unknown>;
      const names = Object.keys(l);
      const bad =
        names.length === 0
          ? 'error at least one label pair is required per stream'
          : names.length > maxLabels
            ? `entry for stream '${streamString(l as Record<string, string>)}' has ${names.length} label names; limit ${maxLabels}`
            : (names
                .map((n) =>
                  !LABEL_NAME.test(n)
                    ? `invalid label name "${n}"`
                    : typeof l[n] !== 'string'
                      ? `label "${n}" value must be a string`
                      : undefined,
                )
                .find((x) => x !== undefined) ?? undefined);
      if (bad) {
        errors.push(bad);
        this.stats.rejectedEntries += values.length;
        continue;
      }
      const key = streamString(l as Record<string, string>);
      let st = this.streams.get(key);
      for (const v of values) {
        if (!Array.isArray(v) || typeof v[0] !== 'string' || typeof v[1] !== 'string' || !TIMESTAMP.test(v[0])) {
          errors.push(`stream '${key}': entry must be ["<unix ns>", "<line>"]`);
          this.stats.rejectedEntries++;
          continue;
        }
        const ts = v[0];
        const line = v[1];
        if (Buffer.byteLength(line) > maxLine) {
          errors.push(`stream '${key}': line too long (${Buffer.byteLength(line)} bytes, limit ${maxLine})`);
          this.stats.rejectedEntries++;
          continue;
        }
        const rule = this.rejectRule?.(line, l as Record<string, string>);
        if (rule) {
          errors.push(`stream '${key}': ${rule}`);
          this.stats.rejectedEntries++;
          continue;
        }
        const n = BigInt(ts);
        const id = this.options.lean ? fnv1a(line) : line;
        if (st?.seen.get(ts)?.has(id)) {
          // Loki drops an entry identical to one it holds (same stream, timestamp and line) without an error.
          this.stats.duplicates++;
          continue;
        }
        if (st && n < st.last) {
          errors.push(`entry with timestamp ${ts} ignored, reason: 'entry out of order' for stream: ${key}`);
          this.stats.rejectedEntries++;
          continue;
        }
        if (!st) {
          st = { last: n, count: 0, seen: new Map(), digest: createHash('sha1') };
          this.streams.set(key, st);
        }
        st.last = n;
        st.count++;
        let set = st.seen.get(ts);
        if (!set) {
          set = new Set();
          st.seen.set(ts, set);
        }
        set.add(id);
        st.digest.update(`${ts}\u0000${line}\n`);
        this.stats.accepted++;
        if (!this.options.lean) this.entries.push({ labels: l as Record<string, string>, stream: key, ts, line });
      }
    }
    return errors;
  }
}

type Command =
  | { cmd: 'fail'; mode: FailureMode; forMs?: number }
  | { cmd: 'recover' }
  | { cmd: 'stats' }
  | { cmd: 'digests' }
  | { cmd: 'close' };

// Run as a child process: announce the URL, then answer the parent's commands.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href && process.send) {
  const r = await LokiReceiver.start({ lean: process.argv.includes('--lean') });
  process.send({ url: r.url });
  process.on('message', async (m: Command & { seq: number }) => {
    let reply: unknown = null;
    if (m.cmd === 'fail') r.fail(m.mode, m.forMs);
    else if (m.cmd === 'recover') await r.recover();
    else if (m.cmd === 'stats') reply = r.stats;
    else if (m.cmd === 'digests') reply = [...r.digests()];
    else if (m.cmd === 'close') {
      await r.close();
      process.send?.({ seq: m.seq, reply: null });
      process.disconnect();
      return;
    }
    process.send?.({ seq: m.seq, reply });
  });
}
