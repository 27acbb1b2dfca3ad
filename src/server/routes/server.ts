/** @module GET / and GET /1.0: LXD's API root and server information. */
import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../context.js';
import { errorTable, syncBody } from '../envelope.js';
import { serverConfigView } from './config.js';

/** API extensions herald implements, named as LXD names them, plus herald's own. */
export const API_EXTENSIONS = [
  'event_lifecycle',
  'event_location',
  'event_project',
  'event_lifecycle_requestor',
  'event_lifecycle_requestor_address',
  'event_lifecycle_name_and_project',
  'event_security',
  'operation_requestor',
  'herald_events_publish',
  'herald_events_history',
  'herald_events_id',
  'loki',
  'loki_config_instance',
  // what herald's trust store and lxc compatibility implement, as LXD names them
  'projects', // GET /1.0/projects: lxc remote add records the remote's project
  'certificate_update', // PUT/PATCH /1.0/certificates/<fp>
  'certificate_self_renewal', // a restricted certificate replaces itself
  'certificate_project', // restricted certificates with projects
  'certificate_token', // join tokens (lxc remote add <token>)
  'remote_token_expiry', // join tokens with expires_at
] as const;

export function serverRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get('/', async () => syncBody(['/1.0']));
  app.get('/1.0', async (req) =>
    syncBody({
      api_extensions: API_EXTENSIONS,
      api_status: 'stable',
      api_version: '1.0',
      auth: 'trusted',
      auth_methods: ['tls'],
      public: false,
      config: serverConfigView(app, req.identity),
      environment: {
        server: 'herald',
        server_name: ctx.info.serverName,
        server_version: ctx.info.version,
        server_clustered: false,
        server_event_mode: 'full-mesh',
        server_pid: process.pid,
        server_started_at: ctx.info.startedAt,
        project: 'default',
        store: ctx.store.dialect,
        ...ctx.info.environment,
      },
    }),
  );
  app.get('/1.0/errors', async () => syncBody(errorTable()));
  app.get('/1.0/metrics', async (_req, reply) =>
    reply.type('text/plain; version=0.0.4; charset=utf-8').send(ctx.metrics.render()),
  );
}
