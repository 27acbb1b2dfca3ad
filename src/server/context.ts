/** @module What the HTTP transport needs from the rest of herald, supplied by the composition root. */
import type { EventStore } from '../core/store.js';
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
  readonly info: ServerInfo;
  readonly now?: () => number;
}
