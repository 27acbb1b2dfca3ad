/**
 * @module Loki forwarding benchmark: the sustained forwarding rate from a pre-filled store to the local test receiver
 * (in its own process), and the catch-up after a simulated 5-minute outage at 2,000 events/s with demo traffic still
 * flowing, both verified entry by entry (every stream's digest equals the one computed from the store), beside the
 * receiver's raw accept rate for pre-built batches as the ceiling. Run alone: `node --import tsx bench/loki.ts`.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createHash, type Hash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { HeraldEvent } from '../src/core/event.js';
import { DemoGenerator } from '../src/demo/generator.js';
import { LokiClient } from '../src/forwarders/loki/client.js';
import { formatEvent, formatOptions, naturalNs, streamKey } from '../src/forwarders/loki/format.js';
import { TimestampAssigner } from '../src/forwarders/loki/forwarder.js';
import { FORWARDER_STATE_PREFIX } from '../src/forwarders/loki/manager.js';
import { type Herald, startHerald } from '../src/runtime/herald.js';
import { Logger } from '../src/service/log.js';
import { streamString } from '../test/support/loki-receiver.js';
import { type BenchRow, type BenchTable, fmt, renderTable } from './harness.js';

const RECEIVER = fileURLToPath(new URL('../test/support/loki-receiver.ts', import.meta.url));
const TYPES = 'lifecycle,logging,ovn,security,maas';

interface ReceiverStats {
  accepted: number;
  duplicates: number;
  rejectedEntries: number;
  pushes: number;
}

/** The test receiver in a child process, driven over IPC. */
class RemoteReceiver {
  private seq = 0;
  private readonly pending = new Map<number, (v: unknown) => void>();

  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {
    child.on('message', (m: { seq?: number; reply?: unknown }) => {
      if (m.seq === undefined) return;
      this.pending.get(m.seq)?.(m.reply);
      this.pending.delete(m.seq);
    });
  }

  static start(): Promise<RemoteReceiver> {
    const child = fork(RECEIVER, ['--lean'], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('message', (m: { url: string }) => resolve(new RemoteReceiver(child, m.url)));
    });
  }

  call<T>(msg: Record<string, unknown>): Promise<T> {
    const seq = ++this.seq;
    return new Promise((resolve) => {
      this.pending.set(seq, resolve as (v: unknown) => void);
      this.child.send({ ...msg, seq });
    });
  }

  stats(): Promise<ReceiverStats> {
    return this.call({ cmd: 'stats' });
  }

  async digests(): Promise<Map<string, { count: number; digest: string }>> {
    return new Map(await this.call<Array<[string, { count: number; digest: string }]>>({ cmd: 'digests' }));
  }

  async close(): Promise<void> {
    await this.call({ cmd: 'close' });
    this.child.kill();
  }
}

/** Close, but never let a stuck shutdown hold the benchmark (the table is what matters). */
async function closeHerald(h: Herald): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([h.close(), new Promise<void>((r) => (timer = setTimeout(r, 10_000)))]);
  clearTimeout(timer);
}

function quiet(): Logger {
  return new Logger({ write: () => {} });
}

/** RFC3339 with microseconds for a time given in microseconds. */
function rfc3339Micros(us: number): string {
  const iso = new Date(Math.floor(us / 1000)).toISOString();
  return `${iso.slice(0, 23)}${String(us % 1000).padStart(3, '0')}Z`;
}

async function fill(herald: Herald, n: number, seed: number, timeAt?: (i: number) => string): Promise<void> {
  const gen = new DemoGenerator(seed);
  let done = 0;
  while (done < n) {
    const batch = gen.batch(Math.min(5000, n - done)).slice(0, n - done);
    if (timeAt)
      for (let i = 0; i < batch.length; i++) (batch[i] as Record<string, unknown>).timestamp = timeAt(done + i);
    await herald.publisher.publishRaw(batch);
    done += batch.length;
  }
}

/** Per stream, the digest of what Loki must hold: every forwarded event after `from`, in id order, as herald sends it. */
async function expectedDigests(
  herald: Herald,
  from: number,
  instance: string,
): Promise<Map<string, { count: number; digest: string }>> {
  const o = formatOptions({
    types: TYPES.split(','),
    loglevel: 'debug',
    labels: [],
    instance,
    hostname: hostname(),
    location: 'none',
  });
  const assigner = new TimestampAssigner();
  const streams = new Map<string, { count: number; hash: Hash }>();
  let after = from;
  for (;;) {
    const rows = await herald.store.readAfter(after, 5000);
    if (rows.length === 0) break;
    for (const r of rows) {
      const e = JSON.parse(r.json) as HeraldEvent;
      const entry = formatEvent(e, o);
      if (!entry) continue;
      const ts = assigner.assign(streamKey(entry.labels), naturalNs(e.timestamp, r.fields.timeMs, r.id));
      const k = streamString(entry.labels);
      let s = streams.get(k);
      if (!s) {
        s = { count: 0, hash: createHash('sha1') };
        streams.set(k, s);
      }
      s.count++;
      s.hash.update(`${ts}\u0000${entry.line}\n`);
    }
    after = (rows[rows.length - 1] as { id: number }).id;
  }
  return new Map([...streams].map(([k, s]) => [k, { count: s.count, digest: s.hash.digest('hex') }]));
}

/** Every expected stream present with the same count and digest (receiver streams of other phases are ignored). */
function sameDigests(
  want: Map<string, { count: number; digest: string }>,
  got: Map<string, { count: number; digest: string }>,
): boolean {
  for (const [k, w] of want) {
    const g = got.get(k);
    if (!g || g.count !== w.count || g.digest !== w.digest) return false;
  }
  return true;
}

async function waitCaughtUp(herald: Herald, target: number, timeoutMs: number): Promise<number> {
  const start = performance.now();
  for (;;) {
    const f = herald.loki.forwarder('default');
    if (f && f.totals.cursor >= target) return performance.now() - start;
    if (performance.now() - start > timeoutMs) throw new Error(`not caught up within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Ceiling: the receiver's accept rate for pre-built, pre-compressed batches pushed back to back. */
async function ceiling(rx: RemoteReceiver, batches: number, perBatch: number): Promise<number> {
  const client = new LokiClient({ url: rx.url, timeoutMs: 30_000 });
  const gen = new DemoGenerator(99);
  const o = formatOptions({
    types: TYPES.split(','),
    loglevel: 'debug',
    labels: [],
    hostname: 'ceiling',
    location: 'none',
  });
  const lines: string[] = [];
  let id = 0;
  while (lines.length < perBatch) {
    for (const raw of gen.next()) {
      const e = { id: ++id, timestamp: '2026-01-01T00:00:00Z', location: 'none', project: '', ...raw } as HeraldEvent;
      const entry = raw.type === 'operation' ? undefined : formatEvent(e, o);
      if (entry) lines.push(JSON.stringify(entry.line));
    }
  }
  const encoded = [];
  let ts = 1_000_000_000_000_000_000n;
  for (let b = 0; b < batches; b++) {
    const values = lines.slice(0, perBatch).map((l) => `["${ts++}",${l}]`);
    encoded.push(await client.encode(`{"streams":[{"stream":{"app":"ceiling"},"values":[${values.join(',')}]}]}`));
  }
  const t0 = performance.now();
  for (const body of encoded) {
    const res = await client.push(body);
    if (res.status !== 204) throw new Error(`ceiling push: HTTP ${res.status} ${res.body}`);
  }
  const ms = performance.now() - t0;
  client.close();
  return (batches * perBatch) / (ms / 1000);
}

export interface LokiBenchOptions {
  /** events pre-filled for the sustained rate (default 500,000) */
  readonly sustainedEvents?: number;
  /** outage length simulated, seconds (default 300) */
  readonly outageSeconds?: number;
  /** demo traffic rate during and after the outage (default 2,000/s) */
  readonly rate?: number;
}

export async function runLokiBench(opts: LokiBenchOptions = {}): Promise<BenchTable> {
  const sustainedEvents = opts.sustainedEvents ?? 500_000;
  const outageSeconds = opts.outageSeconds ?? 300;
  const rate = opts.rate ?? 2000;
  const backlog = outageSeconds * rate;
  const rows: BenchRow[] = [];
  const notes: string[] = [];
  const rx = await RemoteReceiver.start();
  const dirs: string[] = [];
  const log = (s: string) => process.stderr.write(`  ${s}\n`);
  try {
    // 1. Ceiling.
    const ceil = await ceiling(rx, 100, 5000);
    log(`ceiling: ${fmt(ceil)} entries/s`);

    // 2. Sustained: a pre-filled store, forwarded from id 0 to a healthy receiver.
    const dir1 = mkdtempSync(join(tmpdir(), 'herald-loki-bench-'));
    dirs.push(dir1);
    let herald = await startHerald({ dataDir: dir1, listen: false, logger: quiet(), synchronous: 'normal' });
    const f0 = performance.now();
    await fill(herald, sustainedEvents, 1);
    log(`pre-filled ${fmt(sustainedEvents)} events in ${fmt((performance.now() - f0) / 1000, 1)} s`);
    // A new target starts at the head; the benchmark starts it at 0 by writing its cursor state first.
    await herald.store.setState(`${FORWARDER_STATE_PREFIX}default`, JSON.stringify({ cursor: 0, streams: [] }));
    const head1 = await herald.store.headId();
    const t1 = performance.now();
    await herald.config.patch({
      'loki.api.url': rx.url,
      'loki.types': TYPES,
      'loki.loglevel': 'debug',
      'loki.instance': 'sustained',
    });
    await waitCaughtUp(herald, head1, 300_000);
    // Counted from the configuration change, so that starting the target is included.
    const ms1 = performance.now() - t1;
    const sent1 = herald.loki.forwarder('default')?.totals.sent ?? 0;
    const eventsPerS = head1 / (ms1 / 1000);
    const entriesPerS = sent1 / (ms1 / 1000);
    const ok1 = sameDigests(await expectedDigests(herald, 0, 'sustained'), await rx.digests());
    rows.push({
      metric: `sustained forwarding, ${fmt(head1)} stored events (${fmt(sent1)} entries: operations and nothing else excluded)`,
      value: `${fmt(eventsPerS)} events/s (${fmt(entriesPerS)} entries/s), ${fmt(ms1 / 1000, 1)} s`,
      ceiling: `${fmt(ceil)} entries/s`,
      target: '≥ 50,000 events/s',
      ok: eventsPerS >= 50_000 && ok1,
    });
    rows.push({
      metric: 'sustained: every entry delivered once, in order (per-stream digests match the store)',
      value: ok1 ? 'yes' : 'NO',
      ok: ok1,
    });
    await closeHerald(herald);

    // 3. Outage: a target configured while Loki is down; 5 minutes at `rate` accumulate; Loki comes back while
    //    demo traffic keeps flowing at `rate`.
    const dir2 = mkdtempSync(join(tmpdir(), 'herald-loki-bench-'));
    dirs.push(dir2);
    herald = await startHerald({ dataDir: dir2, listen: false, logger: quiet(), synchronous: 'normal' });
    await rx.call({ cmd: 'fail', mode: 'refuse' });
    await herald.config.patch({
      'loki.api.url': rx.url,
      'loki.types': TYPES,
      'loki.loglevel': 'debug',
      'loki.instance': 'catchup',
    });
    const start = (await herald.loki.status())[0]?.cursor ?? 0;
    const nowUs = Math.floor((performance.timeOrigin + performance.now()) * 1000);
    const firstUs = nowUs - outageSeconds * 1_000_000;
    const stepUs = 1_000_000 / rate;
    const f1 = performance.now();
    await fill(herald, backlog, 2, (i) => rfc3339Micros(Math.floor(firstUs + i * stepUs)));
    log(`pre-filled the outage backlog (${fmt(backlog)} events) in ${fmt((performance.now() - f1) / 1000, 1)} s`);
    const during = await herald.loki.status();
    const lagBefore = during[0];
    // Live traffic continues at `rate` during the catch-up.
    const gen = new DemoGenerator(3);
    let owed = 0;
    let liveSent = 0;
    const live = setInterval(() => {
      owed += rate / 20;
      const n = Math.floor(owed);
      owed -= n;
      liveSent += n;
      void herald.publisher.publishRaw(gen.batch(n).slice(0, n));
    }, 50);
    const recoveredHead = await herald.store.headId();
    await rx.call({ cmd: 'recover' });
    const t2 = performance.now();
    const ms2 = await waitCaughtUp(herald, recoveredHead, 600_000);
    const retries = (await herald.loki.status())[0]?.retries ?? 0;
    // Then stop the traffic and let the last live events through, and check everything.
    clearInterval(live);
    await herald.publisher.drained();
    const finalHead = await herald.store.headId();
    await waitCaughtUp(herald, finalHead, 60_000);
    const drainMs = performance.now() - t2;
    const ok2 = sameDigests(await expectedDigests(herald, start, 'catchup'), await rx.digests());
    const stats = await rx.stats();
    rows.push({
      metric: `catch-up after a ${outageSeconds} s outage: ${fmt(recoveredHead - start)} events backlog, live traffic ${fmt(rate)}/s`,
      value: `${fmt(ms2 / 1000, 1)} s (lag before: ${fmt(lagBefore?.lag_events ?? 0)} events, ${fmt(lagBefore?.lag_seconds ?? 0)} s; ${retries} retries)`,
      target: '< 60 s',
      ok: ms2 < 60_000 && ok2,
    });
    rows.push({
      metric: `catch-up: backlog + ${fmt(liveSent)} live events delivered once, in order (digests match)`,
      value: ok2 ? `yes (all caught up ${fmt(drainMs / 1000, 1)} s after recovery)` : 'NO',
      ok: ok2,
    });
    rows.push({
      metric: 'receiver: accepted / duplicates dropped / rejected',
      value: `${fmt(stats.accepted)} / ${fmt(stats.duplicates)} / ${fmt(stats.rejectedEntries)} in ${fmt(stats.pushes)} pushes`,
    });
    await closeHerald(herald);
    notes.push(
      `The outage is simulated: the ${fmt(backlog)} events that ${outageSeconds} s at ${fmt(rate)}/s would leave are published ` +
        `with timestamps spread over the last ${outageSeconds} s while the receiver refuses connections, instead of ` +
        'waiting 5 real minutes. Catch-up time counts from the receiver accepting connections again (including the ' +
        'retry backoff still running then) until the cursor passes every event stored before that moment.',
      'The receiver runs in its own process; the ceiling is its accept rate for pre-built gzip batches of 5,000 ' +
        'entries pushed back to back over one keep-alive connection. Sustained rate counts stored events read per ' +
        'second (operations are read and skipped: LXD never forwards them); herald SQLite synchronous=normal.',
    );
  } finally {
    await rx.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
  return { title: 'Loki forwarding', rows, notes };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.argv.includes('--quick');
  const table = await runLokiBench(quick ? { sustainedEvents: 100_000, outageSeconds: 30 } : {});
  process.stdout.write(renderTable(table));
  process.exit(0);
}
