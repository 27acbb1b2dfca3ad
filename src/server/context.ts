/** @module What the HTTP transport needs from the rest of herald, supplied by the composition root. */
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Fabric } from '../core/fabric.js';
import type { Identity } from '../core/permissions.js';
import type { EventStore } from '../core/store.js';
import type { Logger } from '../service/log.js';
import type { Metrics } from '../service/metrics.js';
import type { Publisher } from '../service/publisher.js';

export interface ServerInfo {
  readonly serverName: string;
  readonly version: string;
  readonly location: string;
  readonly dataDir: string;
  readonly startedAt: string;
  /** extra `environment` keys contributed by optional parts (syslog socket path, listen addresses, ...) */
  readonly environment: Record<string, unknown>;
}

export interface AppContext {
  readonly store: EventStore;
  readonly publisher: Publisher;
  readonly fabric: Fabric;
  readonly info: ServerInfo;
  readonly log: Logger;
  readonly metrics: Metrics;
  /**
   * Who is calling. The transport that accepted the connection decides (the unix socket: the local admin); requests
   * injected in tests are the local admin unless a test supplies its own resolver.
   */
  readonly identify: (req: IncomingMessage) => Identity;
  readonly now?: () => number;
}

/** A part of the HTTP API: registers its routes and hooks on the app, with what it needs from the context. */
export type RouteModule = (app: FastifyInstance, ctx: AppContext) => void;
