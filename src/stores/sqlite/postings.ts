/**
 * @module Posting lists, the SQLite store's substitute for secondary indexes (see schema.ts): the keys an event is
 * listed under, the rows one transaction writes, and cursors that read a key's ids in id order.
 */
import type Database from 'better-sqlite3';
import type { EventFields } from '../../core/fields.js';

/** Key prefixes by filter dimension. */
export const POSTING_PREFIX = { type: 't:', action: 'a:', username: 'u:', hostname: 'h:', node: 'n:' } as const;
export const AUDIT_KEY = 'audit';

/**
 * Every key an event is listed under. A security name is also listed under each of its `:`-prefixes, because an action
 * filter matches a name or any prefix of it (`authz_fail` matches `authz_fail:can_edit:/1.0/x`).
 */
export function postingKeys(f: EventFields, emit: (key: string) => void): void {
  emit(POSTING_PREFIX.type + f.type);
  if (f.action !== '') {
    emit(POSTING_PREFIX.action + f.action);
    if (f.type === 'security') {
      for (let i = f.action.indexOf(':'); i > 0; i = f.action.indexOf(':', i + 1)) {
        emit(POSTING_PREFIX.action + f.action.slice(0, i));
      }
    }
  }
  if (f.username !== '') emit(POSTING_PREFIX.username + f.username);
  if (f.hostname !== '') emit(POSTING_PREFIX.hostname + f.hostname);
  if (f.node !== null) emit(POSTING_PREFIX.node + f.node);
  if (f.audit) emit(AUDIT_KEY);
}

/** Most ids in one posting row. */
export const MAX_ROW_IDS = 512;

/** One transaction's posting rows: per key, offsets (id minus the transaction's first id), ascending. */
export class PostingBuilder {
  private readonly lists = new Map<string, number[]>();
  private offset = 0;
  private readonly emit = (key: string): void => {
    const list = this.lists.get(key);
    if (list === undefined) this.lists.set(key, [this.offset]);
    else if (list[list.length - 1] !== this.offset) list.push(this.offset);
  };

  add(fields: EventFields, offset: number): void {
    this.offset = offset;
    postingKeys(fields, this.emit);
  }

  /**
   * The posting rows, one per key and run of at most MAX_ROW_IDS ids (so that a reader wanting a page of a common key
   * reads a couple of kilobytes rather than a whole large transaction's list), packed for the writer thread.
   */
  pack(): PackedPostings {
    const keys: string[] = [];
    const meta: number[] = [];
    let total = 0;
    for (const list of this.lists.values()) total += list.length;
    const offs = new Uint32Array(total);
    let at = 0;
    for (const [key, list] of this.lists) {
      for (let start = 0; start < list.length; start += MAX_ROW_IDS) {
        const end = Math.min(list.length, start + MAX_ROW_IDS);
        keys.push(key);
        meta.push(key.length, end - start);
        for (let i = start; i < end; i++) offs[at++] = list[i] as number;
      }
    }
    return { keys: keys.join(''), meta: Int32Array.from(meta), offs };
  }
}

/**
 * Posting rows as the writer thread receives them: keys back to back, per row its key's length and its number of
 * offsets, and every row's offsets back to back. A few buffers cross the thread boundary far cheaper than hundreds of
 * small arrays, which structured clone copies one by one.
 */
export interface PackedPostings {
  readonly keys: string;
  readonly meta: Int32Array;
  readonly offs: Uint32Array;
}

/** The rows of packed postings as `[key, offsets]` (the writer thread unpacks the same layout inline). */
export function* unpackPostings(p: PackedPostings): Generator<[string, Uint32Array]> {
  let k = 0;
  let o = 0;
  for (let r = 0; r < p.meta.length; r += 2) {
    const keyLength = p.meta[r] as number;
    const n = p.meta[r + 1] as number;
    yield [p.keys.slice(k, k + keyLength), p.offs.subarray(o, o + n)];
    k += keyLength;
    o += n;
  }
}

interface PostingRow {
  last: number;
  base: number;
  offs: Buffer;
}

/** Ids decoded per block: a page needs about a hundred, while one posting row can list thousands. */
const BLOCK = 256;

/** The offsets of a row as uint32s (copied only when SQLite's buffer is not 4-byte aligned). */
function offsetsOf(row: PostingRow): Uint32Array {
  const b = row.offs;
  if (b.byteOffset % 4 === 0) return new Uint32Array(b.buffer, b.byteOffset, b.length >>> 2);
  return new Uint32Array(new Uint8Array(b).buffer);
}

/** Index of the first offset >= target (offsets ascend). */
function lowerBound(offs: Uint32Array, target: number): number {
  let lo = 0;
  let hi = offs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((offs[mid] as number) < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A row's ids below `before`, newest first, in blocks: only the blocks a reader asks for are decoded. */
function* rowDescending(row: PostingRow, before: number): Generator<number[]> {
  const offs = offsetsOf(row);
  let end = before - row.base <= 0 ? 0 : lowerBound(offs, before - row.base);
  while (end > 0) {
    const start = Math.max(0, end - BLOCK);
    const ids = new Array<number>(end - start);
    for (let i = end - 1, k = 0; i >= start; i--, k++) ids[k] = row.base + (offs[i] as number);
    yield ids;
    end = start;
  }
}

/** A row's ids above `after` and at most `until`, oldest first, in blocks. */
function* rowAscending(row: PostingRow, after: number, until: number): Generator<number[]> {
  const offs = offsetsOf(row);
  let start = after < row.base ? 0 : lowerBound(offs, after - row.base + 1);
  const stop = until < row.base ? 0 : lowerBound(offs, until - row.base + 1);
  while (start < stop) {
    const end = Math.min(stop, start + BLOCK);
    const ids = new Array<number>(end - start);
    for (let i = start; i < end; i++) ids[i - start] = row.base + (offs[i] as number);
    yield ids;
    start = end;
  }
}

/** Posting rows fetched per query: one first (a page rarely needs more), doubling up to the most for deep scans. */
const MAX_ROWS_PER_FETCH = 16;

/**
 * Offsets are written and read as the host's uint32s, which the schema defines as little-endian: a big-endian host
 * would misread every posting row, so it is refused outright.
 */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The statements a posting cursor uses, prepared once per connection. */
export class PostingReader {
  private readonly straddle: Database.Statement;
  private readonly older: Database.Statement;
  private readonly newer: Database.Statement;

  constructor(db: Database.Database) {
    if (!LITTLE_ENDIAN)
      throw new Error('the SQLite store needs a little-endian host (posting lists are little-endian)');
    // The row holding `bound` (its `last` is the first at or above it), then rows wholly below or above.
    this.straddle = db.prepare(
      'SELECT last, base, offs FROM postings WHERE key = ? AND last >= ? ORDER BY last LIMIT 1',
    );
    this.older = db.prepare(
      'SELECT last, base, offs FROM postings WHERE key = ? AND last < ? ORDER BY last DESC LIMIT ?',
    );
    this.newer = db.prepare('SELECT last, base, offs FROM postings WHERE key = ? AND last > ? ORDER BY last LIMIT ?');
  }

  /** A key's ids below `before` (exclusive), newest first, a block at a time. */
  *descending(key: string, before = Number.MAX_SAFE_INTEGER): Generator<number[]> {
    let below = before;
    const first = this.straddle.get(key, before) as PostingRow | undefined;
    if (first) {
      yield* rowDescending(first, before);
      // Older rows end below this row's first id (rows of one transaction share `base` but not their ids).
      below = Math.min(below, first.base + (offsetsOf(first)[0] as number));
    }
    for (let n = 1; ; n = Math.min(n * 2, MAX_ROWS_PER_FETCH)) {
      const rows = this.older.all(key, below, n) as PostingRow[];
      for (const row of rows) yield* rowDescending(row, Number.MAX_SAFE_INTEGER);
      if (rows.length < n) return;
      below = (rows[rows.length - 1] as PostingRow).last;
    }
  }

  /** A key's ids above `after` (exclusive) and at most `until`, oldest first, a block at a time. */
  *ascending(key: string, after = 0, until = Number.MAX_SAFE_INTEGER): Generator<number[]> {
    let above = after;
    for (let n = 1; ; n = Math.min(n * 2, MAX_ROWS_PER_FETCH)) {
      const rows = this.newer.all(key, above, n) as PostingRow[];
      for (const row of rows) {
        yield* rowAscending(row, after, until);
        if (row.last >= until) return;
      }
      if (rows.length < n) return;
      above = (rows[rows.length - 1] as PostingRow).last;
    }
  }
}

/**
 * Ids in order from several keys' streams (an OR of values), each id once. Every stream is sorted in the same
 * direction, so a merge that always takes the next id in that direction keeps the order.
 */
export function* mergeStreams(streams: Array<Iterator<number[]>>, descending: boolean): Generator<number[]> {
  const blocks: Array<number[] | undefined> = streams.map((s) => next(s));
  const at = blocks.map(() => 0);
  const before = (a: number, b: number) => (descending ? a > b : a < b);
  let out: number[] = [];
  let lastId = Number.NaN;
  for (;;) {
    let pick = -1;
    for (let i = 0; i < blocks.length; i++) {
      const b = blocks[i];
      if (b === undefined) continue;
      if (pick < 0 || before(b[at[i] as number] as number, (blocks[pick] as number[])[at[pick] as number] as number))
        pick = i;
    }
    if (pick < 0) break;
    const id = (blocks[pick] as number[])[at[pick] as number] as number;
    if (id !== lastId) out.push(id);
    lastId = id;
    at[pick] = (at[pick] as number) + 1;
    if ((at[pick] as number) >= (blocks[pick] as number[]).length) {
      blocks[pick] = next(streams[pick] as Iterator<number[]>);
      at[pick] = 0;
    }
    if (out.length >= BLOCK) {
      yield out;
      out = [];
    }
  }
  if (out.length > 0) yield out;
}

function next(it: Iterator<number[]>): number[] | undefined {
  for (;;) {
    const r = it.next();
    if (r.done) return undefined;
    if (r.value.length > 0) return r.value;
  }
}
