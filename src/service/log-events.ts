/**
 * @module herald's own log records as `logging` events (as LXD's logrus hook makes them): a Logger sink that batches
 * the records of a tick into one publish, and never publishes a record that publishing a log event caused.
 */
import { z } from 'zod';
import type { Fabric } from '../core/fabric.js';
import type { LogrusLevel } from '../core/levels.js';
import { type PreparedEvent, prepareOne } from '../core/prepare.js';
import type { ConfigService } from './config.js';
import type { Logger, LogLevel, LogRecord } from './log.js';
import type { Metrics } from './metrics.js';
import type { Publisher } from './publisher.js';

/** Logger levels as logrus names; `critical` becomes `fatal` so that it keeps its severity for `level` filters. */
export const LOGRUS_BY_LOG_LEVEL: Readonly<Record<LogLevel, LogrusLevel>> = {
  debug: 'debug',
  info: 'info',
  warning: 'warning',
  error: 'error',
  critical: 'fatal',
};

/** Config key: publish debug records too (as `herald serve --debug` does). */
export const DEBUG_CONFIG_KEY = 'herald.debug_log_events';

/** Records waiting for the next tick; past this a flood of records is dropped rather than held. */
export const DEFAULT_MAX_PENDING = 10_000;
/** After a batch fails to commit, records are not published for this long (they still reach stderr). */
export const FAILURE_PAUSE_MS = 1000;

export interface LogEventsOptions {
  readonly log: Logger;
  readonly publisher: Publisher;
  /** lets the sink recognise the fan-out of its own events; subscribe before any listener does */
  readonly fabric?: Fabric;
  readonly metrics?: Metrics;
  readonly maxPending?: number;
}

/** The `logging` event of one record: context keys sorted, as Go marshals a map. */
export function logRecordEvent(record: LogRecord): {
  type: 'logging';
  timestamp: string;
  metadata: { message: string; level: LogrusLevel; context: Record<string, string> };
} {
  const context: Record<string, string> = {};
  for (const k of Object.keys(record.context).sort()) context[k] = record.context[k] as string;
  return {
    type: 'logging',
    timestamp: record.time.toISOString(),
    metadata: { message: record.message, level: LOGRUS_BY_LOG_LEVEL[record.level], context },
  };
}

export class LogEvents {
  readonly stats = { published: 0, dropped: 0, failed: 0, suppressed: 0 };
  private pending: LogRecord[] = [];
  private scheduled = false;
  /**
   * Above zero while a record would be one caused by publishing log events: during the publish call, while reporting
   * that a publish failed, and while a committed batch holding log events is handed to the fabric's subscribers.
   */
  private muted = 0;
  /**
   * Records written between a failed commit and its report (a store or publisher logging the failure) cannot be told
   * apart by context, so after a failure what is pending is dropped and nothing is taken for a while: a broken store
   * costs at most one attempt per pause instead of a loop.
   */
  private pausedUntil = 0;
  private readonly own = new WeakSet<object>();
  private inFlight: Promise<unknown> = Promise.resolve();
  private readonly baseSinkLevel: LogLevel;
  private readonly detachSink: () => void;
  private readonly unsubscribe: () => void;
  private unlistenConfig: (() => void) | undefined;
  private readonly countDropped: (by?: number) => void;

  constructor(private readonly opts: LogEventsOptions) {
    this.baseSinkLevel = opts.log.sinkLevel;
    this.detachSink = opts.log.addSink((record) => this.accept(record));
    this.unsubscribe =
      opts.fabric?.subscribe((events) => {
        if (this.muted > 0 || !events.some((e) => this.own.has(e.fields))) return;
        // Subscribers after this one run synchronously in this call; the publisher's next await ends the fan-out.
        this.muted++;
        queueMicrotask(() => this.muted--);
      }) ?? (() => {});
    const m = opts.metrics;
    m?.gauge(
      'herald_log_events_published_total',
      'Log records published as logging events',
      () => this.stats.published,
    );
    this.countDropped = m
      ? m.counter('herald_log_events_dropped_total', 'Log records not published (flood or failed publish)')
      : () => {};
  }

  /** Follow the config key that turns on debug records (on when either it or `--debug` says so). */
  useConfig(config: ConfigService): void {
    if (!config.definition(DEBUG_CONFIG_KEY)) {
      config.define([
        {
          key: DEBUG_CONFIG_KEY,
          schema: z.string().refine((v) => v === 'true' || v === 'false', { message: 'must be true or false' }),
          description: 'publish herald debug log records as logging events',
          defaultValue: 'false',
        },
      ]);
    }
    const apply = () => {
      this.opts.log.sinkLevel = config.effective(DEBUG_CONFIG_KEY) === 'true' ? 'debug' : this.baseSinkLevel;
    };
    apply();
    this.unlistenConfig = config.onChange((keys) => {
      if (keys.includes(DEBUG_CONFIG_KEY)) apply();
    });
  }

  /** Publish what is waiting now; resolves when it is committed (or failed). */
  async flush(): Promise<void> {
    this.publishPending();
    await this.inFlight;
  }

  /** Stop taking records; what was taken is still published by a following flush(). */
  detach(): void {
    this.detachSink();
    this.unsubscribe();
    this.unlistenConfig?.();
  }

  private accept(record: LogRecord): void {
    if (this.muted > 0) {
      this.stats.suppressed++;
      return;
    }
    if (this.pausedUntil > 0 && Date.now() < this.pausedUntil) {
      this.stats.dropped++;
      this.countDropped();
      return;
    }
    if (this.pending.length >= (this.opts.maxPending ?? DEFAULT_MAX_PENDING)) {
      this.stats.dropped++;
      this.countDropped();
      return;
    }
    this.pending.push(record);
    if (!this.scheduled) {
      this.scheduled = true;
      // Records of one tick become one publish request, so a burst of records is one transaction.
      setImmediate(() => this.publishPending());
    }
  }

  private publishPending(): void {
    this.scheduled = false;
    if (this.pending.length === 0) return;
    const records = this.pending;
    this.pending = [];
    const events: PreparedEvent[] = [];
    for (const r of records) {
      const p = prepareOne(logRecordEvent(r), 0, this.opts.publisher.options);
      if (Array.isArray(p)) {
        // e.g. a record over the event size limit: stderr still has it.
        this.stats.dropped++;
        this.countDropped();
        continue;
      }
      this.own.add(p.fields);
      events.push(p);
    }
    if (events.length === 0) return;
    let published: Promise<unknown>;
    this.muted++;
    try {
      published = this.opts.publisher.publish(events).then(
        (stored) => {
          this.stats.published += stored.length;
        },
        (err: Error) => {
          this.stats.failed += events.length;
          this.countDropped(events.length + this.pending.length);
          this.stats.dropped += this.pending.length;
          this.pending = [];
          this.pausedUntil = Date.now() + FAILURE_PAUSE_MS;
          this.muted++;
          try {
            this.opts.log.error('Publishing log events failed', { count: events.length, err: err.message });
          } finally {
            this.muted--;
          }
        },
      );
    } finally {
      this.muted--;
    }
    this.inFlight = Promise.all([this.inFlight, published]);
  }
}
