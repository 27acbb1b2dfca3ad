/** @module POST /1.0/events (publish) and GET /1.0/events/history (keyset-paged history). */

import type { FastifyInstance } from 'fastify';
import { ALL_SCOPE, parseFilter, restrictTypes } from '../../core/filter.js';
import { parsePage } from '../../core/page.js';
import { canPublish, canView, visibleTypes } from '../../core/permissions.js';
import { prepareBatch } from '../../core/prepare.js';
import type { StoredEvent } from '../../core/store.js';
import { authzFail, pageVisible, projectUrl } from '../auth.js';
import type { AppContext } from '../context.js';
import { sendSyncRaw } from '../envelope.js';
import { assertBatchSize, parseLimitedJson } from '../limits.js';
import { queryOf } from '../query.js';

const HISTORY_PATH = '/1.0/events/history';

export function eventsRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.post('/1.0/events', async (req, reply) => {
    // hostile-JSON checks and the batch limit, then can_publish on every event's project
    const raw = parseLimitedJson(req.body, req.headers['content-type']);
    assertBatchSize(raw);
    const prepared = prepareBatch(raw, ctx.publisher.options);
    if (req.identity.kind !== 'admin') {
      for (const e of prepared) {
        if (!canPublish(req.identity, e.fields.project)) {
          throw await authzFail(ctx, req, 'can_publish', projectUrl(e.fields.project));
        }
      }
    }
    const stored = await ctx.publisher.publish(prepared);
    return sendSyncRaw(reply, `{"ids":[${stored.map((s) => s.id).join(',')}]}`);
  });

  app.get(HISTORY_PATH, async (req, reply) => {
    const params = queryOf(req.raw.url);
    const now = ctx.now?.() ?? Date.now();
    let filter = parseFilter(params, { now, defaultScope: ALL_SCOPE });
    const page = parsePage(params);
    // a restricted caller: only visible types (asking for another is 403), only visible events
    const id = req.identity;
    let events: StoredEvent[];
    let more: { olderFrom?: number; newerFrom?: number } = {};
    if (id.kind === 'admin') events = await ctx.store.page({ filter, ...page, read: 'json' });
    else {
      const visible = visibleTypes(id);
      if (filter.types?.some((t) => !visible.includes(t))) throw await authzFail(ctx, req, 'can_view_events', '/1.0');
      filter = restrictTypes(filter, visible);
      ({ events, ...more } = await pageVisible(ctx.store, { filter, ...page }, (e) => canView(id, e.fields)));
    }
    const base = new URLSearchParams();
    for (const [k, v] of params) if (k !== 'after' && k !== 'before') base.append(k, v);
    const uri = (key: 'after' | 'before', id: number): string => {
      const p = new URLSearchParams(base);
      p.set(key, String(id));
      return JSON.stringify(`${HISTORY_PATH}?${p.toString()}`);
    };
    const first = events[0];
    const last = events[events.length - 1];
    let older = last && events.length === page.limit ? uri('before', last.id) : 'null';
    let newer = first ? uri('after', first.id) : page.after !== undefined ? uri('after', page.after) : 'null';
    if (more.olderFrom !== undefined) older = uri('before', more.olderFrom); // scan stopped
    if (more.newerFrom !== undefined) newer = uri('after', more.newerFrom);
    return sendSyncRaw(
      reply,
      `{"count":${events.length},"events":[${events.map((e) => e.json).join(',')}],"next":${older},"prev":${newer}}`,
    );
  });
}
