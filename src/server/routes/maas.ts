/**
 * @module The MAAS-compatible event log, `GET /MAAS/api/2.0/events/?op=query` (spec maas-events.md §1), with its OAuth
 * API keys, and the herald-native key management routes under /1.0/maas/keys.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ForbiddenError, HeraldError, NotFoundError } from '../../core/errors.js';
import type { HeraldEvent } from '../../core/event.js';
import {
  checkSignature,
  MAAS_EVENTS_PATH,
  MaasApiError,
  maasPageRequest,
  maasPageUris,
  parseMaasQuery,
  renderMaasBody,
  toMaasEvent,
} from '../../core/maas-view.js';
import { canView, type Identity } from '../../core/permissions.js';
import { forbidden, MaasKeys } from '../../service/maas-keys.js';
import type { AppContext } from '../context.js';
import { syncBody } from '../envelope.js';
import { parseLimitedJson } from '../limits.js';
import { queryOf } from '../query.js';

/**
 * MAAS clients compare this with the hash cached in their profile and warn when it changes, so it is a digest of a
 * fixed description of what herald serves: it changes only when the MAAS API herald offers does.
 */
export const MAAS_API_HASH = createHash('sha1')
  .update(
    JSON.stringify({
      api: '2.0',
      handlers: [
        {
          name: 'EventsHandler',
          path: MAAS_EVENTS_PATH,
          actions: [{ method: 'GET', op: 'query' }],
          params: [
            'hostname',
            'mac_address',
            'id',
            'domain',
            'zone',
            'pool',
            'agent_name',
            'owner',
            'level',
            'limit',
            'before',
            'after',
          ],
        },
      ],
    }),
  )
  .digest('hex');

const FORM = /^application\/x-www-form-urlencoded\s*(?:;|$)/i;

function formOf(req: FastifyRequest): URLSearchParams | undefined {
  if (req.method !== 'POST' || !FORM.test(req.headers['content-type'] ?? '')) return undefined;
  return new URLSearchParams(Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '');
}

function sendText(reply: FastifyReply, err: MaasApiError): FastifyReply {
  for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
  return reply.code(err.status).header('content-type', err.contentType).send(err.body);
}

function requireAdmin(req: FastifyRequest): void {
  if (req.identity.kind !== 'admin') throw new ForbiddenError('MAAS API keys are managed by administrators only');
}

export function maasRoutes(app: FastifyInstance, ctx: AppContext): void {
  const keys = new MaasKeys(ctx.store);
  const now = () => ctx.now?.() ?? Date.now();

  app.route({
    method: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'],
    url: MAAS_EVENTS_PATH,
    handler: async (req, reply) => {
      reply.header('X-MAAS-API-Hash', MAAS_API_HASH);
      const query = queryOf(req.raw.url);
      const form = formOf(req);
      try {
        // Authentication comes before dispatch in piston, so an unauthenticated caller learns nothing about the API.
        const auth = await keys.authenticate({ authorization: req.headers.authorization, query, form, nowMs: now() });
        if (auth.kind === 'error') throw auth.error;
        let identity: Identity;
        // A key is an administrator's grant of the whole MAAS view (as a MAAS admin's key), whatever the transport made
        // of the caller: MAAS clients present no certificate. Per-key restrictions would narrow this identity.
        if (auth.kind === 'ok') {
          identity = { kind: 'admin', username: auth.username, protocol: 'maas-oauth', address: req.identity.address };
        }
        // The local socket is the administrator's own door (as `maas` on the region itself); everyone else needs a key.
        else if (req.identity.protocol === 'unix') identity = req.identity;
        else throw forbidden();

        checkSignature(req.method, query, form);
        const q = parseMaasQuery(query);
        const stored = await ctx.store.page(maasPageRequest(q), q.nodes);
        // Visibility is applied after the page is read, so a restricted caller may get a short page; the URIs still
        // move past what was read, never repeating or skipping a visible event.
        const events = stored
          .filter((s) => canView(identity, s.fields))
          .map((s) => toMaasEvent(JSON.parse(s.json) as HeraldEvent, s.fields));
        const uris = maasPageUris(
          q,
          stored.map((s) => s.id),
        );
        return reply
          .code(200)
          .header('content-type', 'application/json; charset=utf-8')
          .send(renderMaasBody(events, uris));
      } catch (err) {
        if (err instanceof MaasApiError) return sendText(reply, err);
        throw err;
      }
    },
  });

  app.post('/1.0/maas/keys', async (req) => {
    requireAdmin(req);
    const body = parseLimitedJson(req.body, req.headers['content-type']) as { username?: unknown } | null;
    const username = body && typeof body === 'object' ? body.username : undefined;
    if (typeof username !== 'string') throw new HeraldError('HERALD_ERR_BAD_REQUEST', 'username is required');
    const { key, record } = await keys.create(username, now());
    return syncBody({ key, ...record });
  });

  app.get('/1.0/maas/keys', async (req) => {
    requireAdmin(req);
    return syncBody(await keys.list());
  });

  app.delete<{ Params: { consumer: string } }>('/1.0/maas/keys/:consumer', async (req) => {
    requireAdmin(req);
    if (!(await keys.revoke(req.params.consumer))) throw new NotFoundError(`MAAS API key "${req.params.consumer}"`);
    return syncBody({});
  });
}
