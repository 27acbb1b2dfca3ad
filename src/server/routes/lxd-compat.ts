/**
 * @module What the real `lxc` 5.0.2 needs beyond the event API (spec lxd-clients.md §2–§3): `GET /1.0/projects`
 * (called by `lxc remote add` because herald lists the `projects` extension), and the event types an `lxc` client is
 * sent when it asks for none.
 */

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { NotFoundError } from '../../core/errors.js';
import type { EventType } from '../../core/event.js';
import { type Identity, visibleTypes } from '../../core/permissions.js';
import type { RouteModule } from '../context.js';
import { syncBody } from '../envelope.js';
import { queryOf, wantsRecursion } from '../query.js';

/**
 * The projects an identity works in. herald keeps no project registry (events name their project), so an admin is
 * given LXD's `default`, which makes `lxc remote add` record `project: default` without asking; a restricted identity
 * gets its own projects, as LXD lists a restricted certificate's projects.
 */
export function projectNames(id: Identity): string[] {
  if (id.kind === 'restricted') return Object.keys(id.projects).sort();
  return id.kind === 'admin' ? ['default'] : [];
}

/** `api.Project` as LXD 5.0.2 serves it (no config or users: herald does not manage projects). */
function projectView(name: string): Record<string, unknown> {
  return { name, description: '', config: {}, used_by: [] };
}

export const lxdCompatRoutes: RouteModule = (app: FastifyInstance): void => {
  app.get('/1.0/projects', async (req: FastifyRequest) => {
    const names = projectNames(req.identity);
    if (wantsRecursion(req.url)) return syncBody(names.map(projectView));
    return syncBody(names.map((n) => `/1.0/projects/${encodeURIComponent(n)}`));
  });
  app.get('/1.0/projects/:name', async (req: FastifyRequest) => {
    const name = (req.params as { name?: string }).name ?? '';
    // LXD's wording, so lxc prints what it prints for a real server.
    if (!projectNames(req.identity).includes(name)) throw new NotFoundError('Project');
    return syncBody(projectView(name));
  });
};

/**
 * Every `lxc` release renders these three types in `--pretty`; `lxc` 5.0.2 aborts the whole monitor on any other
 * (`Error: Not supported event type: ovn`), and `lxc` never sends `type` (it filters on its side).
 */
export const LXC_DEFAULT_TYPES: readonly EventType[] = ['logging', 'operation', 'lifecycle'];

/** The LXD Go client (lxc, and LXD itself when clustering) says `LXD <version> (<os>...)` in User-Agent. */
export function isLxdGoClient(req: IncomingMessage): boolean {
  const ua = req.headers['user-agent'];
  return typeof ua === 'string' && /^LXD \d/.test(ua);
}

/**
 * Wrap the events websocket's upgrade listener: when an LXD Go client asks for no `type`, ask for the types it can
 * render (of those the caller may see) instead of all five, so `lxc monitor --pretty` never meets a type it rejects.
 * Other clients (pylxd, herald's own, raw websockets) keep herald's default; anyone may still ask for a type by name.
 */
export function withLxcDefaultTypes(
  identify: (req: IncomingMessage) => Identity,
  next: (req: IncomingMessage, socket: Duplex, head: Buffer) => void,
): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return (req, socket, head) => {
    const url = req.url ?? '/';
    if (isLxdGoClient(req) && url.split('?')[0] === '/1.0/events') {
      const params = queryOf(url);
      if (!params.has('type')) {
        const types = visibleTypes(identify(req), LXC_DEFAULT_TYPES);
        if (types.length > 0) req.url = `${url}${url.includes('?') ? '&' : '?'}type=${types.join(',')}`;
      }
    }
    next(req, socket, head);
  };
}
