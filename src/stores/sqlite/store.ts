/**
 * @module The embedded event log: SQLite through better-sqlite3 in WAL mode. One writer connection in a worker thread
 * (writer.ts) takes every write; this thread reads through its own connection, which WAL lets run beside the writer.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { EventFields } from '../../core/fields.js';
import type { EventFilter } from '../../core/filter.js';
import { type PreparedEvent, withId } from '../../core/prepare.js';
import type { EventStore, NodeAttributeFilter, PageRequest, RetentionPolicy, StoredEvent } from '../../core/store.js';
import { whereFor } from './query.js';
import { SCHEMA, SCHEMA_VERSION } from './schema.js';
import { COLUMNS, WriterThread } from './writer.js';

interface Row {
  id: number;
  type: EventFields['type'];
  time_ms: number;
  project: string;
  location: string;
  action: string;
  severity: number;
  audit: number;
  username: string;
  protocol: string;
  node: string | null;
  hostname: string;
  zone: string | null;
  pool: string | null;
  domain: string | null;
  agent_name: string | null;
  macs: string | null;
  text: string;
  body: string;
}

const PRUNE_CHUNK = 5000;
const SET_STATE = 'INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value';

function bindRow(params: unknown[], at: number, e: PreparedEvent): void {
  const f = e.fields;
  params[at] = f.type;
  params[at + 1] = f.timeMs;
  params[at + 2] = f.project;
  params[at + 3] = f.location;
  params[at + 4] = f.action;
  params[at + 5] = f.severity;
  params[at + 6] = f.audit ? 1 : 0;
  params[at + 7] = f.username;
  params[at + 8] = f.protocol;
  params[at + 9] = f.node;
  params[at + 10] = f.hostname;
  params[at + 11] = f.zone;
  params[at + 12] = f.pool;
  params[at + 13] = f.domain;
  params[at + 14] = f.agentName;
  params[at + 15] = f.macs.length > 0 ? `,${f.macs.join(',')},` : null;
  params[at + 16] = f.text;
  params[at + 17] = e.body;
}

function fromRow(r: Row): StoredEvent {
  return {
    id: r.id,
    json: withId(r.body, r.id),
    fields: {
      type: r.type,
      timeMs: r.time_ms,
      project: r.project,
      location: r.location,
      action: r.action,
      severity: r.severity,
      audit: r.audit === 1,
      username: r.username,
      protocol: r.protocol,
      node: r.node,
      hostname: r.hostname,
      zone: r.zone,
      pool: r.pool,
      domain: r.domain,
      agentName: r.agent_name,
      macs: r.macs ? r.macs.slice(1, -1).split(',') : [],
      text: r.text,
    },
  };
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

  constructor(opts: SqliteStoreOptions) {
    if (opts.path !== ':memory:') mkdirSync(dirname(opts.path), { recursive: true, mode: 0o700 });
    this.db = new Database(opts.path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${opts.synchronous ?? 'full'}`);
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version === 0) this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
    else if (version !== SCHEMA_VERSION) {
      throw new Error(`database schema version ${version} is not supported (expected ${SCHEMA_VERSION})`);
    }
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
  private statement(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) {
      if (this.statements.size >= 256) this.statements.clear();
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  async append(events: readonly PreparedEvent[]): Promise<StoredEvent[]> {
    if (events.length === 0) return [];
    const flat: unknown[] = new Array(events.length * COLUMNS);
    for (let i = 0; i < events.length; i++) bindRow(flat, i * COLUMNS, events[i] as PreparedEvent);
    const last = await this.writer.append(flat, events.length);
    // One writer connection appends a transaction's rows with consecutive AUTOINCREMENT ids ending at `last`.
    const first = last - events.length + 1;
    const out: StoredEvent[] = new Array(events.length);
    for (let k = 0; k < events.length; k++) {
      const e = events[k] as PreparedEvent;
      out[k] = { id: first + k, json: withId(e.body, first + k), fields: e.fields };
    }
    this.head = last;
    return out;
  }

  async page(req: PageRequest, nodes?: NodeAttributeFilter): Promise<StoredEvent[]> {
    return this.pageSync(req, nodes);
  }

  pageSync(req: PageRequest, nodes?: NodeAttributeFilter): StoredEvent[] {
    const w = whereFor(req.filter, nodes);
    const params = [...w.params];
    if (req.after !== undefined) {
      // The oldest `limit` events after the cursor, returned newest first (as MAAS does).
      params.push(req.after, req.limit);
      const rows = this.statement(`SELECT * FROM events WHERE ${w.sql} AND id > ? ORDER BY id ASC LIMIT ?`).all(
        ...params,
      ) as Row[];
      return rows.reverse().map(fromRow);
    }
    let sql = `SELECT * FROM events WHERE ${w.sql}`;
    if (req.before !== undefined) {
      sql += ' AND id < ?';
      params.push(req.before);
    }
    params.push(req.limit);
    return (this.statement(`${sql} ORDER BY id DESC LIMIT ?`).all(...params) as Row[]).map(fromRow);
  }

  async readAfter(afterId: number, limit: number, filter?: EventFilter, untilId?: number): Promise<StoredEvent[]> {
    return this.readAfterSync(afterId, limit, filter, untilId);
  }

  readAfterSync(afterId: number, limit: number, filter?: EventFilter, untilId?: number): StoredEvent[] {
    const w = whereFor(filter);
    const params = [...w.params, afterId];
    let sql = `SELECT * FROM events WHERE ${w.sql} AND id > ?`;
    if (untilId !== undefined) {
      sql += ' AND id <= ?';
      params.push(untilId);
    }
    params.push(limit);
    return (this.statement(`${sql} ORDER BY id ASC LIMIT ?`).all(...params) as Row[]).map(fromRow);
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

  async close(): Promise<void> {
    if (!this.db.open) return;
    await this.writer.close();
    this.db.close();
  }
}
