/** @module The HTTP application: every route registered on one fastify instance, testable in-process with inject(). */
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { HeraldError, TooLargeError, toHeraldError } from '../core/errors.js';
import type { Identity } from '../core/permissions.js';
import type { AppContext, RouteModule } from './context.js';
import { errorBody, sendError } from './envelope.js';
import { MAX_BODY_BYTES } from './limits.js';
import { eventsRoutes } from './routes/events.js';
import { serverRoutes } from './routes/server.js';

// every limit lives in limits.ts; re-exported for the modules that import it from here
export { MAX_BODY_BYTES };

declare module 'fastify' {
  interface FastifyRequest {
    identity: Identity;
  }
}

export async function buildApp(ctx: AppContext, extra: readonly RouteModule[] = []): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    bodyLimit: MAX_BODY_BYTES,
    routerOptions: { maxParamLength: 512 },
    // URLs the router refuses (bad %-encoding, over-long parameters) get LXD's envelope too
    frameworkErrors: (err, _req, reply) => {
      const status = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 414 : 400;
      const message = status === 414 ? 'a path parameter exceeds 512 characters' : 'malformed URL';
      (reply as FastifyReply)
        .code(status)
        .type('application/json')
        .send(errorBody(status, message, { code: 'HERALD_ERR_BAD_REQUEST' }));
    },
  });
  // Bodies are parsed by the routes themselves, so that every bad body gets herald's own error, not fastify's.
  // Declared up front so every request object keeps one shape; the union type defeats fastify's decorator typing.
  (app.decorateRequest as (name: string, value: unknown) => void)('identity', null);
  app.addHook('onRequest', async (req) => {
    req.identity = ctx.identify(req.raw);
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof HeraldError) return sendError(reply, err);
    const e = err as { code?: string; statusCode?: number; message?: string };
    if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return sendError(reply, new TooLargeError(`request body exceeds ${MAX_BODY_BYTES} bytes`));
    }
    if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
      return sendError(reply, new HeraldError('HERALD_ERR_BAD_REQUEST', e.message ?? 'bad request'));
    }
    return sendError(reply, toHeraldError(err));
  });
  app.setNotFoundHandler((req, reply) => {
    reply
      .code(404)
      .type('application/json')
      .send(errorBody(404, `not found: ${req.method} ${req.url.split('?')[0]}`));
  });

  serverRoutes(app, ctx);
  eventsRoutes(app, ctx);
  for (const register of extra) register(app, ctx);
  await app.ready();
  return app;
}
