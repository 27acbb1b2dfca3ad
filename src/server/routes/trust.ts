/**
 * @module The trust store over LXD 5.0.2's API: POST /1.0/certificates (trust password, join token, or an admin
 * adding a certificate), GET/PUT/PATCH/DELETE /1.0/certificates/<fingerprint>, and herald's trust password route.
 */

import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { HeraldError } from '../../core/errors.js';
import type { Grant, Identity } from '../../core/permissions.js';
import { parseRfc3339 } from '../../core/time.js';
import { makeGrant, parseCertificate, peerCertificateDer, type TrustedCertificate } from '../../service/identities.js';
import { type Auth, authzFail } from '../auth.js';
import type { AppContext, RouteModule } from '../context.js';
import { syncBody } from '../envelope.js';
import { parseLimitedJson } from '../limits.js';
import { wantsRecursion } from '../query.js';

const list = z.array(z.string()).nullish();

/** LXD's `CertificatesPost` (plus herald's entitlement lists and a join-token expiry); unknown keys are ignored. */
const postSchema = z.object({
  type: z.string().optional(),
  name: z.string().optional(),
  certificate: z.string().optional(),
  password: z.string().optional(),
  trust_token: z.string().optional(),
  token: z.boolean().optional(),
  restricted: z.boolean().optional(),
  projects: list,
  entitlements: list,
  server_entitlements: list,
  expires_at: z.string().optional(),
});

const putSchema = z.object({
  name: z.string().optional(),
  type: z.string().optional(),
  certificate: z.string().optional(),
  restricted: z.boolean().optional(),
  projects: list,
  entitlements: list,
  server_entitlements: list,
});

export function parseBody<T>(schema: z.ZodType<T>, req: FastifyRequest): T {
  const raw = parseLimitedJson(req.body, req.headers['content-type']);
  const r = schema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    const where = i?.path.length ? `${i.path.join('.')}: ` : '';
    throw new HeraldError('HERALD_ERR_BAD_REQUEST', `${where}${i?.message ?? 'invalid body'}`);
  }
  return r.data;
}

const FINGERPRINT_PARAM = /^[0-9a-fA-F]{1,64}$/;

/** A fingerprint (or prefix) from the path: hex only, so no traversal or injection reaches a lookup. */
export function fingerprintParam(req: FastifyRequest): string {
  const fp = (req.params as { fingerprint?: string }).fingerprint ?? '';
  if (!FINGERPRINT_PARAM.test(fp)) {
    throw new HeraldError('HERALD_ERR_BAD_REQUEST', 'fingerprint must be 1 to 64 hexadecimal characters');
  }
  return fp.toLowerCase();
}

/** `api.Certificate` as LXD 5.0.2 serves it, with herald's entitlements beside. */
export function certificateView(c: TrustedCertificate): Record<string, unknown> {
  return {
    name: c.name,
    type: c.type,
    restricted: c.grant.restricted,
    projects: c.grant.projects,
    certificate: c.certificate,
    fingerprint: c.fingerprint,
    entitlements: c.grant.entitlements,
    server_entitlements: c.grant.server_entitlements,
  };
}

function isSelf(id: Identity, fingerprint: string): boolean {
  return id.kind !== 'untrusted' && id.protocol === 'tls' && id.username === fingerprint;
}

function grantChanged(a: Grant, b: Grant): boolean {
  return JSON.stringify(a) !== JSON.stringify(b);
}

/** Lifecycle events about certificates: server-scoped (project ""), requestor = the caller. */
async function lifecycle(
  ctx: AppContext,
  req: FastifyRequest,
  action: 'certificate-created' | 'certificate-updated' | 'certificate-deleted',
  fingerprint: string,
): Promise<void> {
  const id = req.identity;
  // An untrusted joiner has no identity yet; LXD records only its address.
  const requestor =
    id.kind === 'untrusted'
      ? { username: '', protocol: '', address: id.address }
      : { username: id.username, protocol: id.protocol, address: id.address };
  try {
    await ctx.publisher.publishRaw({
      type: 'lifecycle',
      metadata: { action, source: `/1.0/certificates/${fingerprint}`, requestor },
    });
  } catch (err) {
    ctx.log.warn('Could not record a lifecycle event', { action, err: (err as Error).message });
  }
}

function created(reply: FastifyReply, fingerprint: string): FastifyReply {
  return reply.code(201).header('location', `/1.0/certificates/${fingerprint}`).send(syncBody(null));
}

export function trustRoutes(auth: Auth): RouteModule {
  const ids = auth.identities;

  const added = async (ctx: AppContext, req: FastifyRequest, rec: TrustedCertificate): Promise<void> => {
    await auth.event(req.raw, req.identity, `user_created:tls:${rec.fingerprint}`);
    await auth.event(
      req.raw,
      req.identity,
      `authz_admin:identity_create:tls/${rec.fingerprint}`,
      'Identity identity-created',
    );
    await lifecycle(ctx, req, 'certificate-created', rec.fingerprint);
  };

  return (app: FastifyInstance, ctx: AppContext): void => {
    app.post('/1.0/certificates', async (req, reply) => {
      const body = parseBody(postSchema, req);
      if (body.type && body.type !== 'client') {
        throw new HeraldError('HERALD_ERR_BAD_REQUEST', `certificate type "${body.type}" is not supported`);
      }
      const id = req.identity;

      if (id.kind === 'untrusted') {
        // Joining: the trust password, or a join token (lxc sends the token in `password` too).
        const secret = body.trust_token || body.password || '';
        if (!secret) throw new HeraldError('HERALD_ERR_FORBIDDEN', 'not authorized');
        const der = body.certificate ? parseCertificate(body.certificate).der : peerCertificateDer(req.raw.socket);
        if (!der) throw new HeraldError('HERALD_ERR_BAD_REQUEST', 'No client certificate provided');
        const cert = parseCertificate(der);
        let grant: Grant;
        let name: string;
        if (ids.hasTrustPassword() && !body.trust_token && (await ids.checkTrustPassword(secret))) {
          grant = makeGrant(body);
          name = body.name || cert.commonName || 'client';
        } else {
          const joined = await ids.redeemJoinToken(secret);
          if (!joined) {
            await auth.failure(req.raw, id, 'authn_login_fail:tls');
            throw new HeraldError('HERALD_ERR_FORBIDDEN', 'not authorized');
          }
          grant = joined.grant;
          name = joined.name;
        }
        if (ids.isTrusted(cert.fingerprint))
          throw new HeraldError('HERALD_ERR_BAD_REQUEST', 'Client is already trusted');
        const rec = await ids.addCertificate({ certificate: der, name, grant });
        await added(ctx, req, rec);
        return created(reply, rec.fingerprint);
      }

      if (id.kind !== 'admin') throw await authzFail(ctx, req, 'can_edit', '/1.0/certificates');
      const grant = makeGrant(body);

      if (body.token) {
        let expiresAt: number | undefined;
        if (body.expires_at) {
          expiresAt = parseRfc3339(body.expires_at);
          if (expiresAt === undefined) {
            throw new HeraldError('HERALD_ERR_BAD_REQUEST', `expires_at "${body.expires_at}" is not RFC3339`);
          }
        }
        const name = body.name ?? '';
        const t = await ids.createJoinToken({ name, grant, expiresAt });
        // LXD answers with a `token` class operation whose metadata lxc turns into the token; herald adds `token`.
        const opId = randomUUID();
        const now = new Date().toISOString();
        const request = {
          name,
          type: 'client',
          restricted: grant.restricted,
          projects: grant.projects,
          certificate: '',
          password: '',
          token: true,
        };
        return reply
          .code(202)
          .header('location', `/1.0/operations/${opId}`)
          .send({
            type: 'async',
            status: 'Operation created',
            status_code: 100,
            operation: `/1.0/operations/${opId}`,
            error_code: 0,
            error: '',
            metadata: {
              id: opId,
              class: 'token',
              description: 'Executing operation',
              created_at: now,
              updated_at: now,
              status: 'Running',
              status_code: 103,
              resources: null,
              metadata: {
                request,
                fingerprint: t.fingerprint,
                addresses: t.addresses,
                secret: t.secret,
                expiresAt: t.expires_at,
                token: t.token,
              },
              may_cancel: true,
              err: '',
              location: ctx.info.location,
            },
          });
      }

      const fromPeer = !body.certificate;
      const der = body.certificate ? parseCertificate(body.certificate).der : peerCertificateDer(req.raw.socket);
      if (!der) throw new HeraldError('HERALD_ERR_BAD_REQUEST', 'No client certificate provided');
      const cert = parseCertificate(der);
      if (ids.isTrusted(cert.fingerprint)) {
        throw new HeraldError(
          'HERALD_ERR_BAD_REQUEST',
          fromPeer ? 'Client is already trusted' : 'Certificate already in trust store',
        );
      }
      const rec = await ids.addCertificate({ certificate: der, name: body.name || cert.commonName || 'client', grant });
      await added(ctx, req, rec);
      return created(reply, rec.fingerprint);
    });

    app.get('/1.0/certificates', async (req) => {
      const id = req.identity;
      // Restricted identities see only themselves, as in LXD.
      const certs = ids.certificates().filter((c) => id.kind === 'admin' || isSelf(id, c.fingerprint));
      if (wantsRecursion(req.url)) return syncBody(certs.map(certificateView));
      return syncBody(certs.map((c) => `/1.0/certificates/${c.fingerprint}`));
    });

    app.get('/1.0/certificates/:fingerprint', async (req) => {
      const fp = fingerprintParam(req);
      const cert = ids.certificate(fp);
      if (req.identity.kind !== 'admin' && !isSelf(req.identity, cert.fingerprint)) {
        throw await authzFail(ctx, req, 'can_view', `/1.0/certificates/${cert.fingerprint}`);
      }
      return syncBody(certificateView(cert));
    });

    const update = (merge: boolean) => async (req: FastifyRequest) => {
      const fp = fingerprintParam(req);
      const body = parseBody(putSchema, req);
      const before = ids.certificate(fp);
      const id = req.identity;
      const self = isSelf(id, before.fingerprint);
      const grant = merge
        ? makeGrant({
            restricted: body.restricted ?? before.grant.restricted,
            projects: body.projects ?? before.grant.projects,
            entitlements: body.entitlements ?? before.grant.entitlements,
            server_entitlements: body.server_entitlements ?? before.grant.server_entitlements,
          })
        : makeGrant({ ...body, restricted: body.restricted ?? false });
      const name = body.name ?? (merge ? undefined : before.name);
      if (id.kind !== 'admin') {
        // A restricted identity may replace its own certificate (self-update) and nothing else.
        const onlyCert = (name === undefined || name === before.name) && !grantChanged(grant, before.grant);
        if (!self || !onlyCert) throw await authzFail(ctx, req, 'can_edit', `/1.0/certificates/${before.fingerprint}`);
      }
      const { after } = await ids.updateCertificate(before.fingerprint, {
        name,
        grant,
        certificate: body.certificate,
      });
      if (after.fingerprint !== before.fingerprint) {
        await auth.event(
          req.raw,
          id,
          `authn_certificate_change:${before.fingerprint}`,
          self ? 'TLS client certificate changed (self-update)' : 'TLS client certificate changed',
        );
      }
      await auth.event(req.raw, id, `user_updated:tls:${after.fingerprint}`);
      if (grantChanged(before.grant, after.grant)) {
        await auth.event(
          req.raw,
          id,
          `authz_admin:identity_edit:tls/${after.fingerprint}`,
          'Identity identity-updated',
        );
      }
      await lifecycle(ctx, req, 'certificate-updated', after.fingerprint);
      return syncBody(null);
    };
    app.put('/1.0/certificates/:fingerprint', update(false));
    app.patch('/1.0/certificates/:fingerprint', update(true));

    app.delete('/1.0/certificates/:fingerprint', async (req) => {
      const fp = fingerprintParam(req);
      const cert = ids.certificate(fp);
      if (req.identity.kind !== 'admin' && !isSelf(req.identity, cert.fingerprint)) {
        throw await authzFail(ctx, req, 'can_edit', `/1.0/certificates/${cert.fingerprint}`);
      }
      await ids.removeCertificate(cert.fingerprint);
      await auth.event(req.raw, req.identity, `user_deleted:tls:${cert.fingerprint}`);
      await auth.event(
        req.raw,
        req.identity,
        `authz_admin:identity_delete:tls/${cert.fingerprint}`,
        'Identity identity-deleted',
      );
      await lifecycle(ctx, req, 'certificate-deleted', cert.fingerprint);
      return syncBody(null);
    });

    // herald's own: LXD sets this as `core.trust_password` through PUT /1.0.
    app.put('/1.0/auth/trust-password', async (req) => {
      const body = parseBody(z.strictObject({ password: z.string().max(1024) }), req);
      await ids.setTrustPassword(body.password);
      try {
        await ctx.publisher.publishRaw({
          type: 'lifecycle',
          metadata: {
            action: 'config-updated',
            source: '/1.0',
            requestor: {
              username: req.identity.username,
              protocol: req.identity.protocol,
              address: req.identity.address,
            },
          },
        });
      } catch (err) {
        ctx.log.warn('Could not record a lifecycle event', { err: (err as Error).message });
      }
      return syncBody({ trust_password_set: ids.hasTrustPassword() });
    });
    app.get('/1.0/auth/trust-password', async () => syncBody({ trust_password_set: ids.hasTrustPassword() }));
  };
}
