/**
 * @module One Loki target: a reader of the store with a durable cursor. It reads events after the cursor in id order,
 * batches their entries, pushes, and advances the cursor only after Loki answered 2xx; it retries forever, and
 * isolates and skips an entry that Loki rejects. The fabric only rings the doorbell; data always comes from the store.
 */
import type { HeraldEvent } from '../../core/event.js';
import type { Fabric } from '../../core/fabric.js';
import { ALL_SCOPE, type EventFilter } from '../../core/filter.js';
import type { EventStore, StoredEvent } from '../../core/store.js';
import type { Logger } from '../../service/log.js';
import { type LokiClient, LokiNetworkError, type LokiResponse } from './client.js';
import type { LokiType } from './config.js';
import { formatEvent, type LokiFormatOptions, naturalNs, streamKey } from './format.js';

/** Rows read from the store at a time. */
const READ_CHUNK = 2000;
/** Most entries in one push, whatever their size. */
const MAX_BATCH_ENTRIES = 50_000;
/** A stream whose last entry is this much older than the newest entry is forgotten (keeps the cursor state small). */
const STREAM_MEMORY_NS = 3_600_000_000_000n;
/** Statuses that reject entries of the batch (Loki's validation errors, a body too large): split and isolate. */
const ENTRY_REJECTIONS = new Set([400, 413, 422]);
/** How long the cursor may lag behind events that were all filtered out before it is written anyway. */
const IDLE_PERSIST_MS = 1000;

/** The durable part of a target: the cursor and what makes resent entries identical. */
export interface ForwarderState {
  /** every event with id <= cursor has been delivered (or deliberately skipped) */
  readonly cursor: number;
  /** last timestamp given to each stream, as of the cursor (decimal nanoseconds) */
  readonly streams: ReadonlyArray<readonly [string, string]>;
  readonly sent: number;
  readonly rejected: number;
  readonly createdAt: string;
}

export function parseState(raw: string | undefined): ForwarderState | undefined {
  if (raw === undefined) return undefined;
  try {
    const s = JSON.parse(raw) as Partial<ForwarderState>;
    if (typeof s.cursor !== 'number') return undefined;
    return {
      cursor: s.cursor,
      streams: Array.isArray(s.streams) ? s.streams : [],
      sent: s.sent ?? 0,
      rejected: s.rejected ?? 0,
      createdAt: s.createdAt ?? new Date().toISOString(),
    };
  } catch {
    return undefined;
  }
}

/** One entry on its way: everything needed to send it again byte for byte. */
export interface PendingEntry {
  readonly id: number;
  readonly timeMs: number;
  readonly key: string;
  readonly ts: bigint;
  readonly lineJson: string;
  readonly bytes: number;
}

/**
 * Timestamps that Loki accepts and that a resend reproduces: the event's natural timestamp (format.ts `naturalNs`),
 * raised to one nanosecond after the stream's previous entry when it is not later (publisher-provided timestamps can
 * go backwards; equal timestamps with equal lines would be deduplicated by Loki). Strictly increasing per stream.
 */
export class TimestampAssigner {
  readonly last: Map<string, bigint>;

  constructor(streams: Iterable<readonly [string, string]> = []) {
    this.last = new Map([...streams].map(([k, v]) => [k, BigInt(v)]));
  }

  assign(key: string, natural: bigint): bigint {
    const prev = this.last.get(key);
    const ts = prev !== undefined && natural <= prev ? prev + 1n : natural;
    this.last.set(key, ts);
    return ts;
  }

  /** Forget streams idle for an hour behind the newest; returns the threshold used (undefined: nothing to do). */
  prune(): bigint | undefined {
    if (this.last.size <= 64) return undefined;
    let max = 0n;
    for (const v of this.last.values()) if (v > max) max = v;
    const threshold = max - STREAM_MEMORY_NS;
    pruneBelow(this.last, threshold);
    return threshold;
  }
}

function pruneBelow(m: Map<string, bigint>, threshold: bigint): void {
  for (const [k, v] of m) if (v < threshold) m.delete(k);
}

/** A push body: entries grouped by stream, each stream's entries in id order (so in time order). */
export function encodePush(entries: readonly PendingEntry[]): string {
  const groups = new Map<string, string[]>();
  for (const e of entries) {
    let g = groups.get(e.key);
    if (!g) {
      g = [];
      groups.set(e.key, g);
    }
    g.push(`["${e.ts}",${e.lineJson}]`);
  }
  const parts: string[] = [];
  for (const [k, values] of groups) parts.push(`{"stream":${k},"values":[${values.join(',')}]}`);
  return `{"streams":[${parts.join(',')}]}`;
}

/** A formatted entry that has no timestamp yet (it is given one only when it joins a batch). */
export interface FormattedRow {
  readonly id: number;
  readonly timeMs: number;
  readonly key: string;
  readonly natural: bigint;
  readonly lineJson: string;
  readonly bytes: number;
}

/** The entry of a stored event for this target, or undefined when the target does not forward it. */
export function formatRow(row: StoredEvent, format: LokiFormatOptions): FormattedRow | undefined {
  const event = JSON.parse(row.json) as HeraldEvent;
  const entry = formatEvent(event, format);
  if (!entry) return undefined;
  return {
    id: row.id,
    timeMs: row.fields.timeMs,
    key: streamKey(entry.labels),
    natural: naturalNs(event.timestamp, row.fields.timeMs, row.id),
    lineJson: JSON.stringify(entry.line),
    bytes: entry.line.length,
  };
}

export function assignEntry(f: FormattedRow, assigner: TimestampAssigner): PendingEntry {
  return {
    id: f.id,
    timeMs: f.timeMs,
    key: f.key,
    ts: assigner.assign(f.key, f.natural),
    lineJson: f.lineJson,
    bytes: f.bytes,
  };
}

export interface RejectedEntry {
  readonly target: string;
  readonly eventId: number;
  readonly status: number;
  readonly reason: string;
}

export interface ForwarderCounters {
  readonly sent: (n: number) => void;
  readonly rejected: (n: number) => void;
  readonly retries: (n: number) => void;
  readonly batches: (n: number) => void;
}

export interface LokiForwarderOptions {
  readonly name: string;
  readonly url: string;
  readonly types: readonly LokiType[];
  readonly format: LokiFormatOptions;
  readonly client: LokiClient;
  readonly stateKey: string;
  readonly batchMaxBytes: number;
  readonly batchBacklogMaxBytes: number;
  readonly batchMaxWaitMs: number;
  readonly minBackoffMs: number;
  readonly maxBackoffMs: number;
}

export interface LokiForwarderDeps {
  readonly store: EventStore;
  readonly fabric: Fabric;
  readonly log: Logger;
  /** records a skipped entry (herald publishes a `logging` event) */
  readonly onRejected?: (r: RejectedEntry) => Promise<unknown> | undefined;
  readonly counters?: ForwarderCounters;
  readonly now?: () => number;
  readonly random?: () => number;
}

/** What `GET /1.0/forwarders` shows for a target. */
export interface ForwarderStatus {
  readonly name: string;
  readonly kind: 'loki';
  readonly url: string;
  readonly types: readonly string[];
  readonly state: 'running' | 'retrying' | 'stopped';
  readonly cursor: number;
  readonly head: number;
  readonly lag_events: number;
  readonly lag_seconds: number;
  readonly oldest_unsent: string | null;
  readonly last_success: string | null;
  readonly last_error: { readonly time: string; readonly message: string } | null;
  readonly retries: number;
  readonly consecutive_failures: number;
  readonly entries_sent: number;
  readonly entries_rejected: number;
  readonly batches_sent: number;
  readonly created_at: string;
}

interface Batch {
  entries: PendingEntry[];
  bytes: number;
  /** wall time the first entry joined */
  firstAt: number;
  /** highest id read into this batch (filtered events included) */
  through: number;
}

interface Piece {
  readonly entries: readonly PendingEntry[];
  readonly through: number;
  /** the batch's last piece: acknowledging it completes the batch */
  readonly last: boolean;
}

class Stopped extends Error {}

export class LokiForwarder {
  private cursor = 0;
  private readPos = 0;
  private acked = new Map<string, bigint>();
  private assigner = new TimestampAssigner();
  private batch: Batch;
  /** the batch being pushed while `batch` fills */
  private inflight: Batch | undefined;
  private carry: { row: StoredEvent; entry: FormattedRow } | undefined;
  /** prune threshold applied when the current batch was sealed, applied again when it is acknowledged */
  private sealedPrune: bigint | undefined;
  private filter: EventFilter;
  private sent = 0;
  private rejected = 0;
  private createdAt = new Date().toISOString();
  private batches = 0;
  private retries = 0;
  private failures = 0;
  private lastSuccess: number | undefined;
  private lastError: { time: number; message: string } | undefined;
  private lastPersist = 0;
  private dirty = false;
  private knownHead = 0;
  private running: Promise<void> | undefined;
  private stopping = false;
  private persisting = true;
  private flushNow = false;
  private readonly abort = new AbortController();
  private rung = false;
  private wake: (() => void) | undefined;
  private unsubscribe: (() => void) | undefined;
  private cursorWaiters: Array<{ id: number; resolve: () => void }> = [];
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(
    readonly options: LokiForwarderOptions,
    private readonly deps: LokiForwarderDeps,
  ) {
    this.now = deps.now ?? Date.now;
    this.random = deps.random ?? Math.random;
    this.filter = { types: [...options.types], scope: ALL_SCOPE };
    this.batch = this.emptyBatch();
  }

  get name(): string {
    return this.options.name;
  }

  /** Load the cursor (a new target starts at the store's head: it forwards what happens from now on, as LXD). */
  async start(): Promise<void> {
    const { store } = this.deps;
    this.knownHead = await store.headId();
    const state = parseState(await store.getState(this.options.stateKey));
    if (state) {
      this.cursor = state.cursor;
      this.acked = new Map(state.streams.map(([k, v]) => [k, BigInt(v)]));
      this.sent = state.sent;
      this.rejected = state.rejected;
      this.createdAt = state.createdAt;
      const pruned = await store.prunedThrough();
      if (pruned > this.cursor) {
        this.deps.log.warn('Loki target resumes after events removed by retention', {
          target: this.name,
          cursor: this.cursor,
          pruned_through: pruned,
        });
      }
    } else {
      this.cursor = this.knownHead;
      // Written at once, so that events published before the first push survive a restart.
      await this.persist();
    }
    this.readPos = this.cursor;
    this.assigner = new TimestampAssigner([...this.acked].map(([k, v]) => [k, String(v)] as const));
    this.unsubscribe = this.deps.fabric.subscribe((events) => {
      const last = events[events.length - 1];
      if (last && last.id > this.knownHead) this.knownHead = last.id;
      this.ring();
    });
    this.running = this.run();
  }

  /** Stop: an in-flight push is abandoned (it will be sent again, identically, by the next run). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.unsubscribe?.();
    this.abort.abort();
    this.ring();
    await this.running;
    if (this.dirty && this.persisting) await this.persist();
    this.options.client.close();
    for (const w of this.cursorWaiters) w.resolve();
    this.cursorWaiters = [];
  }

  /**
   * Deliver up to `id` (sending partial batches at once) within `timeoutMs`, then stop. `forget`: the target is being
   * removed, so the cursor is not written again. A target that is failing stops at once.
   */
  async drainAndStop(id: number, timeoutMs: number, forget = false): Promise<void> {
    this.flushNow = true;
    this.ring();
    if (this.cursor < id && this.failures === 0 && timeoutMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        this.cursorWaiters.push({
          id,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      });
    }
    if (forget) this.persisting = false;
    await this.stop();
  }

  async status(): Promise<ForwarderStatus> {
    const head = Math.max(this.knownHead, await this.deps.store.headId());
    let oldest = this.oldestPending();
    if (oldest === undefined && head > this.cursor) {
      const rows = await this.deps.store.readAfter(this.cursor, 1000, this.filter, head);
      for (const r of rows) {
        if (formatRow(r, this.options.format)) {
          oldest = r.fields.timeMs;
          break;
        }
      }
    }
    const now = this.now();
    return {
      name: this.name,
      kind: 'loki',
      url: this.options.url,
      types: this.options.types,
      state: this.stopping ? 'stopped' : this.failures > 0 ? 'retrying' : 'running',
      cursor: this.cursor,
      head,
      lag_events: Math.max(0, head - this.cursor),
      lag_seconds: oldest === undefined ? 0 : Math.max(0, (now - oldest) / 1000),
      oldest_unsent: oldest === undefined ? null : new Date(oldest).toISOString(),
      last_success: this.lastSuccess === undefined ? null : new Date(this.lastSuccess).toISOString(),
      last_error: this.lastError
        ? { time: new Date(this.lastError.time).toISOString(), message: this.lastError.message }
        : null,
      retries: this.retries,
      consecutive_failures: this.failures,
      entries_sent: this.sent,
      entries_rejected: this.rejected,
      batches_sent: this.batches,
      created_at: this.createdAt,
    };
  }

  /** Synchronous figures for Prometheus scrapes. */
  gauges(): { cursor: number; lagEvents: number; lagSeconds: number; lastSuccess: number; up: number } {
    const oldest = this.oldestPending();
    return {
      cursor: this.cursor,
      lagEvents: Math.max(0, this.knownHead - this.cursor),
      lagSeconds: oldest === undefined ? 0 : Math.max(0, (this.now() - oldest) / 1000),
      lastSuccess: this.lastSuccess === undefined ? 0 : this.lastSuccess / 1000,
      up: this.failures === 0 ? 1 : 0,
    };
  }

  get totals(): { sent: number; rejected: number; cursor: number } {
    return { sent: this.sent, rejected: this.rejected, cursor: this.cursor };
  }

  /** Time of the oldest entry read but not yet acknowledged (a split batch is acknowledged piece by piece). */
  private oldestPending(): number | undefined {
    for (const b of [this.inflight, this.batch]) {
      for (const e of b?.entries ?? []) {
        if (e.id > this.cursor) return e.timeMs;
      }
    }
    return undefined;
  }

  private emptyBatch(): Batch {
    return { entries: [], bytes: 0, firstAt: 0, through: this.readPos };
  }

  private ring(): void {
    this.rung = true;
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** Wait for the doorbell, or `ms` (forever when undefined), or stop. */
  private async waitFor(ms?: number): Promise<void> {
    if (this.rung || this.stopping) {
      this.rung = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(resolve, ms);
      this.wake = () => {
        if (timer) clearTimeout(timer);
        resolve();
      };
    });
    this.wake = undefined;
    this.rung = false;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopping) return resolve();
      const timer = setTimeout(done, ms);
      const signal = this.abort.signal;
      function done(): void {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
  }

  private async run(): Promise<void> {
    let errors = 0;
    while (!this.stopping) {
      try {
        await this.step();
        errors = 0;
      } catch (err) {
        if (err instanceof Stopped || this.stopping) break;
        // Not Loki's fault (a store error, say): note it and try again later rather than die silently.
        this.noteError(`internal: ${(err as Error).message}`);
        this.deps.log.error('Loki forwarder failed', { target: this.name, err: (err as Error).message });
        await this.sleep(this.backoff(errors++));
      }
    }
  }

  private async step(): Promise<void> {
    const head = await this.deps.store.headId();
    if (head > this.knownHead) this.knownHead = head;
    await this.fill(head);
    const b = this.batch;
    if (b.entries.length === 0) {
      // Only filtered events so far: move the cursor past them without sending anything.
      if (this.readPos > this.cursor) {
        this.cursor = this.readPos;
        this.dirty = true;
        this.resolveWaiters();
      }
      if (this.dirty && this.now() - this.lastPersist >= IDLE_PERSIST_MS) await this.persist();
      if (this.readPos >= head) await this.waitFor(this.dirty ? IDLE_PERSIST_MS : undefined);
      return;
    }
    const more = this.readPos < head || this.carry !== undefined;
    const full = more || b.bytes >= this.options.batchMaxBytes || b.entries.length >= MAX_BATCH_ENTRIES;
    const age = this.now() - b.firstAt;
    if (!full && !this.flushNow && age < this.options.batchMaxWaitMs) {
      await this.waitFor(this.options.batchMaxWaitMs - age);
      return;
    }
    this.sealedPrune = this.assigner.prune();
    this.inflight = b;
    this.batch = this.emptyBatch();
    // While Loki works on this batch, the next one is read and formatted: the two run side by side. The cursor still
    // moves only on Loki's answer, and the next batch's timestamps depend only on what was read, not on the answer.
    const [sent, prefetched] = await Promise.allSettled([
      this.deliver(b).finally(() => {
        this.inflight = undefined;
      }),
      this.stopping ? Promise.resolve() : this.deps.store.headId().then((h) => this.fill(h)),
    ]);
    this.inflight = undefined;
    if (sent.status === 'rejected') throw sent.reason;
    if (prefetched.status === 'rejected') throw prefetched.reason;
  }

  /** Read events after the read position into the batch until it is full or the store's head is reached. */
  private async fill(head: number): Promise<void> {
    const b = this.batch;
    const fits = (e: FormattedRow, limit: number): boolean =>
      b.entries.length === 0 || (b.bytes + e.bytes <= limit && b.entries.length < MAX_BATCH_ENTRIES);
    const add = (row: StoredEvent, f: FormattedRow | undefined): void => {
      if (f) {
        if (b.entries.length === 0) b.firstAt = this.now();
        b.entries.push(assignEntry(f, this.assigner));
        b.bytes += f.bytes;
      }
      this.readPos = row.id;
      b.through = row.id;
    };
    // A live batch is LXD's size; when more events wait than fit in one, it grows to the backlog size.
    const limit = (): number =>
      this.readPos < head || this.carry ? this.options.batchBacklogMaxBytes : this.options.batchMaxBytes;
    if (this.carry) {
      if (!fits(this.carry.entry, limit())) return;
      add(this.carry.row, this.carry.entry);
      this.carry = undefined;
    }
    while (this.readPos < head && !this.stopping) {
      // A store read may complete without giving I/O a turn; yielding lets an in-flight push progress meanwhile.
      await new Promise<void>((r) => setImmediate(r));
      const rows = await this.deps.store.readAfter(this.readPos, READ_CHUNK, this.filter, head);
      if (rows.length === 0) {
        this.readPos = head;
        b.through = head;
        return;
      }
      for (const row of rows) {
        const f = formatRow(row, this.options.format);
        if (f && !fits(f, limit())) {
          // Kept formatted, not yet timestamped: the next batch starts with it.
          this.carry = { row, entry: f };
          return;
        }
        add(row, f);
      }
      if (rows.length < READ_CHUNK) {
        this.readPos = head;
        b.through = head;
      }
    }
  }

  /** Push a batch; on a rejection split it in halves until the rejected entry stands alone, and skip that entry. */
  private async deliver(batch: Batch): Promise<void> {
    const work: Piece[] = [{ entries: batch.entries, through: batch.through, last: true }];
    while (work.length > 0) {
      const piece = work[0] as Piece;
      const res = await this.pushWithRetry(piece.entries);
      work.shift();
      if (res === 'ok') {
        await this.ack(piece, piece.entries.length, 0);
      } else if (piece.entries.length === 1) {
        await this.skip(piece.entries[0] as PendingEntry, res);
        await this.ack(piece, 0, 1);
      } else {
        const mid = Math.ceil(piece.entries.length / 2);
        const left = piece.entries.slice(0, mid);
        const right = piece.entries.slice(mid);
        work.unshift(
          { entries: left, through: (left[left.length - 1] as PendingEntry).id, last: false },
          { entries: right, through: piece.through, last: piece.last },
        );
      }
    }
    this.flushNow = false;
  }

  private async skip(entry: PendingEntry, res: LokiResponse): Promise<void> {
    const reason = res.body.slice(0, 512);
    // The durable record is the logging event below; a warning here would become a second one (log records are
    // published as logging events), so the log line is for debugging only.
    this.deps.log.debug('Loki rejected an event; it is skipped', {
      target: this.name,
      event_id: entry.id,
      status: res.status,
      reason,
    });
    this.deps.counters?.rejected(1);
    try {
      await this.deps.onRejected?.({ target: this.name, eventId: entry.id, status: res.status, reason });
    } catch (err) {
      this.deps.log.error('Recording a rejected Loki entry failed', { err: (err as Error).message });
    }
  }

  private async ack(piece: Piece, sent: number, rejected: number): Promise<void> {
    for (const e of piece.entries) this.acked.set(e.key, e.ts);
    if (piece.last && this.sealedPrune !== undefined) pruneBelow(this.acked, this.sealedPrune);
    this.cursor = piece.through;
    this.sent += sent;
    this.rejected += rejected;
    if (sent > 0) {
      this.batches++;
      this.deps.counters?.sent(sent);
      this.deps.counters?.batches(1);
    }
    await this.persist();
    this.resolveWaiters();
  }

  private resolveWaiters(): void {
    if (this.cursorWaiters.length === 0) return;
    const still: typeof this.cursorWaiters = [];
    for (const w of this.cursorWaiters) {
      if (this.cursor >= w.id) w.resolve();
      else still.push(w);
    }
    this.cursorWaiters = still;
  }

  private async persist(): Promise<void> {
    if (!this.persisting) return;
    const state: ForwarderState = {
      cursor: this.cursor,
      streams: [...this.acked].map(([k, v]) => [k, String(v)] as const),
      sent: this.sent,
      rejected: this.rejected,
      createdAt: this.createdAt,
    };
    await this.deps.store.setState(this.options.stateKey, JSON.stringify(state));
    this.lastPersist = this.now();
    this.dirty = false;
  }

  private backoff(attempt: number): number {
    const { minBackoffMs, maxBackoffMs } = this.options;
    const base = Math.min(maxBackoffMs, minBackoffMs * 2 ** Math.min(attempt, 30));
    // Jitter spreads the retries of many members after a shared Loki comes back.
    return Math.round(base * (0.5 + this.random() * 0.5));
  }

  private noteError(message: string): void {
    this.lastError = { time: this.now(), message };
  }

  /** Push until Loki answers 2xx ('ok') or rejects entries (its answer); retries anything else forever. */
  private async pushWithRetry(entries: readonly PendingEntry[]): Promise<'ok' | LokiResponse> {
    const encoded = await this.options.client.encode(encodePush(entries));
    for (let attempt = 0; ; attempt++) {
      if (this.stopping) throw new Stopped();
      let problem: string;
      try {
        const res = await this.options.client.push(encoded, this.abort.signal);
        if (res.status >= 200 && res.status < 300) {
          this.lastSuccess = this.now();
          if (this.failures > 0) {
            this.deps.log.info('Loki target is reachable again', { target: this.name, failures: this.failures });
          }
          this.failures = 0;
          return 'ok';
        }
        if (ENTRY_REJECTIONS.has(res.status)) {
          this.noteError(`HTTP ${res.status}: ${res.body.slice(0, 200)}`);
          return res;
        }
        // 429, 5xx, and target-level 4xx (401, 403, 404 ...): the entries are fine, the target is not (yet).
        problem = `HTTP ${res.status}: ${res.body.slice(0, 200)}`;
      } catch (err) {
        if (err instanceof LokiNetworkError && err.aborted) throw new Stopped();
        problem = (err as Error).message;
      }
      this.noteError(problem);
      this.retries++;
      this.failures++;
      this.deps.counters?.retries(1);
      const delay = this.backoff(attempt);
      // The first failure and then one in ten are logged: an outage must be visible without flooding the log.
      if (this.failures === 1 || this.failures % 10 === 0) {
        this.deps.log.warn('Loki push failed; retrying', {
          target: this.name,
          err: problem,
          failures: this.failures,
          retry_in_ms: delay,
        });
      }
      await this.sleep(delay);
    }
  }
}
