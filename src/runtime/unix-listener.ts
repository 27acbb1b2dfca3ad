/** @module The local unix socket listener (full access, like LXD's), refusing to steal a socket still in use. */
import { existsSync, unlinkSync } from 'node:fs';
import { chmod } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';

function inUse(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function listenUnix(
  path: string,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<Server> {
  if (existsSync(path)) {
    if (await inUse(path)) throw new Error(`another herald is already serving ${path}`);
    unlinkSync(path);
  }
  const server = createServer(handler);
  // Bound the damage of clients that open connections and never finish a request.
  server.headersTimeout = 10_000;
  server.requestTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await chmod(path, 0o660);
  return server;
}
