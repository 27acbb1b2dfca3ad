/** @module The live fan-out: one fabric subscription feeding every listener in id order, with bounded queues and resume. */
import type { Fabric } from '../core/fabric.js';
import type { EventFields } from '../core/fields.js';
import { ALL_SCOPE, type EventFilter, matches } from '../core/filter.js';
import { canView, type Identity } from '../core/permissions.js';
import type { EventStore, StoredEvent } from '../core/store.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';

/**
 * Close codes of the live stream (websocket close frames; other transports reuse the numbers). Clients that know them
 * can act on them: 4008 means "reconnect with since=<last id>", 4410 means the resume point is lost for good.
 */
export const CLOSE_CODES = {
  /** the server is stopping (RFC 6455 "going away") */
  GOING_AWAY: 1001,
  /** the server failed while serving the listener (RFC 6455 "internal error") */
  INTERNAL: 1011,
  /** the listener fell behind its bounded queue; the reason is `slow consumer: last id <N>` */
  SLOW_CONSUMER: 4008,
  /** `since` is older than retention: the reason is `410 Gone: since=<N> is older than retention (...)` */
  GONE: 4410,
} as const;

/** One committed event ready to send: encoded once, shared by every listener that receives it. */
export interface Frame {
  readonly id: number;
  /** the canonical JSON plus `\n` (LXD's json.Encoder ends each frame with a newline), as UTF-8 */
  readonly data: Buffer;
  /** a transport's own encoding of `data` (for websockets: the whole frame), built by the first sink that needs it */
  wire?: Buffer;
}

export function frameOf(e: StoredEvent): Frame {
  return { id: e.id, data: Buffer.from(`${e.json}\n`) };
}

/** What the hub needs from a connection. Every method is synchronous: the hub never waits on one listener. */
export interface ListenerSink {
  /** bytes handed to the transport and not yet written out */
  readonly bufferedAmount: number;
  send(frame: Frame): void;
  close(code: number, reason: string): void;
  /** optional batching of several sends into one write */
  cork?(): void;
  uncork?(): void;
}

/** Where a listener starts: after an id, or at the first event at/after a time. Absent: live only. */
export type ResumePoint = { readonly afterId: number } | { readonly sinceMs: number; readonly text: string };

export interface ListenerSpec {
  readonly filter: EventFilter;
  readonly identity: Identity;
  readonly sink: ListenerSink;
  readonly resume?: ResumePoint;
}

/** The transport's side of a listener. */
export interface ListenerHandle {
  readonly id: number;
  /** the transport drained its buffer: send what is queued */
  drained(): void;
  /** the connection went away: forget the listener */
  detach(): void;
  /** the last event id handed to the transport (the resume point when nothing was sent yet) */
  readonly lastId: number | undefined;
}

export interface HubOptions {
  /** most events queued for one listener before it is closed as a slow consumer */
  readonly maxQueueEvents?: number;
  /** most bytes queued for one listener before it is closed as a slow consumer */
  readonly maxQueueBytes?: number;
  /** the transport buffer size above which the hub queues instead of sending */
  readonly highWaterBytes?: number;
  /** events read from the store per replay step */
  readonly replayChunk?: number;
}

export const HUB_DEFAULTS = {
  maxQueueEvents: 8192,
  maxQueueBytes: 8 * 1024 * 1024,
  highWaterBytes: 256 * 1024,
  replayChunk: 512,
} as const;

interface HubDeps {
  readonly store: EventStore;
  readonly fabric: Fabric;
  readonly log?: Logger;
  readonly metrics?: Metrics;
}

class Listener implements ListenerHandle {
  state: 'replaying' | 'live' | 'closed';
  attached = true;
  /** ids at or below it were covered by the resume point or the replay */
  floor = 0;
  lastId: number | undefined;
  private queue: Frame[] = [];
  private head = 0;
  queuedBytes = 0;
  private waiter: (() => void) | undefined;

  constructor(
    readonly id: number,
    readonly hub: Hub,
    readonly filter: EventFilter,
    readonly identity: Identity,
    readonly sink: ListenerSink,
    replaying: boolean,
  ) {
    this.state = replaying ? 'replaying' : 'live';
  }

  get queued(): number {
    return this.queue.length - this.head;
  }

  wants(fields: EventFields): boolean {
    return matches(fields, this.filter) && canView(this.identity, fields);
  }

  /** Returns true when the frame went straight to the transport. */
  offer(frame: Frame): boolean {
    if (frame.id <= this.floor) return false;
    if (this.state === 'live' && this.head === this.queue.length && this.sink.bufferedAmount < this.hub.highWater) {
      this.sink.send(frame);
      this.lastId = frame.id;
      return true;
    }
    this.queue.push(frame);
    this.queuedBytes += frame.data.length;
    if (this.lastId === undefined && this.queued === 1) this.lastId = frame.id - 1;
    if (this.queued > this.hub.maxQueueEvents || this.queuedBytes > this.hub.maxQueueBytes) this.hub.overflow(this);
    return false;
  }

  /** Send queued frames while the transport has room; returns how many were sent. */
  flush(): number {
    let n = 0;
    while (this.state === 'live' && this.head < this.queue.length && this.sink.bufferedAmount < this.hub.highWater) {
      const f = this.queue[this.head] as Frame;
      this.queue[this.head++] = undefined as unknown as Frame;
      this.queuedBytes -= f.data.length;
      if (f.id <= this.floor) continue;
      this.sink.send(f);
      this.lastId = f.id;
      n++;
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return n;
  }

  /** Resolves when the transport has room again (used by replay, which reads the store at the client's pace). */
  writable(): Promise<void> {
    if (this.sink.bufferedAmount < this.hub.highWater || this.state === 'closed') return Promise.resolve();
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  drained(): void {
    const w = this.waiter;
    if (w && this.sink.bufferedAmount < this.hub.highWater) {
      this.waiter = undefined;
      w();
    }
    if (this.state === 'live' && this.queued > 0) this.hub.countDeliveries(this.flush());
  }

  detach(): void {
    this.hub.remove(this);
  }

  /** Release everything: a closed listener holds no frames. */
  release(): void {
    this.state = 'closed';
    this.queue = [];
    this.head = 0;
    this.queuedBytes = 0;
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
}

/**
 * The fan-out. Committed events arrive from the fabric in id order; each is encoded once and offered to every listener
 * synchronously, so a listener sees events in id order and a slow one costs the others nothing but a queue push. A
 * listener's memory is bounded twice: the transport buffer stops growing at `highWaterBytes` (the hub queues instead),
 * and the queue itself is capped by `maxQueueEvents`/`maxQueueBytes`, past which the listener is closed with code 4008.
 */
export class Hub {
  readonly maxQueueEvents: number;
  readonly maxQueueBytes: number;
  readonly highWater: number;
  private readonly replayChunk: number;
  private listeners: Listener[] = [];
  private nextId = 1;
  private closed = false;
  private readonly unsubscribe: () => void;
  private readonly store: EventStore;
  private readonly log: Logger | undefined;
  private readonly countDelivered: (by?: number) => void;
  private readonly countSlow: (by?: number) => void;
  private readonly countGone: (by?: number) => void;
  /** counters, also exported as metrics */
  readonly stats = { deliveries: 0, slowConsumers: 0, gone: 0, accepted: 0 };

  constructor(deps: HubDeps, opts: HubOptions = {}) {
    this.store = deps.store;
    this.log = deps.log;
    this.maxQueueEvents = opts.maxQueueEvents ?? HUB_DEFAULTS.maxQueueEvents;
    this.maxQueueBytes = opts.maxQueueBytes ?? HUB_DEFAULTS.maxQueueBytes;
    this.highWater = opts.highWaterBytes ?? HUB_DEFAULTS.highWaterBytes;
    this.replayChunk = opts.replayChunk ?? HUB_DEFAULTS.replayChunk;
    const m = deps.metrics;
    const noop = () => {};
    this.countDelivered = m?.counter('herald_live_deliveries_total', 'Events sent to live listeners') ?? noop;
    this.countSlow =
      m?.counter('herald_live_slow_consumer_disconnects_total', 'Live listeners closed for falling behind') ?? noop;
    this.countGone = m?.counter('herald_live_resume_gone_total', 'Resumes refused: point older than retention') ?? noop;
    m?.gauge('herald_live_listeners', 'Live event listeners connected', () => this.listeners.length);
    m?.gauge('herald_live_queued_events', 'Events queued for slow live listeners', () =>
      this.listeners.reduce((n, l) => n + l.queued, 0),
    );
    m?.gauge(
      'herald_live_held_bytes',
      'Bytes held for live listeners: queued plus what their transports report as buffered',
      () => this.heldBytes(),
    );
    this.unsubscribe = deps.fabric.subscribe((events) => this.publish(events));
  }

  get size(): number {
    return this.listeners.length;
  }

  /** Memory the hub answers for: every listener's queue plus what its transport has not written out yet. */
  heldBytes(): number {
    return this.listeners.reduce((n, l) => n + l.queuedBytes + l.sink.bufferedAmount, 0);
  }

  /**
   * Add a listener. It joins the live stream at once; with a resume point it first replays the store (live events are
   * held in its queue meanwhile) and then switches to live delivery without gap or duplicate.
   */
  attach(spec: ListenerSpec): ListenerHandle {
    const l = new Listener(this.nextId++, this, spec.filter, spec.identity, spec.sink, spec.resume !== undefined);
    if (this.closed) {
      l.release();
      spec.sink.close(CLOSE_CODES.GOING_AWAY, 'server shutting down');
      return l;
    }
    this.listeners = [...this.listeners, l];
    this.stats.accepted++;
    if (spec.resume && 'afterId' in spec.resume) l.lastId = spec.resume.afterId;
    if (spec.resume) {
      this.replay(l, spec.resume).catch((err: unknown) => {
        this.log?.error('Event replay failed', { err: err instanceof Error ? err.message : String(err) });
        this.closeListener(l, CLOSE_CODES.INTERNAL, 'replay failed');
      });
    }
    return l;
  }

  /** Fan out one committed batch (the fabric calls this in id order). */
  publish(events: readonly StoredEvent[]): void {
    const ls = this.listeners;
    if (ls.length === 0) return;
    // Several events for one socket go out in one write when the transport can cork.
    const cork = events.length > 1;
    if (cork) for (const l of ls) l.sink.cork?.();
    let sent = 0;
    try {
      for (const e of events) {
        let frame: Frame | undefined;
        for (const l of ls) {
          if (l.state === 'closed' || !l.wants(e.fields)) continue;
          frame ??= frameOf(e);
          if (l.offer(frame)) sent++;
        }
      }
    } finally {
      if (cork) for (const l of ls) l.sink.uncork?.();
    }
    this.countDeliveries(sent);
  }

  countDeliveries(n: number): void {
    if (n === 0) return;
    this.stats.deliveries += n;
    this.countDelivered(n);
  }

  overflow(l: Listener): void {
    this.stats.slowConsumers++;
    this.countSlow();
    const last = l.lastId ?? l.floor;
    this.log?.warn('Closing slow event listener', { listener: l.id, last_id: last, queued: l.queued });
    this.closeListener(l, CLOSE_CODES.SLOW_CONSUMER, `slow consumer: last id ${last}`);
  }

  remove(l: Listener): void {
    l.release();
    if (!l.attached) return;
    l.attached = false;
    // Copy on write: a fan-out loop in progress keeps iterating its own array.
    this.listeners = this.listeners.filter((x) => x !== l);
  }

  private closeListener(l: Listener, code: number, reason: string): void {
    if (l.state === 'closed') return;
    this.remove(l);
    l.sink.close(code, reason);
  }

  /** Close every listener (going away) and stop receiving events. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    for (const l of this.listeners) this.closeListener(l, CLOSE_CODES.GOING_AWAY, 'server shutting down');
  }

  /**
   * Resume (design notes, "Resume without gap or duplicate"): the listener already receives live events into its
   * queue; replay the store after the resume point up to the head as it was after joining, then drop queued ids at or
   * below that head and go live. Every id above the head was committed after the join, so it is in the queue.
   */
  private async replay(l: Listener, point: ResumePoint): Promise<void> {
    const pruned = await this.store.prunedThrough();
    let afterId: number;
    if ('afterId' in point) {
      afterId = point.afterId;
      if (afterId < pruned) return this.gone(l, `since=${afterId}`, pruned);
    } else {
      const [first] = await this.store.readAfter(0, 1, { scope: ALL_SCOPE, sinceMs: point.sinceMs });
      if (first) {
        // The oldest kept event is already after the time asked for: what was pruned may have been in the window.
        if (pruned > 0 && first.id === pruned + 1 && first.fields.timeMs > point.sinceMs) {
          return this.gone(l, `since=${point.text}`, pruned);
        }
        afterId = first.id - 1;
      } else afterId = await this.store.headId();
    }
    if (l.state === 'closed') return;
    l.lastId = afterId;
    const bound = await this.store.headId();
    let cursor = afterId;
    while (cursor < bound && l.state === 'replaying') {
      const chunk = await this.store.readAfter(cursor, this.replayChunk, l.filter, bound);
      if (l.state !== 'replaying') return;
      if (chunk.length === 0) break;
      for (const e of chunk) {
        if (!canView(l.identity, e.fields)) continue;
        // Replay goes at the client's pace: the transport buffer never grows past the high-water mark.
        if (l.sink.bufferedAmount >= this.highWater) await l.writable();
        if (l.state !== 'replaying') return;
        l.sink.send(frameOf(e));
        l.lastId = e.id;
        this.countDeliveries(1);
      }
      cursor = (chunk[chunk.length - 1] as StoredEvent).id;
      // Retention may have removed events after the cursor while this listener was reading slowly.
      const prunedNow = await this.store.prunedThrough();
      if (prunedNow > cursor && cursor < bound) return this.gone(l, `since=${cursor}`, prunedNow);
    }
    if (l.state !== 'replaying') return;
    l.floor = Math.max(bound, afterId);
    l.state = 'live';
    this.countDeliveries(l.flush());
  }

  private gone(l: Listener, what: string, pruned: number): void {
    this.stats.gone++;
    this.countGone();
    this.closeListener(
      l,
      CLOSE_CODES.GONE,
      `410 Gone: ${what} is older than retention (oldest available id ${pruned + 1})`,
    );
  }
}
