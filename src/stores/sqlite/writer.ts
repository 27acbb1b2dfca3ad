/**
 * @module The SQLite writer thread. All writes (appends, state, retention) run on one connection in a worker thread,
 * so commits and their fsyncs never block the event loop, and requests that arrive during a commit form the next
 * group commit. The worker is plain JavaScript evaluated from a string so that it runs the same under tsx, vitest
 * and the compiled build; better-sqlite3 is resolved by the main thread and passed in.
 */
import { createRequire } from 'node:module';
import { type Transferable, Worker } from 'node:worker_threads';
import type { PreparedEvent } from '../../core/prepare.js';
import type { PackedPostings } from './postings.js';

/** A row is its numbers, its short strings, then its body, in this column order (packRows follows it). */
const NUMBER_COLUMNS = ['time_ms', 'severity', 'audit'] as const;
const STRING_COLUMNS = [
  'type',
  'project',
  'location',
  'action',
  'username',
  'protocol',
  'node',
  'hostname',
  'zone',
  'pool',
  'domain',
  'agent_name',
  'macs',
  'text',
] as const;
const NUMBERS_PER_ROW = NUMBER_COLUMNS.length;
const STRINGS_PER_ROW = STRING_COLUMNS.length;
const ROWS_PER_INSERT = 50;

const COLUMNS = NUMBERS_PER_ROW + STRINGS_PER_ROW + 1;
const INSERT_HEAD = `INSERT INTO events (${[...NUMBER_COLUMNS, ...STRING_COLUMNS, 'body'].join(', ')}) VALUES `;
const ROW = `(${new Array(COLUMNS).fill('?').join(',')})`;

/**
 * A transaction's rows as the writer thread receives them: per row its numbers in `nums`; its short strings back to
 * back in `text`, their lengths in `lens` (-1 for null); and its body in `bodies`. Structured clone pays per value,
 * and eighteen small values per row cost it three times what one string, two buffers and the bodies do.
 */
interface PackedRows {
  readonly text: string;
  readonly lens: Int32Array;
  readonly nums: Float64Array;
  readonly bodies: string[];
}

/** A transaction's rows packed in the column order above (the worker below unpacks them in the same order). */
function packRows(events: readonly PreparedEvent[]): PackedRows {
  const count = events.length;
  const nums = new Float64Array(count * NUMBERS_PER_ROW);
  const lens = new Int32Array(count * STRINGS_PER_ROW);
  const bodies: string[] = new Array(count);
  let text = '';
  let at = 0;
  const put = (s: string | null): void => {
    if (s === null) lens[at++] = -1;
    else {
      lens[at++] = s.length;
      text += s;
    }
  };
  for (let i = 0; i < count; i++) {
    const e = events[i] as PreparedEvent;
    const f = e.fields;
    nums[i * NUMBERS_PER_ROW] = f.timeMs;
    nums[i * NUMBERS_PER_ROW + 1] = f.severity;
    nums[i * NUMBERS_PER_ROW + 2] = f.audit ? 1 : 0;
    put(f.type);
    put(f.project);
    put(f.location);
    put(f.action);
    put(f.username);
    put(f.protocol);
    put(f.node);
    put(f.hostname);
    put(f.zone);
    put(f.pool);
    put(f.domain);
    put(f.agentName);
    put(f.macs.length > 0 ? `,${f.macs.join(',')},` : null);
    put(f.text);
    bodies[i] = e.body;
  }
  return { text, lens, nums, bodies };
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.sqlite);
const db = new Database(workerData.path);
for (const p of workerData.pragmas) db.pragma(p);
const one = db.prepare(workerData.insertOne);
const many = db.prepare(workerData.insertMany);
const lastId = db.prepare('SELECT last_insert_rowid() AS id').pluck();
const posting = db.prepare('INSERT INTO postings (key, last, base, offs) VALUES (?, ?, ?, ?)');
const N = workerData.numbersPerRow;
const S = workerData.stringsPerRow;
const C = N + S + 1;
const R = workerData.rowsPerInsert;
const chunk = new Array(C * R);
const single = new Array(C);
const append = db.transaction((rows, postings) => {
  const { text, lens, nums, bodies } = rows;
  const count = bodies.length;
  let pos = 0;
  const unpack = (r, into, at) => {
    for (let k = 0; k < N; k++) into[at + k] = nums[r * N + k];
    for (let k = 0; k < S; k++) {
      const n = lens[r * S + k];
      if (n < 0) into[at + N + k] = null;
      else { into[at + N + k] = text.slice(pos, pos + n); pos += n; }
    }
    into[at + N + S] = bodies[r];
  };
  let i = 0;
  for (; i + R <= count; i += R) {
    for (let r = 0; r < R; r++) unpack(i + r, chunk, r * C);
    many.run(chunk);
  }
  for (; i < count; i++) { unpack(i, single, 0); one.run(single); }
  const last = Number(lastId.get());
  // One connection appends a transaction's rows with consecutive ids, so offsets count from the first of them.
  const base = last - count + 1;
  const { keys, meta, offs } = postings;
  for (let r = 0, k = 0, o = 0; r < meta.length; r += 2) {
    const n = meta[r + 1];
    const ids = offs.subarray(o, o + n);
    posting.run(keys.slice(k, k + meta[r]), base + ids[n - 1], base, Buffer.from(ids.buffer, ids.byteOffset, n * 4));
    k += meta[r];
    o += n;
  }
  return last;
});
const statements = new Map();
const run = db.transaction((list) => {
  const changes = [];
  for (const [sql, params] of list) {
    let st = statements.get(sql);
    if (!st) { st = db.prepare(sql); statements.set(sql, st); }
    changes.push(st.run(...params).changes);
  }
  return changes;
});
parentPort.on('message', (m) => {
  try {
    if (m.op === 'append') parentPort.postMessage({ seq: m.seq, ok: true, value: append(m.rows, m.postings) });
    else if (m.op === 'run') parentPort.postMessage({ seq: m.seq, ok: true, value: run(m.statements) });
    else if (m.op === 'close') { db.close(); parentPort.postMessage({ seq: m.seq, ok: true, value: 0 }); parentPort.close(); }
  } catch (err) {
    parentPort.postMessage({ seq: m.seq, ok: false, error: String(err && err.message || err) });
  }
});
`;

type Reply = { seq: number; ok: true; value: unknown } | { seq: number; ok: false; error: string };

export class WriterThread {
  private readonly worker: Worker;
  private seq = 0;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private failure: Error | undefined;

  constructor(path: string, pragmas: readonly string[]) {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        sqlite: createRequire(import.meta.url).resolve('better-sqlite3'),
        path,
        pragmas,
        insertOne: INSERT_HEAD + ROW,
        insertMany: INSERT_HEAD + new Array(ROWS_PER_INSERT).fill(ROW).join(','),
        numbersPerRow: NUMBERS_PER_ROW,
        stringsPerRow: STRINGS_PER_ROW,
        rowsPerInsert: ROWS_PER_INSERT,
      },
    });
    this.worker.on('message', (r: Reply) => {
      const w = this.waiting.get(r.seq);
      if (!w) return;
      this.waiting.delete(r.seq);
      if (r.ok) w.resolve(r.value);
      else w.reject(new Error(r.error));
    });
    const fail = (err: Error) => {
      this.failure = err;
      for (const w of this.waiting.values()) w.reject(err);
      this.waiting.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', () => fail(new Error('the SQLite writer thread exited')));
  }

  private send<T>(message: Record<string, unknown>, transfer: Transferable[] = []): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    const seq = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(seq, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...message, seq }, transfer);
    });
  }

  /** Insert events and their posting rows (offsets from the first event) in one transaction; resolves the last id. */
  append(events: readonly PreparedEvent[], postings: PackedPostings): Promise<number> {
    const rows = packRows(events);
    // The buffers move to the writer rather than being copied; nothing here uses them again.
    const transfer = [rows.lens.buffer, rows.nums.buffer, postings.meta.buffer, postings.offs.buffer] as ArrayBuffer[];
    return this.send<number>({ op: 'append', rows, postings }, transfer);
  }

  /** Run statements in one transaction; resolves the number of rows each changed. */
  run(statements: Array<[string, unknown[]]>): Promise<number[]> {
    return this.send<number[]>({ op: 'run', statements });
  }

  async close(): Promise<void> {
    if (this.failure) return;
    // Listen before asking: the reply and the exit can arrive back to back, before a later listener would attach.
    const exited = new Promise<void>((r) => this.worker.once('exit', () => r()));
    await this.send<number>({ op: 'close' });
    await exited;
  }
}
