/**
 * @module The embedded event log: SQLite through better-sqlite3 in WAL mode. One writer connection in a worker thread
 * (writer.ts) takes every write; this thread reads through its own connection, which WAL lets run beside the writer.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { EventFields } from '../../core/fields.js';
import type { EventFilter } from '../../core/filter.js';
import { CommittedEvent, type PreparedEvent, withId } from '../../core/prepare.js';
import type { EventStore, NodeAttributeFilter, PageRequest, RetentionPolicy, StoredEvent } from '../../core/store.js';
import { mergeStreams, PostingBuilder, PostingReader, unpackPostings } from './postings.js';
import { drivingKeys, type Where, whereFor } from './query.js';
import { DROP_V1_INDEXES, SCHEMA, SCHEMA_VERSION } from './schema.js';
import { WriterThread } from './writer.js';

/**
 * What a read selects, in this order. Rows come back as arrays (better-sqlite3's raw mode), which cost a page about
 * 40% less to build than objects keyed by column name; a JSON-only read takes the first two columns alone.
 */
const READ_ALL =
  'id, body, type, time_ms, project, location, action, severity, audit, username, protocol, node, hostname, zone, ' +
  'pool, domain, agent_name, macs, text';
const READ_JSON = 'id, body';
type RawRow = [
  id: number,
  body: string,
  type?: EventFields['type'],
  timeMs?: number,
  project?: string,
  location?: string,
  action?: string,
  severity?: number,
  audit?: number,
  username?: string,
  protocol?: string,
  node?: string | null,
  hostname?: string,
  zone?: string | null,
  pool?: string | null,
  domain?: string | null,
  agentName?: string | null,
  macs?: string | null,
  text?: string,
];

const PRUNE_CHUNK = 5000;
/** Candidate ids looked up per query when a page is read through posting lists. */
const IDS_PER_LOOKUP = 128;
const ID_SLOTS = new Array(IDS_PER_LOOKUP).fill('?').join(',');
/** Candidates spread over less than this many ids each are read as a range of the log instead of one by one. */
const DENSE_SPAN = 4;
const SET_STATE = 'INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value';

/**
 * An event read back from the log. Its wire JSON and facts are built on first use: a history page needs only the
 * JSON, and every object a page does not allocate shortens the garbage collector's pauses, which set its p99.
 */
class StoredRow implements StoredEvent {
  private wire: string | undefined;
  private facts: EventFields | undefined;
  constructor(private readonly r: RawRow) {}

  get id(): number {
    return this.r[0];
  }

  get json(): string {
    if (this.wire === undefined) this.wire = withId(this.r[1], this.r[0]);
    return this.wire;
  }

  get fields(): EventFields {
    if (this.facts === undefined) {
      if (this.r.length === 2) throw new Error(`event ${this.r[0]} was read for its JSON only (read: 'json')`);
      const r = this.r as Required<RawRow>;
      this.facts = {
        type: r[2],
        timeMs: r[3],
        project: r[4],
        location: r[5],
        action: r[6],
        severity: r[7],
        audit: r[8] === 1,
        username: r[9],
        protocol: r[10],
        node: r[11],
        hostname: r[12],
        zone: r[13],
        pool: r[14],
        domain: r[15],
        agentName: r[16],
        macs: r[17] ? r[17].slice(1, -1).split(',') : [],
        text: r[18],
      };
    }
    return this.facts;
  }
}

function fromRow(r: RawRow): StoredEvent {
  return new StoredRow(r);
}

export interface SqliteStoreOptions {
  /** database file, or ':memory:' */
  readonly path: string;
  /** `full` (default) makes each commit durable on return; `normal` trades the last commits on power loss for speed */
  readonly synchronous?: 'full' | 'normal' | 'off';
}

export class SqliteStore implements EventStore {
  readonly dialect = 'sqlite';
  readonly db: Database.Database;
  private head: number;
  private readonly writer: WriterThread;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly postings: PostingReader;

  constructor(opts: SqliteStoreOptions) {
    if (opts.path !== ':memory:') mkdirSync(dirname(opts.path), { recursive: true, mode: 0o700 });
    this.db = new Database(opts.path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${opts.synchronous ?? 'full'}`);
    this.db.pragma('busy_timeout = 5000');
    // Reads: a page touches ~100 rows spread over a large file; keep more of its pages than the 2 MiB default.
    this.db.pragma('cache_size = -65536');
    this.db.exec(SCHEMA);
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version === 1) this.migrateFrom1();
    else if (version !== 0 && version !== SCHEMA_VERSION) {
      throw new Error(`database schema version ${version} is not supported (expected ${SCHEMA_VERSION})`);
    }
    this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
    this.postings = new PostingReader(this.db);
    const seq = this.db.prepare(`SELECT seq FROM sqlite_sequence WHERE name = 'events'`).get() as
      | { seq: number }
      | undefined;
    this.head = seq?.seq ?? 0;
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    this.writer = new WriterThread(opts.path, [
      'journal_mode = WAL',
      `synchronous = ${opts.synchronous ?? 'full'}`,
      'busy_timeout = 5000',
    ]);
  }

  /**
   * Prepared statements by SQL text. A filter's SQL differs only by which keys it uses, so a few dozen texts cover
   * every query; preparing each page anew cost a few percent of a history request.
   */
  private statement(sql: string, raw = false): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) {
      if (this.statements.size >= 256) this.statements.clear();
      st = this.db.prepare(sql);
      if (raw) st.raw(true);
      this.statements.set(sql, st);
    }
    return st;
  }

  async append(events: readonly PreparedEvent[]): Promise<StoredEvent[]> {
    if (events.length === 0) return [];
    const postings = new PostingBuilder();
    for (let i = 0; i < events.length; i++) postings.add((events[i] as PreparedEvent).fields, i);
    const last = await this.writer.append(events, postings.pack());
    // One writer connection appends a transaction's rows with consecutive AUTOINCREMENT ids ending at `last`.
    const first = last - events.length + 1;
    const out: StoredEvent[] = new Array(events.length);
    for (let k = 0; k < events.length; k++) {
      const e = events[k] as PreparedEvent;
      out[k] = new CommittedEvent(first + k, e.body, e.fields);
    }
    this.head = last;
    return out;
  }

  async page(req: PageRequest, nodes?: NodeAttributeFilter): Promise<StoredEvent[]> {
    return this.pageSync(req, nodes);
  }

  pageSync(req: PageRequest, nodes?: NodeAttributeFilter): StoredEvent[] {
    const w = whereFor(req.filter, nodes);
    if (req.after !== undefined) {
      // The oldest `limit` events after the cursor, returned newest first (as MAAS does).
      return this.select(w, req.filter, false, req.after, undefined, req.limit, req.read).reverse();
    }
    return this.select(w, req.filter, true, req.before, undefined, req.limit, req.read);
  }

  async readAfter(afterId: number, limit: number, filter?: EventFilter, untilId?: number): Promise<StoredEvent[]> {
    return this.readAfterSync(afterId, limit, filter, untilId);
  }

  readAfterSync(afterId: number, limit: number, filter?: EventFilter, untilId?: number): StoredEvent[] {
    return this.select(whereFor(filter), filter, false, afterId, untilId, limit);
  }

  /**
   * Up to `limit` events matching `w`, past the keyset cursor `from` (exclusive) in the given direction and no further
   * than `to` (inclusive, ascending only). Read through posting lists when the filter has a dimension they serve,
   * otherwise by scanning the log in id order.
   */
  private select(
    w: Where,
    filter: EventFilter | undefined,
    descending: boolean,
    from: number | undefined,
    to: number | undefined,
    limit: number,
    read: PageRequest['read'] = 'all',
  ): StoredEvent[] {
    const order = descending ? 'DESC' : 'ASC';
    // Materialising eighteen columns per row took most of a bare page's time; JSON-only readers get two.
    const columns = read === 'json' ? READ_JSON : READ_ALL;
    const keys = drivingKeys(filter);
    if (!keys) {
      const params = [...w.params];
      let sql = `SELECT ${columns} FROM events WHERE ${w.sql}`;
      if (from !== undefined) {
        sql += descending ? ' AND id < ?' : ' AND id > ?';
        params.push(from);
      }
      if (to !== undefined) {
        sql += ' AND id <= ?';
        params.push(to);
      }
      params.push(limit);
      return (this.statement(`${sql} ORDER BY id ${order} LIMIT ?`, true).all(...params) as RawRow[]).map(fromRow);
    }
    const lookup = this.statement(
      `SELECT ${columns} FROM events WHERE id IN (${ID_SLOTS}) AND ${w.sql} ORDER BY id ${order} LIMIT ?`,
      true,
    );
    // A dense run of candidates is cheaper to read as an id range (rows are stored in id order) than id by id; the
    // range holds exactly the candidates that match, because every match of the filter is listed under its key.
    const range = this.statement(
      `SELECT ${columns} FROM events WHERE id BETWEEN ? AND ? AND ${w.sql} ORDER BY id ${order} LIMIT ?`,
      true,
    );
    const streams = keys.map((k) =>
      descending ? this.postings.descending(k, from) : this.postings.ascending(k, from, to),
    );
    const out: StoredEvent[] = [];
    const slots: unknown[] = new Array(IDS_PER_LOOKUP + w.params.length + 1);
    for (let i = 0; i < w.params.length; i++) slots[IDS_PER_LOOKUP + i] = w.params[i];
    for (const block of mergeStreams(streams, descending)) {
      for (let start = 0; start < block.length && out.length < limit; start += IDS_PER_LOOKUP) {
        const n = Math.min(IDS_PER_LOOKUP, block.length - start);
        const a = block[start] as number;
        const b = block[start + n - 1] as number;
        const want = limit - out.length;
        let rows: RawRow[];
        if (Math.abs(b - a) < DENSE_SPAN * n) {
          rows = range.all(Math.min(a, b), Math.max(a, b), ...w.params, want) as RawRow[];
        } else {
          for (let i = 0; i < IDS_PER_LOOKUP; i++) slots[i] = i < n ? block[start + i] : -1;
          slots[slots.length - 1] = want;
          rows = lookup.all(...slots) as RawRow[];
        }
        for (const row of rows) out.push(fromRow(row));
      }
      if (out.length >= limit) break;
    }
    return out;
  }

  async headId(): Promise<number> {
    return this.head;
  }

  headIdSync(): number {
    return this.head;
  }

  async prunedThrough(): Promise<number> {
    return Number(this.getStateSync('retention.pruned_through') ?? 0);
  }

  async count(): Promise<number> {
    return (this.statement('SELECT count(*) AS n FROM events').get() as { n: number }).n;
  }

  /** One chunk of retention: deletes a prefix of the log (so "pruned through id N" stays exact). */
  async prune(policy: RetentionPolicy, nowMs: number): Promise<number> {
    let through = 0;
    const first = (this.statement('SELECT min(id) AS id FROM events').get() as { id: number | null }).id;
    if (first === null) return 0;
    if (policy.maxCount !== undefined) {
      // Appends roll back with their sequence update and retention removes only a prefix, so the live ids are
      // contiguous and the cut is arithmetic rather than an OFFSET scan.
      const cut = this.head - policy.maxCount;
      if (cut >= first) through = Math.min(cut, first + PRUNE_CHUNK - 1);
    }
    if (policy.maxAgeMs !== undefined) {
      const cutoff = nowMs - policy.maxAgeMs;
      const rows = this.statement('SELECT id, time_ms FROM events ORDER BY id LIMIT ?').all(PRUNE_CHUNK) as Array<{
        id: number;
        time_ms: number;
      }>;
      for (const r of rows) {
        if (r.time_ms >= cutoff) break;
        if (r.id > through) through = r.id;
      }
    }
    if (through === 0) return 0;
    const prev = Number(this.getStateSync('retention.pruned_through') ?? 0);
    const [deleted] = await this.writer.run([
      ['DELETE FROM events WHERE id <= ?', [through]],
      ['DELETE FROM postings WHERE last <= ?', [through]],
      [SET_STATE, ['retention.pruned_through', String(Math.max(prev, through))]],
    ]);
    return deleted ?? 0;
  }

  async getState(key: string): Promise<string | undefined> {
    return this.getStateSync(key);
  }

  getStateSync(key: string): string | undefined {
    return (this.statement('SELECT value FROM state WHERE key = ?').get(key) as { value: string } | undefined)?.value;
  }

  async setState(key: string, value: string | undefined): Promise<void> {
    await this.writer.run([
      value === undefined ? ['DELETE FROM state WHERE key = ?', [key]] : [SET_STATE, [key, value]],
    ]);
  }

  async listState(prefix: string): Promise<Array<[string, string]>> {
    const rows = this.statement('SELECT key, value FROM state WHERE key >= ? AND key < ? ORDER BY key').all(
      prefix,
      `${prefix}\uffff`,
    ) as Array<{ key: string; value: string }>;
    return rows.map((r) => [r.key, r.value]);
  }

  /** Version 1 indexed with six secondary indexes: drop them and list the existing events in posting rows. */
  private migrateFrom1(): void {
    const rows = this.db.prepare(`SELECT ${READ_ALL} FROM events WHERE id > ? ORDER BY id LIMIT 10000`).raw(true);
    const insert = this.db.prepare('INSERT INTO postings (key, last, base, offs) VALUES (?, ?, ?, ?)');
    this.db.transaction(() => {
      this.db.exec(DROP_V1_INDEXES);
      for (let after = 0; ; ) {
        const chunk = (rows.all(after) as RawRow[]).map(fromRow);
        const first = chunk[0];
        if (!first) break;
        const postings = new PostingBuilder();
        for (const e of chunk) postings.add(e.fields, e.id - first.id);
        for (const [key, offs] of unpackPostings(postings.pack())) {
          insert.run(key, first.id + (offs[offs.length - 1] as number), first.id, Buffer.from(offs.slice().buffer));
        }
        after = (chunk[chunk.length - 1] as StoredEvent).id;
      }
    })();
  }

  async close(): Promise<void> {
    if (!this.db.open) return;
    await this.writer.close();
    this.db.close();
  }
}
