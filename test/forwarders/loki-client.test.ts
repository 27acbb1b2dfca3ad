/** @module The Loki HTTP client: gzip bodies, auth headers, a custom CA for https, and the per-request timeout. */
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { LokiClient, LokiNetworkError } from '../../src/forwarders/loki/client.js';

/** A throwaway self-signed certificate for 127.0.0.1, for this test only. */
const CERT = `-----BEGIN CERTIFICATE-----
MIIBkDCCATagAwIBAgIUXJv29AhUFMiHgZbCYpfJtzXQDi0wCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJMTI3LjAuMC4xMCAXDTI2MTEyMTIxNTAzM1oYDzIxMjYxMDI4
MjE1MDMzWjAUMRIwEAYDVQQDDAkxMjcuMC4wLjEwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAQ69szZfd0m72uieoXZANXh3xtNLTTplo5iQvzH01sTR6fj1C0Tc5Nt
Jzkk9y6ObpdqSHf+yQwqB3CoiWzjNwX8o2QwYjAdBgNVHQ4EFgQU+VgnEHD0g7nK
7uNp2GwVeBdI3gowHwYDVR0jBBgwFoAU+VgnEHD0g7nK7uNp2GwVeBdI3gowDwYD
VR0TAQH/BAUwAwEB/zAPBgNVHREECDAGhwR/AAABMAoGCCqGSM49BAMCA0gAMEUC
IQDZlLlVke1ZLqo/IMn0wg+nChTOeAT+K2L9cHXHPB9tGwIgFKzwOXVjiAf7KKUS
b3K+UAmC7mn/5xVpbS1lKDCnqWo=
-----END CERTIFICATE-----`;
const KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgXwdfG5uWGrcI6nim
oUCf9yhjwt2lHqpESrqqYyKPGymhRANCAAQ69szZfd0m72uieoXZANXh3xtNLTTp
lo5iQvzH01sTR6fj1C0Tc5NtJzkk9y6ObpdqSHf+yQwqB3CoiWzjNwX8
-----END PRIVATE KEY-----`;

async function httpsLoki(
  answer: (body: Buffer) => number,
): Promise<{ url: string; bodies: Buffer[]; close: () => Promise<void> }> {
  const bodies: Buffer[] = [];
  const server = createServer({ cert: CERT, key: KEY }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      bodies.push(req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body);
      const status = answer(body);
      if (status > 0) res.writeHead(status).end(status === 204 ? undefined : 'no');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    bodies,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

describe('LokiClient', () => {
  it('pushes gzip JSON to an https Loki it trusts through loki.api.ca_cert', async () => {
    const loki = await httpsLoki(() => 204);
    try {
      const client = new LokiClient({ url: loki.url, caCert: CERT, timeoutMs: 2000 });
      const res = await client.push(await client.encode('{"streams":[]}'));
      expect(res.status).toBe(204);
      expect(loki.bodies[0]?.toString()).toBe('{"streams":[]}');
      expect((await client.ready()).status).toBe(204);
      client.close();

      const untrusting = new LokiClient({ url: loki.url, timeoutMs: 2000 });
      await expect(untrusting.push(await untrusting.encode('{}'))).rejects.toBeInstanceOf(LokiNetworkError);
      untrusting.close();
    } finally {
      await loki.close();
    }
  });

  it('gives up on a request after its timeout, and reads the start of an error body', async () => {
    let hang = true;
    const loki = await httpsLoki(() => (hang ? 0 : 400));
    try {
      const client = new LokiClient({ url: loki.url, caCert: CERT, timeoutMs: 150 });
      const started = Date.now();
      await expect(client.push(await client.encode('{}'))).rejects.toThrow('no answer within 150ms');
      expect(Date.now() - started).toBeLessThan(1000);
      hang = false;
      expect(await client.push(await client.encode('{}'))).toEqual({ status: 400, body: 'no' });
      client.close();
    } finally {
      await loki.close();
    }
  });

  it('can be aborted', async () => {
    const loki = await httpsLoki(() => 0);
    try {
      const client = new LokiClient({ url: loki.url, caCert: CERT, timeoutMs: 5000 });
      const ac = new AbortController();
      const p = client.push(await client.encode('{}'), ac.signal);
      setTimeout(() => ac.abort(), 50);
      await expect(p).rejects.toMatchObject({ aborted: true });
      client.close();
    } finally {
      await loki.close();
    }
  });
});
