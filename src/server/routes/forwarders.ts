/** @module `GET /1.0/forwarders`: each forwarding target's cursor, lag, last success and error, and counts. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ForbiddenError, NotFoundError } from '../../core/errors.js';
import type { LokiManager } from '../../forwarders/loki/manager.js';
import type { RouteModule } from '../context.js';
import { syncBody } from '../envelope.js';

export function forwardersRoutes(loki: LokiManager): RouteModule {
  return (app: FastifyInstance) => {
    const admin = (req: FastifyRequest): void => {
      // Targets carry URLs and error text from the target: administrators only, like the configuration.
      if (req.identity.kind !== 'admin') throw new ForbiddenError();
    };
    app.get('/1.0/forwarders', async (req) => {
      admin(req);
      return syncBody(await loki.status());
    });
    app.get<{ Params: { name: string } }>('/1.0/forwarders/:name', async (req) => {
      admin(req);
      const f = loki.forwarder(req.params.name);
      if (!f) throw new NotFoundError(`forwarder "${req.params.name}"`);
      return syncBody(await f.status());
    });
  };
}
