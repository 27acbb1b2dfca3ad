/**
 * @module Unix datagram sockets for Node 20, whose `dgram` has none: the native part of the `unix-dgram` package (built
 * from source by node-gyp at install), used directly rather than through its JavaScript wrapper, which throws from
 * inside a native callback (and so kills the process) when a receive fails.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

interface Binding {
  readonly AF_UNIX: number;
  readonly SOCK_DGRAM: number;
  /** returns the fd, or -errno; `onRecv(status, buf | null)` runs on the main loop once per datagram */
  socket(
    domain: number,
    type: number,
    protocol: number,
    onRecv: (status: number, buf: Buffer | null) => void,
    onWritable: () => void,
  ): number;
  bind(fd: number, path: string): number;
  connect(fd: number, path: string): number;
  /** on a connected socket: 0 sent, 1 the receiver's queue is full (onWritable fires when it is not), else -errno */
  send(fd: number, buf: Buffer): number;
  close(fd: number): number;
}

let binding: Binding | undefined;

function load(): Binding {
  if (binding) return binding;
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve('unix-dgram/package.json'));
  for (const build of ['Release', 'Debug']) {
    const file = join(root, 'build', build, 'unix_dgram.node');
    if (existsSync(file)) {
      binding = require(file) as Binding;
      return binding;
    }
  }
  throw new Error(`unix-dgram's native addon is not built under ${root}/build (run npm rebuild unix-dgram)`);
}

/** Linux's sun_path holds 108 bytes with the NUL; the addon silently truncates a longer path, so refuse it here. */
const MAX_PATH_BYTES = 107;

function checkPath(path: string): void {
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) {
    throw new Error(`unix socket path is over ${MAX_PATH_BYTES} bytes: ${path}`);
  }
}

function errno(code: number, syscall: string, path: string): Error {
  const e = new Error(`${syscall} ${path}: errno ${-code}`) as Error & { errno: number; syscall: string };
  e.errno = -code;
  e.syscall = syscall;
  return e;
}

export interface UnixDgramReceiver {
  readonly path: string;
  close(): void;
}

/**
 * Bind a receiving socket at `path` (which must not exist). `onMessage` gets each datagram; a datagram larger than
 * 64 KiB arrives cut to 64 KiB, which is over any sensible size limit, so it is still seen as oversized.
 */
export function bindUnixDgram(path: string, onMessage: (data: Buffer) => void): UnixDgramReceiver {
  checkPath(path);
  const b = load();
  const fd = b.socket(
    b.AF_UNIX,
    b.SOCK_DGRAM,
    0,
    (status, buf) => {
      if (status < 0 || !buf) return;
      try {
        onMessage(buf);
      } catch {
        // An exception here would surface inside the addon's callback as an uncaught exception; the handler counts
        // its own failures, so nothing is lost by swallowing it.
      }
    },
    () => {},
  );
  if (fd < 0) throw errno(fd, 'socket', path);
  const err = b.bind(fd, path);
  if (err < 0) {
    b.close(fd);
    throw errno(err, 'bind', path);
  }
  let open = true;
  return {
    path,
    close() {
      if (!open) return;
      open = false;
      b.close(fd);
    },
  };
}

/** A sender connected to one receiving socket, for tests and the benchmark. */
export class UnixDgramSender {
  private readonly fd: number;
  private waiting: Array<() => void> = [];
  private open = true;

  constructor(readonly path: string) {
    checkPath(path);
    const b = load();
    this.fd = b.socket(
      b.AF_UNIX,
      b.SOCK_DGRAM,
      0,
      () => {},
      () => {
        const w = this.waiting;
        this.waiting = [];
        for (const resolve of w) resolve();
      },
    );
    if (this.fd < 0) throw errno(this.fd, 'socket', path);
    const err = b.connect(this.fd, path);
    if (err < 0) {
      b.close(this.fd);
      throw errno(err, 'connect', path);
    }
  }

  /** Send without blocking: false when the receiver's queue is full (then wait for `writable()`). */
  trySend(data: Buffer): boolean {
    const r = load().send(this.fd, data);
    if (r === 1) return false;
    if (r < 0) throw errno(r, 'send', this.path);
    return true;
  }

  /** Resolves when the receiver's queue has room again. */
  writable(): Promise<void> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Send, waiting while the receiver's queue is full (a unix datagram socket pushes back rather than dropping). */
  async send(data: Buffer): Promise<void> {
    while (!this.trySend(data)) await this.writable();
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    load().close(this.fd);
  }
}
