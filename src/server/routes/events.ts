/** @module POST /1.0/events (publish) and GET /1.0/events/history (keyset-paged history). */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ALL_SCOPE, parseFilter } from '../../core/filter.js';
import { parsePage } from '../../core/page.js';
import { parseJsonBody } from '../body.js';
import type { AppContext } from '../context.js';
import { sendSyncRaw } from '../envelope.js';

export function queryOf(req: FastifyRequest): URLSearchParams {
  const q = req.raw.url?.indexOf('?') ?? -1;
  return new URLSearchParams(q >= 0 ? (req.raw.url as string).slice(q + 1) : '');
}

const HISTORY_PATH = '/1.0/events/history';

export function eventsRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.post('/1.0/events', async (req, reply) => {
    const raw = parseJsonBody(req.body, req.headers['content-type']);
    const stored = await ctx.publisher.publishRaw(raw);
    return sendSyncRaw(reply, `{"ids":[${stored.map((s) => s.id).join(',')}]}`);
  });

  app.get(HISTORY_PATH, async (req, reply) => {
    const params = queryOf(req);
    const now = ctx.now?.() ?? Date.now();
    const filter = parseFilter(params, { now, defaultScope: ALL_SCOPE });
    const page = parsePage(params);
    const events = await ctx.store.page({ filter, ...page });
    const base = new URLSearchParams();
    for (const [k, v] of params) if (k !== 'after' && k !== 'before') base.append(k, v);
    const uri = (key: 'after' | 'before', id: number): string => {
      const p = new URLSearchParams(base);
      p.set(key, String(id));
      return JSON.stringify(`${HISTORY_PATH}?${p.toString()}`);
    };
    const first = events[0];
    const last = events[events.length - 1];
    const older = last && events.length === page.limit ? uri('before', last.id) : 'null';
    const newer = first ? uri('after', first.id) : page.after !== undefined ? uri('after', page.after) : 'null';
    return sendSyncRaw(
      reply,
      `{"count":${events.length},"events":[${events.map((e) => e.json).join(',')}],"next":${older},"prev":${newer}}`,
    );
  });
}
