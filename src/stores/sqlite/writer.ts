/**
 * @module The SQLite writer thread. All writes (appends, state, retention) run on one connection in a worker thread,
 * so commits and their fsyncs never block the event loop, and requests that arrive during a commit form the next
 * group commit. The worker is plain JavaScript evaluated from a string so that it runs the same under tsx, vitest
 * and the compiled build; better-sqlite3 is resolved by the main thread and passed in.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

export const COLUMNS = 18;
export const ROWS_PER_INSERT = 50;

const INSERT_HEAD = `INSERT INTO events (type, time_ms, project, location, action, severity, audit, username, protocol,
  node, hostname, zone, pool, domain, agent_name, macs, text, body) VALUES `;
const ROW = `(${new Array(COLUMNS).fill('?').join(',')})`;

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.sqlite);
const db = new Database(workerData.path);
for (const p of workerData.pragmas) db.pragma(p);
const one = db.prepare(workerData.insertOne);
const many = db.prepare(workerData.insertMany);
const lastId = db.prepare('SELECT last_insert_rowid() AS id').pluck();
const posting = db.prepare('INSERT INTO postings (key, last, base, offs) VALUES (?, ?, ?, ?)');
const C = workerData.columns;
const R = workerData.rowsPerInsert;
const chunk = new Array(C * R);
const append = db.transaction((flat, count, postings) => {
  let i = 0;
  for (; i + R <= count; i += R) {
    for (let k = 0; k < C * R; k++) chunk[k] = flat[i * C + k];
    many.run(chunk);
  }
  for (; i < count; i++) one.run(flat.slice(i * C, i * C + C));
  const last = Number(lastId.get());
  // One connection appends a transaction's rows with consecutive ids, so offsets count from the first of them.
  const base = last - count + 1;
  for (const [key, lastOffset, offs] of postings) {
    posting.run(key, base + lastOffset, base, Buffer.from(offs.buffer, offs.byteOffset, offs.byteLength));
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
    if (m.op === 'append') parentPort.postMessage({ seq: m.seq, ok: true, value: append(m.flat, m.count, m.postings) });
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
        columns: COLUMNS,
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

  private send<T>(message: Record<string, unknown>): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    const seq = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(seq, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...message, seq });
    });
  }

  /**
   * Insert `count` rows given as one flat array of COLUMNS values each, and their posting rows (offsets from the first
   * row), in one transaction; resolves the last id.
   */
  append(flat: unknown[], count: number, postings: Array<[string, number, Uint8Array]>): Promise<number> {
    return this.send<number>({ op: 'append', flat, count, postings });
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
