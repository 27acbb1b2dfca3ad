/** @module The store contract: what every event log (SQLite, PostgreSQL) provides. The core defines it; adapters implement it. */
import type { EventFields } from './fields.js';
import type { EventFilter } from './filter.js';
import type { PreparedEvent } from './prepare.js';

/** An event as it comes back from the store: its id, its wire JSON (with id) and its indexed facts. */
export interface StoredEvent {
  readonly id: number;
  /** canonical JSON with `id`: the exact bytes sent to every reader, encoded once */
  readonly json: string;
  readonly fields: EventFields;
}

/** A keyset page: `before` (older than) or `after` (newer than) an id, newest first either way. */
export interface PageRequest {
  readonly filter: EventFilter;
  readonly before?: number;
  readonly after?: number;
  readonly limit: number;
  /**
   * `json` when the caller reads only each event's `json`: the store may then skip reading its facts, a good share of
   * a page's time (`fields` of such events throws). `all` (the default) reads both.
   */
  readonly read?: 'json' | 'all';
}

/** MAAS node-attribute filters, which match the attributes recorded on `maas` events. */
export interface NodeAttributeFilter {
  readonly macs?: readonly string[];
  readonly domains?: readonly string[];
  readonly zone?: string;
  readonly pool?: string;
  readonly agentName?: string;
}

export interface RetentionPolicy {
  readonly maxAgeMs?: number;
  readonly maxCount?: number;
}

export interface EventStore {
  readonly dialect: string;
  /** Append in one transaction; ids are assigned here, strictly increasing and never reused. */
  append(events: readonly PreparedEvent[]): Promise<StoredEvent[]>;
  /** Newest first, keyset-paged. */
  page(req: PageRequest, nodeFilter?: NodeAttributeFilter): Promise<StoredEvent[]>;
  /** Oldest first: events with id > afterId (and <= untilId when given) matching the filter. For replay and forwarders. */
  readAfter(afterId: number, limit: number, filter?: EventFilter, untilId?: number): Promise<StoredEvent[]>;
  /** Highest id assigned so far (0 when empty). */
  headId(): Promise<number>;
  /** Highest id removed by retention (0 when nothing was pruned): a resume point below it has lost events. */
  prunedThrough(): Promise<number>;
  /** Delete what the policy no longer keeps, a chunk at a time; returns how many were removed. */
  prune(policy: RetentionPolicy, nowMs: number): Promise<number>;
  count(): Promise<number>;
  /** Small durable key/value state: forwarder cursors, configuration, keys. */
  getState(key: string): Promise<string | undefined>;
  setState(key: string, value: string | undefined): Promise<void>;
  listState(prefix: string): Promise<Array<[string, string]>>;
  close(): Promise<void>;
}
