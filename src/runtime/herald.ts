/** @module The composition root: wires the store, the fabric, the publish path and the transports into one server. */
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { Fabric } from '../core/fabric.js';
import { LOCAL_ADMIN } from '../core/permissions.js';
import type { RetentionPolicy } from '../core/store.js';
import { InProcessFabric } from '../fabric/in-process/fabric.js';
import { buildApp } from '../server/app.js';
import type { ServerInfo } from '../server/context.js';
import { Logger } from '../service/log.js';
import { Metrics } from '../service/metrics.js';
import { Publisher } from '../service/publisher.js';
import { SqliteStore } from '../stores/sqlite/store.js';
import { VERSION } from '../version.js';
import { paths } from './paths.js';
import { listenUnix } from './unix-listener.js';

export interface HeraldOptions {
  readonly dataDir: string;
  /** member name; `none` when standalone, as LXD */
  readonly location?: string;
  readonly retention?: RetentionPolicy;
  /** how often retention runs, ms */
  readonly retentionIntervalMs?: number;
  readonly logger?: Logger;
  /** skip the unix socket (in-process tests use inject()) */
  readonly listen?: boolean;
  readonly synchronous?: 'full' | 'normal' | 'off';
}

export interface Herald {
  readonly store: SqliteStore;
  readonly fabric: Fabric;
  readonly publisher: Publisher;
  readonly app: FastifyInstance;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly info: ServerInfo;
  readonly socketPath: string;
  close(): Promise<void>;
}

export async function startHerald(opts: HeraldOptions): Promise<Herald> {
  const p = paths(opts.dataDir);
  mkdirSync(p.dir, { recursive: true, mode: 0o700 });
  const log = opts.logger ?? new Logger();
  const location = opts.location ?? 'none';
  const store = new SqliteStore({ path: p.database, synchronous: opts.synchronous });
  const fabric = new InProcessFabric();
  const publisher = new Publisher(store, fabric, { location });
  const info: ServerInfo = {
    serverName: hostname(),
    version: VERSION,
    location,
    dataDir: p.dir,
    startedAt: new Date().toISOString(),
    environment: { unix_socket: p.unixSocket },
  };
  const metrics = new Metrics();
  metrics.gauge('herald_events_head_id', 'Highest event id assigned', () => store.headIdSync());
  metrics.gauge('herald_publish_events_total', 'Events committed since start', () => publisher.stats.events);
  metrics.gauge(
    'herald_publish_transactions_total',
    'Store transactions since start',
    () => publisher.stats.transactions,
  );
  const app = await buildApp({ store, publisher, fabric, info, log, metrics, identify: () => LOCAL_ADMIN });
  const servers: Server[] = [];
  if (opts.listen !== false) {
    servers.push(await listenUnix(p.unixSocket, (req, res) => app.routing(req, res)));
  }

  let retentionTimer: NodeJS.Timeout | undefined;
  const retention = opts.retention;
  if (retention && (retention.maxAgeMs !== undefined || retention.maxCount !== undefined)) {
    // One chunk per tick, so that retention never holds the writer for long; a busy backlog drains over ticks.
    const tick = async (): Promise<void> => {
      try {
        const n = await store.prune(retention, Date.now());
        if (n > 0) log.debug('Retention pruned events', { count: n });
        retentionTimer = setTimeout(() => void tick(), n > 0 ? 10 : (opts.retentionIntervalMs ?? 60_000));
      } catch (err) {
        log.error('Retention failed', { err: (err as Error).message });
        retentionTimer = setTimeout(() => void tick(), opts.retentionIntervalMs ?? 60_000);
      }
    };
    retentionTimer = setTimeout(() => void tick(), 0);
  }

  let closed = false;
  return {
    store,
    fabric,
    publisher,
    app,
    log,
    metrics,
    info,
    socketPath: p.unixSocket,
    async close() {
      if (closed) return;
      closed = true;
      if (retentionTimer) clearTimeout(retentionTimer);
      await publisher.close();
      for (const s of servers) {
        s.closeAllConnections();
        await new Promise<void>((r) => s.close(() => r()));
      }
      await app.close();
      await fabric.close();
      await store.close();
    },
  };
}
