/** @module LXD's server configuration API: `PATCH /1.0` merges `{"config": {...}}`, `PUT /1.0` replaces it. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ForbiddenError, HeraldError } from '../../core/errors.js';
import type { Identity } from '../../core/permissions.js';
import type { ConfigService } from '../../service/config.js';
import type { AppContext, RouteModule } from '../context.js';
import { syncBody } from '../envelope.js';
import { parseLimitedJson } from '../limits.js';

/** The configuration service each app serves, for `GET /1.0` (registered by `configRoutes`). */
const services = new WeakMap<FastifyInstance, ConfigService>();

/** `GET /1.0`'s `config`: the keys that are set, shown to administrators only. */
export function serverConfigView(app: FastifyInstance, identity: Identity): Record<string, string> {
  if (identity.kind !== 'admin') return {};
  return services.get(app)?.all() ?? {};
}

/** The `config` object of a request body; LXD accepts any scalar and stores its string form, null unsets. */
export function configOf(body: unknown, missingIsEmpty: boolean): Record<string, string> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new HeraldError('HERALD_ERR_BAD_REQUEST', 'request body must be an object like {"config": {...}}');
  }
  const raw = (body as { config?: unknown }).config;
  if (raw === undefined || raw === null) {
    if (missingIsEmpty) return {};
    throw new HeraldError('HERALD_ERR_BAD_REQUEST', 'request body has no "config" object');
  }
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new HeraldError('HERALD_ERR_BAD_REQUEST', '"config" must be an object of key/value pairs');
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (v === null) out[k] = '';
    else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
    else throw new HeraldError('HERALD_ERR_BAD_REQUEST', `"${k}": value must be a string`, { key: k });
  }
  return out;
}

export function configRoutes(config: ConfigService): RouteModule {
  return (app: FastifyInstance, ctx: AppContext) => {
    services.set(app, config);

    const update = (replace: boolean) => async (req: FastifyRequest) => {
      if (req.identity.kind !== 'admin') throw new ForbiddenError();
      const values = configOf(parseLimitedJson(req.body, req.headers['content-type']), replace);
      if (replace) await config.replace(values);
      else await config.patch(values);
      const id = req.identity;
      // As LXD: every successful update of the server configuration is a `config-updated` lifecycle event.
      await ctx.publisher
        .publishRaw({
          type: 'lifecycle',
          project: '',
          metadata: {
            action: 'config-updated',
            source: '/1.0',
            requestor: { username: id.username, protocol: id.protocol, address: id.address },
          },
        })
        .catch((err: Error) => ctx.log.error('Publishing config-updated failed', { err: err.message }));
      return syncBody({});
    };

    app.patch('/1.0', update(false));
    app.put('/1.0', update(true));
  };
}
