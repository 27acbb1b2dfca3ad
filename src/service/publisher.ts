/**
 * @module The one publish path: validate, append (ids assigned), then fan out in id order. Requests that arrive while
 * a transaction is being written are committed together (group commit), each acknowledged only after its commit.
 */
import { UnavailableError } from '../core/errors.js';
import type { Fabric } from '../core/fabric.js';
import { type PreparedEvent, type PrepareOptions, prepareBatch } from '../core/prepare.js';
import type { EventStore, StoredEvent } from '../core/store.js';

interface Pending {
  readonly events: readonly PreparedEvent[];
  readonly resolve: (stored: StoredEvent[]) => void;
  readonly reject: (err: unknown) => void;
}

interface InFlight {
  readonly batch: Pending[];
  /** the committed events, or undefined when the transaction failed */
  readonly done: Promise<StoredEvent[] | undefined>;
}

/** Most transactions handed to the store before the oldest of them is acknowledged. */
const MAX_IN_FLIGHT = 2;
/**
 * Events that must be waiting before a second transaction is started beside one being written. Below this, waiting
 * for the commit and writing one larger group is cheaper (the single-event case); above it, starting now keeps this
 * thread busy preparing the next requests instead of idling until the writer has caught up.
 */
const PIPELINE_MIN_EVENTS = 500;

export interface PublisherOptions extends PrepareOptions {
  /** most events in one transaction; a larger single request still commits whole */
  readonly maxTransactionEvents?: number;
}

export class Publisher {
  private pending: Pending[] = [];
  private pendingEvents = 0;
  private readonly inFlight: InFlight[] = [];
  /** batches whose group transaction failed, committed request by request once nothing is in flight */
  private failed: Pending[][] = [];
  private scheduled = false;
  private flushing = false;
  private closed = false;
  private idle: Array<() => void> = [];
  /** counters for /1.0/metrics */
  readonly stats = { transactions: 0, events: 0, requests: 0 };

  constructor(
    private readonly store: EventStore,
    private readonly fabric: Fabric,
    readonly options: PublisherOptions,
  ) {}

  /** Validate a raw publish body (one event or an array) and publish it: all of it or nothing. */
  publishRaw(raw: unknown): Promise<StoredEvent[]> {
    try {
      return this.publish(prepareBatch(raw, this.options));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  publish(events: readonly PreparedEvent[]): Promise<StoredEvent[]> {
    if (this.closed) return Promise.reject(new UnavailableError('server is shutting down'));
    if (events.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.pending.push({ events, resolve, reject });
      this.pendingEvents += events.length;
      if (this.flushing) this.startTransactions();
      else if (!this.scheduled) {
        this.scheduled = true;
        // setImmediate runs after pending I/O callbacks, so requests that arrived together share one transaction.
        setImmediate(() => void this.flush());
      }
    });
  }

  /** Resolves when nothing is waiting to be committed. */
  drained(): Promise<void> {
    if (!this.scheduled && !this.flushing && this.pending.length === 0) return Promise.resolve();
    return new Promise((r) => this.idle.push(r));
  }

  /** Stop accepting events; commit what was already accepted. */
  async close(): Promise<void> {
    this.closed = true;
    await this.drained();
  }

  private takeBatch(): Pending[] {
    const max = this.options.maxTransactionEvents ?? 10_000;
    let n = 0;
    let i = 0;
    while (i < this.pending.length && (i === 0 || n + (this.pending[i] as Pending).events.length <= max)) {
      n += (this.pending[i] as Pending).events.length;
      i++;
    }
    this.pendingEvents -= n;
    return this.pending.splice(0, i);
  }

  /**
   * Hand waiting requests to the store: always when nothing is being written, and as a second transaction when enough
   * events wait. The store commits appends in call order, so ids still follow the order of the transactions.
   */
  private startTransactions(): void {
    while (
      this.pending.length > 0 &&
      this.failed.length === 0 &&
      this.inFlight.length < MAX_IN_FLIGHT &&
      (this.inFlight.length === 0 || this.pendingEvents >= PIPELINE_MIN_EVENTS)
    ) {
      const batch = this.takeBatch();
      const all = batch.length === 1 ? (batch[0] as Pending).events : batch.flatMap((p) => p.events);
      this.inFlight.push({ batch, done: this.store.append(all).catch(() => undefined) });
    }
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    this.flushing = true;
    try {
      for (;;) {
        this.startTransactions();
        const oldest = this.inFlight[0];
        if (oldest === undefined) {
          if (this.failed.length === 0) break;
          // Commit each request alone so that one failing request (e.g. a full disk mid-batch) fails only itself.
          // Only now, with nothing in flight, so that their ids and fan-out still come after the transactions before.
          // Nothing new starts meanwhile: startTransactions waits while `failed` holds anything.
          for (const batch of this.failed) for (const p of batch) await this.commitAlone(p);
          this.failed = [];
          continue;
        }
        const stored = await oldest.done;
        this.inFlight.shift();
        if (stored === undefined) {
          this.failed.push(oldest.batch);
          continue;
        }
        this.stats.transactions++;
        this.stats.events += stored.length;
        this.stats.requests += oldest.batch.length;
        this.fabric.publish(stored);
        let offset = 0;
        for (const p of oldest.batch) {
          p.resolve(stored.slice(offset, offset + p.events.length));
          offset += p.events.length;
        }
      }
    } finally {
      this.flushing = false;
      const waiters = this.idle;
      this.idle = [];
      for (const w of waiters) w();
    }
  }

  private async commitAlone(p: Pending): Promise<void> {
    try {
      const stored = await this.store.append(p.events);
      this.stats.transactions++;
      this.stats.events += stored.length;
      this.stats.requests++;
      this.fabric.publish(stored);
      p.resolve(stored);
    } catch (err) {
      p.reject(err);
    }
  }
}
