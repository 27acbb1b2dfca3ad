/**
 * @module Bearer tokens (herald's own, admin-only): POST/GET /1.0/auth/tokens, GET/DELETE /1.0/auth/tokens/<id>.
 * The token is shown once, at creation; only its hash is kept.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { HeraldError } from '../../core/errors.js';
import { parseRfc3339 } from '../../core/time.js';
import { makeGrant, type TokenRecord, validateName } from '../../service/identities.js';
import type { Auth } from '../auth.js';
import type { AppContext, RouteModule } from '../context.js';
import { syncBody } from '../envelope.js';
import { parseBody } from './trust.js';

const list = z.array(z.string()).nullish();

const createSchema = z.strictObject({
  name: z.string(),
  /** RFC3339; absent: never expires */
  expires_at: z.string().nullish(),
  restricted: z.boolean().optional(),
  projects: list,
  entitlements: list,
  server_entitlements: list,
});

function tokenParam(req: FastifyRequest): string {
  const v = (req.params as { id?: string }).id ?? '';
  try {
    return validateName(v, 'token id or name');
  } catch {
    throw new HeraldError('HERALD_ERR_BAD_REQUEST', 'token id or name must not contain control characters or slashes');
  }
}

export function tokenRoutes(auth: Auth): RouteModule {
  const ids = auth.identities;
  const view = (t: TokenRecord): Record<string, unknown> => ({
    id: t.id,
    name: t.name,
    status: ids.tokenStatus(t),
    created_at: t.created_at,
    expires_at: t.expires_at,
    revoked_at: t.revoked_at,
    restricted: t.grant.restricted,
    projects: t.grant.projects,
    entitlements: t.grant.entitlements,
    server_entitlements: t.grant.server_entitlements,
  });

  return (app: FastifyInstance, _ctx: AppContext): void => {
    app.post('/1.0/auth/tokens', async (req, reply) => {
      const body = parseBody(createSchema, req);
      let expiresAt: number | undefined;
      if (body.expires_at) {
        expiresAt = parseRfc3339(body.expires_at);
        if (expiresAt === undefined) {
          throw new HeraldError('HERALD_ERR_BAD_REQUEST', `expires_at "${body.expires_at}" is not RFC3339`);
        }
      }
      const { record, token } = await ids.createToken({ name: body.name, grant: makeGrant(body), expiresAt });
      await auth.event(req.raw, req.identity, `authn_token_created:${record.id}`);
      await auth.event(
        req.raw,
        req.identity,
        `authz_admin:identity_create:bearer/${record.id}`,
        'Identity identity-created',
      );
      return reply
        .code(201)
        .header('location', `/1.0/auth/tokens/${record.id}`)
        .send(syncBody({ ...view(record), token }));
    });

    app.get('/1.0/auth/tokens', async () => syncBody(ids.tokens().map(view)));

    app.get('/1.0/auth/tokens/:id', async (req) => syncBody(view(ids.token(tokenParam(req)))));

    app.delete('/1.0/auth/tokens/:id', async (req) => {
      const rec = await ids.revokeToken(tokenParam(req));
      await auth.event(req.raw, req.identity, `authn_token_revoked:${rec.id}`);
      await auth.event(
        req.raw,
        req.identity,
        `authz_admin:identity_delete:bearer/${rec.id}`,
        'Identity identity-deleted',
      );
      return syncBody(view(rec));
    });
  };
}
