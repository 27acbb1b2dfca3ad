/**
 * @module `/1.0/sources`: the LXD servers herald keeps the event history of (admin only: every route here is outside
 * the restricted list in auth.ts). A source's status says whether its events are being received, and why not.
 */

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { SourceManager } from '../../sources/lxd/manager.js';
import type { RouteModule } from '../context.js';
import { syncBody } from '../envelope.js';
import { wantsRecursion } from '../query.js';
import { parseBody } from './trust.js';

const addSchema = z.strictObject({
  name: z.string().max(63),
  type: z.string().default('lxd'),
  url: z.string().min(1).max(4096),
  certificate: z
    .string()
    .max(64 * 1024)
    .optional(),
  key: z
    .string()
    .max(64 * 1024)
    .optional(),
  server_certificate: z
    .string()
    .max(64 * 1024)
    .optional(),
  accept_certificate: z.boolean().optional(),
  password: z.string().max(4096).optional(),
});

function nameParam(req: FastifyRequest): string {
  return (req.params as { name?: string }).name ?? '';
}

export function sourcesRoutes(manager: SourceManager): RouteModule {
  return (app: FastifyInstance): void => {
    app.get('/1.0/sources', async (req) => {
      const all = manager.list();
      return syncBody(wantsRecursion(req.url) ? all : all.map((s) => `/1.0/sources/${encodeURIComponent(s.name)}`));
    });

    app.get('/1.0/sources/:name', async (req) => {
      const name = nameParam(req);
      const status = manager.get(name);
      const certificate = manager.certificate(name);
      return syncBody(certificate ? { ...status, certificate } : status);
    });

    app.post('/1.0/sources', async (req, reply) => {
      const body = parseBody(addSchema, req);
      const status = await manager.add(body);
      return reply
        .code(201)
        .header('location', `/1.0/sources/${encodeURIComponent(status.name)}`)
        .send(syncBody(status));
    });

    app.delete('/1.0/sources/:name', async (req) => {
      await manager.remove(nameParam(req));
      return syncBody(null);
    });
  };
}
