/**
 * @module A lean HTTP/1.1 load generator for the ingest benchmark: keep-alive connections over the unix socket, each
 * with one POST in flight, written as prebuilt bytes and answered by reading only the status line and Content-Length.
 * node's http client spent ~90 µs of this 2-core machine per request, which the server under test then lacked; like
 * wrk, this one stays out of the measurement's way. Every response must be 200, or the run fails.
 */
import { connect, type Socket } from 'node:net';

const HEADER_END = Buffer.from('\r\n\r\n');

/** The request bytes of a JSON POST, built once per body. */
export function postRequest(path: string, body: string): Buffer {
  const payload = Buffer.from(body);
  const head =
    `POST ${path} HTTP/1.1\r\nHost: herald\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${payload.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head), payload]);
}

/** One keep-alive connection: send a request, resolve its status once the whole response has arrived. */
class Connection {
  private readonly socket: Socket;
  private buffered: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (status: number) => void; reject: (err: Error) => void } | undefined;

  constructor(socketPath: string) {
    this.socket = connect(socketPath);
    this.socket.on('data', (chunk: Buffer) => this.receive(chunk));
    this.socket.on('error', (err) => this.fail(err));
    this.socket.on('close', () => this.fail(new Error('connection closed by the server')));
  }

  request(bytes: Buffer): Promise<number> {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.socket.write(bytes);
    });
  }

  close(): void {
    this.socket.removeAllListeners('close');
    this.socket.destroy();
  }

  private fail(err: Error): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.reject(err);
  }

  private receive(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const end = this.buffered.indexOf(HEADER_END);
    if (end < 0) return;
    const head = this.buffered.subarray(0, end).toString('latin1');
    const status = Number(head.slice(9, 12));
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (!length) {
      this.fail(new Error(`response without Content-Length: ${head.split('\r\n')[0]}`));
      return;
    }
    const total = end + HEADER_END.length + Number(length[1]);
    if (this.buffered.length < total) return;
    this.buffered = this.buffered.subarray(total);
    const w = this.waiting;
    this.waiting = undefined;
    w?.resolve(status);
  }
}

/**
 * Keep `concurrency` requests in flight for `seconds`, cycling through `requests`; returns requests completed per
 * second. Throws on the first response that is not 200.
 */
export async function load(
  socketPath: string,
  requests: readonly Buffer[],
  concurrency: number,
  seconds: number,
): Promise<number> {
  const connections = Array.from({ length: concurrency }, () => new Connection(socketPath));
  let done = 0;
  const until = performance.now() + seconds * 1000;
  const start = performance.now();
  try {
    await Promise.all(
      connections.map(async (c, w) => {
        let i = w;
        while (performance.now() < until) {
          const status = await c.request(requests[i++ % requests.length] as Buffer);
          if (status !== 200) throw new Error(`publish answered HTTP ${status}`);
          done++;
        }
      }),
    );
  } finally {
    for (const c of connections) c.close();
  }
  return done / ((performance.now() - start) / 1000);
}
