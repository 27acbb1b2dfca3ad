/** @module The composition root: wires the store, the fabric, the publish path and the transports into one server. */
import { chmodSync, mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Fabric } from '../core/fabric.js';
import type { RetentionPolicy } from '../core/store.js';
import { InProcessFabric } from '../fabric/in-process/fabric.js';
import { LokiManager } from '../forwarders/loki/manager.js';
import { buildApp } from '../server/app.js';
import { Auth, emitSystemEvent, guardUpgrades } from '../server/auth.js';
import type { ServerInfo } from '../server/context.js';
import { EventStream, type EventStreamOptions, eventsStreamRoute } from '../server/events-ws.js';
import { applyServerLimits, type Limits, withLimits } from '../server/limits.js';
import { configRoutes } from '../server/routes/config.js';
import { forwardersRoutes } from '../server/routes/forwarders.js';
import { lxdCompatRoutes, withLxcDefaultTypes } from '../server/routes/lxd-compat.js';
import { maasRoutes } from '../server/routes/maas.js';
import { sourcesRoutes } from '../server/routes/sources.js';
import { tokenRoutes } from '../server/routes/tokens.js';
import { trustRoutes } from '../server/routes/trust.js';
import { ConfigService } from '../service/config.js';
import { Hub, type HubOptions } from '../service/hub.js';
import { IdentityService } from '../service/identities.js';
import { Logger } from '../service/log.js';
import { LogEvents } from '../service/log-events.js';
import { Metrics } from '../service/metrics.js';
import { Publisher } from '../service/publisher.js';
import { FailureRateLimiter } from '../service/rate-limit.js';
import { SourceManager } from '../sources/lxd/manager.js';
import type { BackoffOptions } from '../sources/lxd/source.js';
import { parseLoopbackAddress, SyslogIntake } from '../sources/syslog/socket.js';
import { SqliteStore } from '../stores/sqlite/store.js';
import { VERSION } from '../version.js';
import { paths } from './paths.js';
import {
  boundAddress,
  concreteAddresses,
  ensureServerCertificate,
  listenHttps,
  parseListenAddress,
} from './tls-listener.js';
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
  /** listener queue limits and keepalive timing */
  readonly live?: HubOptions & EventStreamOptions;
  /** HTTPS listen addresses (`HOST:PORT`, port 8443 when omitted); none: the unix socket only */
  readonly https?: readonly string[];
  /** accept TLS 1.2 as well as 1.3 on the HTTPS listeners */
  readonly allowTls12?: boolean;
  /** override input and connection limits (tests lower the timeouts) */
  readonly limits?: Partial<Limits>;
  /** publish `sys_startup` once up and `sys_shutdown` before stopping (`herald serve` does) */
  readonly systemEvents?: boolean;
  /** open DIR/syslog.socket for Open vSwitch/OVN daemons and other syslog senders (default true) */
  readonly syslog?: boolean;
  /** also take syslog over UDP on this loopback `HOST:PORT` (e.g. `127.0.0.1:5514`) */
  readonly syslogUdp?: string;
  /** publish herald's own log records as `logging` events (`herald serve` does; off by default, like systemEvents) */
  readonly logEvents?: boolean;
  /** start the configured LXD sources (default true) */
  readonly sources?: boolean;
  /** reconnect timing of LXD sources (tests shorten it) */
  readonly sourceBackoff?: BackoffOptions;
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
  /** the fan-out behind GET /1.0/events */
  readonly hub: Hub;
  /** identities, the trust store and the auth guard */
  readonly auth: Auth;
  /** bound HTTPS addresses (`host:port`, port 0 resolved) and the server certificate */
  readonly httpsAddresses: readonly string[];
  readonly serverCertificate?: { readonly cert: string; readonly fingerprint: string };
  /** `GET/PUT/PATCH /1.0` `config`, persisted in the store */
  readonly config: ConfigService;
  /** one forwarder per `loki.*` target */
  readonly loki: LokiManager;
  /** the syslog intake (absent when neither the socket nor UDP is on) and the log-record sink */
  readonly syslog?: SyslogIntake;
  readonly logEvents?: LogEvents;
  /** the LXD servers whose events herald keeps */
  readonly sources: SourceManager;
  close(): Promise<void>;
}

export async function startHerald(opts: HeraldOptions): Promise<Herald> {
  const p = paths(opts.dataDir);
  mkdirSync(p.dir, { recursive: true, mode: 0o700 });
  chmodSync(p.dir, 0o700); // owner-only even when it already existed
  const limits = withLimits(opts.limits);
  const listenAddresses = (opts.https ?? []).map(parseListenAddress); // bad input fails first
  if (opts.syslogUdp !== undefined) parseLoopbackAddress(opts.syslogUdp); // refuse non-loopback first
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
  // own log records as logging events; subscribes to the fabric before the hub, to see its own fan-out
  const logEvents = opts.logEvents ? new LogEvents({ log, publisher, fabric, metrics }) : undefined;
  // the hub fans out what the fabric delivers; every listener (unix, later HTTPS) attaches `stream`
  const hub = new Hub({ store, fabric, log, metrics }, opts.live);
  // identities from the trust store and bearer tokens; the unix socket stays the local admin
  const identities = new IdentityService(store, { log });
  await identities.load();
  const limiter = new FailureRateLimiter({ burst: limits.authFailureBurst, refillMs: limits.authFailureRefillMs });
  const auth = new Auth({ identities, limiter, publisher, log });
  const identify = auth.identify;
  // the manager defines the `loki.*` keys before any request can set them
  const config = await ConfigService.open(store, log);
  logEvents?.useConfig(config); // herald.debug_log_events
  const loki = new LokiManager({
    store,
    fabric,
    publisher,
    config,
    log,
    metrics,
    location,
    httpsAddress: () => httpsAddresses[0], // OWASP host_ip/port, read once the listeners are bound
  });
  const stream = new EventStream(
    { hub, identify, log },
    { listenersPerIdentity: limits.listenersPerIdentity, maxPayloadBytes: limits.wsMaxPayloadBytes, ...opts.live },
  );
  // `self` is read at connect time, once the HTTPS certificate exists
  const sources = new SourceManager({
    store,
    publisher,
    log,
    metrics,
    dataDir: p.dir,
    backoff: opts.sourceBackoff,
    self: () => ({ fingerprint: serverCertificate?.fingerprint, socket: p.unixSocket }),
  });
  // lxc asks for no event type; it is sent the types it can render
  const upgrade = withLxcDefaultTypes(identify, stream.handleUpgrade);
  const app = await buildApp({ store, publisher, fabric, info, log, metrics, identify }, [
    eventsStreamRoute,
    maasRoutes,
    auth.hook,
    trustRoutes(auth),
    tokenRoutes(auth),
    configRoutes(config),
    forwardersRoutes(loki),
    lxdCompatRoutes,
    sourcesRoutes(sources),
  ]);
  // the LXD-style syslog socket (and loopback UDP) through which OVS/OVN daemons and syslog senders publish
  const syslogPath = opts.syslog === false ? undefined : join(p.dir, 'syslog.socket');
  const syslog =
    syslogPath || opts.syslogUdp
      ? await SyslogIntake.start({
          path: syslogPath,
          udp: opts.syslogUdp,
          publisher,
          metrics,
          log,
          config, // core.syslog_socket opens and closes the socket
          environment: info.environment, // syslog_socket, syslog_udp in GET /1.0
        })
      : undefined;
  const servers: Array<Server | HttpsServer> = []; // HTTPS servers too
  if (opts.listen !== false) {
    const unix = await listenUnix(p.unixSocket, (req, res) => app.routing(req, res));
    unix.on('upgrade', upgrade); // through withLxcDefaultTypes
    applyServerLimits(unix, limits, { capConnections: false });
    servers.push(unix);
  }

  // HTTPS listeners, their certificate, and what GET /1.0 and join tokens report
  const httpsAddresses: string[] = [];
  let serverCertificate: { cert: string; fingerprint: string } | undefined;
  if (listenAddresses.length > 0) {
    const cert = ensureServerCertificate(p.dir, listenAddresses);
    serverCertificate = { cert: cert.cert, fingerprint: cert.fingerprint };
    try {
      for (const address of listenAddresses) {
        const server = await listenHttps(
          { address, key: cert.key, cert: cert.cert, allowTls12: opts.allowTls12, limits },
          (req, res) => app.routing(req, res),
        );
        // Upgrades skip fastify's hooks: the guard refuses untrusted callers (with their security events) first.
        server.on('upgrade', guardUpgrades(auth, upgrade)); // `upgrade` wraps handleUpgrade
        servers.push(server);
        httpsAddresses.push(...concreteAddresses(address.host, parseListenAddress(boundAddress(server)).port));
      }
    } catch (err) {
      // e.g. the port is taken: release the sockets already bound (the caller exits with the error)
      for (const s of servers) s.close();
      throw err;
    }
    identities.setServer(cert.fingerprint, httpsAddresses);
    Object.assign(info.environment, {
      addresses: httpsAddresses,
      certificate: cert.cert,
      certificate_fingerprint: cert.fingerprint,
    });
  }
  await loki.start(); // after the HTTPS listeners, whose address the OWASP lines carry
  if (opts.sources !== false) await sources.start(); // after the listeners (self-check)

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

  if (opts.systemEvents) await emitSystemEvent({ publisher, log }, 'sys_startup');

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
    hub,
    auth,
    httpsAddresses,
    serverCertificate,
    config,
    loki,
    syslog,
    logEvents,
    sources,
    async close() {
      if (closed) return;
      closed = true;
      if (retentionTimer) clearTimeout(retentionTimer);
      // before anything stops, so forwarders still carry it (as LXD's sys_shutdown)
      if (opts.systemEvents) await emitSystemEvent({ publisher, log }, 'sys_shutdown');
      await sources.close(); // records each source's stop while the publish path is open
      await loki.close(); // before the publisher, which a forwarder uses to record a rejected entry
      // commit received syslog lines and pending log records while the publisher still takes them
      await syslog?.close();
      logEvents?.detach();
      await logEvents?.flush();
      await publisher.close();
      // listeners go before the servers, whose close() waits for upgraded sockets too
      hub.close();
      await stream.close();
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
