/**
 * @module Live-stream benchmark: 1,000 websocket subscribers on herald's unix socket, beside a raw `ws` broadcast of one
 * pre-serialized frame measured in the same run. Subscribers live in child processes (this file, in its client role).
 * Run alone with `node --import tsx bench/live.ts`.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import WebSocket, { WebSocketServer } from 'ws';
import type { StoredEvent } from '../src/core/store.js';
import { type Herald, startHerald } from '../src/runtime/herald.js';
import { HUB_DEFAULTS } from '../src/service/hub.js';
import { Logger } from '../src/service/log.js';
import { type BenchRow, type BenchTable, fmt, renderTable } from './harness.js';

export type Row = BenchRow;

const SUBSCRIBERS = 1000;
const BURST = 50;
const THROUGHPUT_SECONDS = 5;
const RATE = 100;
const LATENCY_SECONDS = 10;
const CHILD_ENV = 'HERALD_LIVE_BENCH_CHILD';
/** receiving 150k frames/s is more than one process does; the subscribers are spread over this many */
const CLIENT_PROCESSES = Number(process.env.HERALD_LIVE_BENCH_PROCS ?? 2);
/** latency histogram: 0.1 ms buckets up to 10 s */
const BUCKETS = 100_000;
/** bench events carry this location, and subscribers ask for it, so nothing else the server says is counted */
const LOCATION = 'bench';

const now = () => performance.timeOrigin + performance.now();
const debug = (what: string) => {
  if (process.env.HERALD_BENCH_DEBUG)
    process.stderr.write(`[live ${process.pid} ${new Date().toISOString()}] ${what}\n`);
};

// ---------------------------------------------------------------------------------------------------------------
// client role (child process)

type ToChild =
  | { cmd: 'connect'; url: string; n: number; stalled?: boolean }
  | { cmd: 'reset'; record?: number }
  | { cmd: 'at'; n: number }
  | { cmd: 'stats'; commits?: { first: number; times: number[] } }
  | { cmd: 'disconnect'; stalledOnly?: boolean };

interface Stats {
  ev: 'stats';
  clients: number;
  minCount: number;
  maxCount: number;
  disorder: number;
  /** publish call to receipt */
  e2e: Array<[number, number]>;
  /** commit (hand-over to the fan-out) to receipt */
  fanout: Array<[number, number]>;
}

function histogram(): { add(ms: number): void; entries(): Array<[number, number]>; clear(): void } {
  const h = new Uint32Array(BUCKETS);
  return {
    add(ms) {
      const b = Math.min(BUCKETS - 1, Math.max(0, Math.floor(ms * 10)));
      h[b] = (h[b] ?? 0) + 1;
    },
    entries() {
      const out: Array<[number, number]> = [];
      h.forEach((n, i) => {
        if (n > 0) out.push([i, n]);
      });
      return out;
    },
    clear() {
      h.fill(0);
    },
  };
}

function clientRole(): void {
  interface C {
    ws: WebSocket;
    count: number;
    lastId: number;
    stalled: boolean;
    ids?: Float64Array;
    times?: Float64Array;
  }
  let clients: C[] = [];
  let target = -1;
  let reached = 0;
  let disorder = 0;
  const e2e = histogram();
  const T = Buffer.from('"t":"');
  const ID = Buffer.from('"id":');
  const reply = (m: object) => process.send?.(m);
  const active = () => clients.filter((c) => !c.stalled);

  const onMessage = (c: C, data: Buffer) => {
    const at = now();
    const k = data.lastIndexOf(ID);
    if (k >= 0) {
      const id = Number(data.toString('latin1', k + 5, data.length - 2));
      if (id <= c.lastId) disorder++;
      c.lastId = id;
      if (c.ids && c.times && c.count < c.ids.length) {
        c.ids[c.count] = id;
        c.times[c.count] = at;
      }
    }
    const t = data.indexOf(T);
    if (t >= 0) e2e.add(at - Number(data.toString('latin1', t + 5, data.indexOf(34, t + 5))));
    c.count++;
    if (c.count === target && ++reached === active().length) {
      target = -1;
      reply({ ev: 'at' });
    }
  };

  const connectOne = (url: string, stalled: boolean) =>
    new Promise<C>((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false });
      const c: C = { ws, count: 0, lastId: 0, stalled };
      ws.on('message', (d: Buffer) => onMessage(c, d));
      ws.on('error', reject);
      ws.on('open', () => {
        // a stalled subscriber stops reading: the server's writes back up into its socket
        if (stalled) ws.pause();
        resolve(c);
      });
    });

  process.on('message', async (m: ToChild) => {
    if (m.cmd !== 'at') debug(`<- ${m.cmd}`);
    switch (m.cmd) {
      case 'connect': {
        for (let i = 0; i < m.n; i += 50) {
          const batch = await Promise.all(
            Array.from({ length: Math.min(50, m.n - i) }, () => connectOne(m.url, m.stalled === true)),
          );
          clients.push(...batch);
        }
        reply({ ev: 'connected' });
        break;
      }
      case 'reset':
        for (const c of clients) {
          c.count = 0;
          c.ids = m.record ? new Float64Array(m.record) : undefined;
          c.times = m.record ? new Float64Array(m.record) : undefined;
        }
        e2e.clear();
        disorder = 0;
        reply({ ev: 'reset' });
        break;
      case 'at':
        target = m.n;
        reached = active().filter((c) => c.count >= m.n).length;
        if (reached === active().length) {
          target = -1;
          reply({ ev: 'at' });
        }
        break;
      case 'stats': {
        const fanout = histogram();
        const commits = m.commits;
        if (commits) {
          for (const c of active()) {
            if (!c.ids || !c.times) continue;
            for (let i = 0; i < Math.min(c.count, c.ids.length); i++) {
              const committed = commits.times[(c.ids[i] as number) - commits.first];
              if (committed !== undefined) fanout.add((c.times[i] as number) - committed);
            }
          }
        }
        const counts = active().map((c) => c.count);
        reply({
          ev: 'stats',
          clients: counts.length,
          minCount: counts.length ? Math.min(...counts) : 0,
          maxCount: counts.length ? Math.max(...counts) : 0,
          disorder,
          e2e: e2e.entries(),
          fanout: fanout.entries(),
        } satisfies Stats);
        break;
      }
      case 'disconnect':
        for (const c of clients) if (c.stalled || !m.stalledOnly) c.ws.terminate();
        clients = m.stalledOnly ? clients.filter((c) => !c.stalled) : [];
        reply({ ev: 'disconnected' });
        break;
    }
  });
  process.on('disconnect', () => process.exit(0));
}

// ---------------------------------------------------------------------------------------------------------------
// driver

class ClientProcess {
  private readonly child: ChildProcess;
  private waiting: Array<{ ev: string; resolve: (m: Record<string, unknown>) => void }> = [];

  constructor() {
    this.child = fork(fileURLToPath(import.meta.url), [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, [CHILD_ENV]: '1' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (m: Record<string, unknown>) => {
      const i = this.waiting.findIndex((w) => w.ev === m.ev);
      if (i >= 0) this.waiting.splice(i, 1)[0]?.resolve(m);
    });
  }

  ask<T>(msg: ToChild, ev: string, timeoutMs: number): Promise<T> {
    if (msg.cmd !== 'at') debug(`-> ${msg.cmd}`);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`bench clients: no ${ev} within ${timeoutMs} ms`)), timeoutMs);
      this.waiting.push({
        ev,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m as T);
        },
      });
      this.child.send(msg);
    });
  }

  close(): void {
    if (this.child.connected) this.child.disconnect();
  }
}

/** The subscribers, spread over a few child processes so that receiving is not what the bench measures. */
class Clients {
  private readonly procs: ClientProcess[];

  constructor(n: number) {
    this.procs = Array.from({ length: n }, () => new ClientProcess());
  }

  ask<T = Record<string, unknown>>(msg: ToChild, ev: string, timeoutMs = 60_000): Promise<T[]> {
    if (msg.cmd === 'connect') {
      // an even share each; a single extra subscriber goes to the first process
      const share = Math.ceil(msg.n / this.procs.length);
      return Promise.all(
        this.procs.map((p, i) =>
          p.ask<T>({ ...msg, n: Math.max(0, Math.min(share, msg.n - i * share)) }, ev, timeoutMs),
        ),
      );
    }
    return Promise.all(this.procs.map((p) => p.ask<T>(msg, ev, timeoutMs)));
  }

  close(): void {
    for (const p of this.procs) p.close();
  }
}

/** Bursts of `BURST` events, one burst in flight beyond the last one every subscriber has fully received. */
async function throughput(clients: Clients, burst: () => Promise<void>): Promise<number> {
  await clients.ask({ cmd: 'reset' }, 'reset');
  const start = now();
  let sent = 0;
  await burst();
  sent += BURST;
  while (now() - start < THROUGHPUT_SECONDS * 1000) {
    await burst();
    sent += BURST;
    await clients.ask({ cmd: 'at', n: sent - BURST }, 'at');
  }
  await clients.ask({ cmd: 'at', n: sent }, 'at');
  return (sent * SUBSCRIBERS) / ((now() - start) / 1000);
}

interface Percentiles {
  p50: number;
  p99: number;
  max: number;
}

function percentiles(parts: Array<Array<[number, number]>>): Percentiles {
  const merged = new Map<number, number>();
  for (const p of parts) for (const [b, c] of p) merged.set(b, (merged.get(b) ?? 0) + c);
  const hist = [...merged.entries()].sort((a, b) => a[0] - b[0]);
  const total = hist.reduce((n, [, c]) => n + c, 0);
  const at = (p: number) => {
    let seen = 0;
    for (const [b, c] of hist) {
      seen += c;
      if (seen >= total * p) return (b + 1) / 10;
    }
    return Number.NaN;
  };
  return { p50: at(0.5), p99: at(0.99), max: ((hist.at(-1)?.[0] ?? 0) + 1) / 10 };
}

interface Latency {
  e2e: Percentiles;
  fanout: Percentiles;
  events: number;
  complete: boolean;
}

/** RATE events per second for `seconds`, one publish per event, stamped with the publish time. */
async function latency(clients: Clients, herald: Herald, seconds: number): Promise<Segment> {
  const total = RATE * seconds;
  await clients.ask({ cmd: 'reset', record: total }, 'reset');
  const committed = new Map<number, number>();
  // Stamp each commit as the publisher hands it to the fabric, before any subscriber (the hub included) runs.
  const fabric = herald.fabric as { publish(events: readonly StoredEvent[]): void };
  const handOver = fabric.publish;
  fabric.publish = (events) => {
    const t = now();
    for (const e of events) committed.set(e.id, t);
    handOver.call(herald.fabric, events);
  };
  const unsubscribe = () => {
    fabric.publish = handOver;
  };
  const start = now();
  let sent = 0;
  const inflight: Promise<unknown>[] = [];
  while (sent < total) {
    const due = Math.min(total, Math.floor(((now() - start) / 1000) * RATE) + 1);
    while (sent < due) {
      const t = now();
      inflight.push(
        herald.publisher.publishRaw({
          type: 'logging',
          location: LOCATION,
          metadata: { message: 'bench event', level: 'info', context: { t: String(t) } },
        }),
      );
      sent++;
    }
    await new Promise((r) => setTimeout(r, 1000 / RATE / 2));
  }
  await Promise.all(inflight);
  unsubscribe();
  let complete = true;
  try {
    await clients.ask({ cmd: 'at', n: total }, 'at', 15_000);
  } catch {
    complete = false;
  }
  const first = Math.min(...committed.keys());
  const times = Array.from({ length: total }, (_, i) => committed.get(first + i) ?? Number.NaN);
  const all = await clients.ask<Stats>({ cmd: 'stats', commits: { first, times } }, 'stats');
  for (const s of all) {
    complete &&= s.clients === 0 || (s.minCount === total && s.maxCount === total && s.disorder === 0);
  }
  return { e2e: all.map((s) => s.e2e), fanout: all.map((s) => s.fanout), events: total, complete };
}

interface Segment {
  e2e: Array<Array<[number, number]>>;
  fanout: Array<Array<[number, number]>>;
  events: number;
  complete: boolean;
}

function combine(segments: Segment[]): Latency {
  return {
    e2e: percentiles(segments.flatMap((s) => s.e2e)),
    fanout: percentiles(segments.flatMap((s) => s.fanout)),
    events: segments.reduce((n, s) => n + s.events, 0),
    complete: segments.every((s) => s.complete),
  };
}

function gcFn(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

const ms = (p: Percentiles) => `${fmt(p.p50, 1)} / ${fmt(p.p99, 1)} / ${fmt(p.max, 1)} ms`;
const change = (a: number, b: number) => (b - a) / a;
const pct = (x: number) => `${x >= 0 ? '+' : ''}${fmt(x * 100)} %`;

export async function runLiveBench(): Promise<Row[]> {
  const gc = gcFn();
  let phase = 'start';
  let phaseAt = Date.now();
  const step = (p: string) => {
    phase = p;
    phaseAt = Date.now();
    debug(p);
  };
  const watchdog = setInterval(() => {
    if (Date.now() - phaseAt > 30_000) process.stderr.write(`live bench: still in "${phase}" after 30 s\n`);
  }, 30_000);
  watchdog.unref();
  const dir = mkdtempSync(join(tmpdir(), 'herald-live-bench-'));
  const clients = new Clients(CLIENT_PROCESSES);
  const load = loadavg()[0] ?? 0;
  let herald: Herald | undefined;
  try {
    step('raw');
    // 1. the ceiling: raw ws, one pre-serialized frame broadcast to every client
    const rawPath = join(dir, 'raw.socket');
    const http = createServer();
    const wss = new WebSocketServer({ server: http, perMessageDeflate: false });
    await new Promise<void>((r) => http.listen(rawPath, r));
    await clients.ask({ cmd: 'connect', url: `ws+unix:${rawPath}:/`, n: SUBSCRIBERS }, 'connected');
    const frame = Buffer.from(
      `${JSON.stringify({
        type: 'logging',
        timestamp: new Date().toISOString(),
        metadata: { message: 'bench event', level: 'info', context: { t: '0' } },
        location: LOCATION,
      })}\n`,
    );
    const raw = await throughput(clients, async () => {
      for (let i = 0; i < BURST; i++) for (const c of wss.clients) c.send(frame);
    });
    await clients.ask({ cmd: 'disconnect' }, 'disconnected');
    for (const c of wss.clients) c.terminate();
    wss.close();
    await new Promise<void>((r) => http.close(() => r()));

    step('herald start');
    // 2. herald with its defaults: memory per idle subscriber
    herald = await startHerald({ dataDir: join(dir, 'herald'), logger: new Logger({ write: () => {} }) });
    const url = `ws+unix:${herald.socketPath}:/1.0/events?type=logging&location=${LOCATION}`;
    // The raw phase's sockets are released as their close events arrive: let them, so its memory is not counted.
    await new Promise((r) => setTimeout(r, 1000));
    gc();
    gc();
    const before = process.memoryUsage();
    await clients.ask({ cmd: 'connect', url, n: SUBSCRIBERS }, 'connected');
    await new Promise((r) => setTimeout(r, 1000));
    gc();
    const after = process.memoryUsage();
    const perHeap = (after.heapUsed + after.external - before.heapUsed - before.external) / SUBSCRIBERS / 1024;

    step('herald throughput');
    // 3. herald: highest sustainable deliveries/s, same bursts as the raw broadcast
    const event = { type: 'logging', location: LOCATION, metadata: { message: 'bench event', level: 'info' } };
    const burstBody = Array.from({ length: BURST }, () => event);
    const h = herald;
    const batched = await throughput(clients, async () => {
      await h.publisher.publishRaw(burstBody);
    });
    const single = await throughput(clients, async () => {
      await Promise.all(burstBody.map((e) => h.publisher.publishRaw(e)));
    });

    step('latency');
    // 4. latency at 100 events/s, alone and with one stalled subscriber among them, in alternating segments so that
    // the noise of a shared machine falls on both alike. The stalled subscriber is first filled to its queue with
    // events only it receives, so the segment measures a listener that is already being held back.
    const calmSegments: Segment[] = [];
    const stalledSegments: Segment[] = [];
    const stalledUrl = `ws+unix:${herald.socketPath}:/1.0/events?type=logging`;
    const fill = { type: 'logging', location: 'fill', metadata: { message: 'x'.repeat(8000), level: 'info' } };
    let heapGrowth = 0;
    let held = 0;
    for (let round = 0; round < 2; round++) {
      calmSegments.push(await latency(clients, herald, LATENCY_SECONDS / 2));
      await clients.ask({ cmd: 'connect', url: stalledUrl, n: 1, stalled: true }, 'connected');
      for (let i = 0; i < 8; i++) await herald.publisher.publishRaw(Array(50).fill(fill));
      gc();
      const heapBefore = process.memoryUsage().heapUsed;
      stalledSegments.push(await latency(clients, herald, LATENCY_SECONDS / 2));
      gc();
      heapGrowth = Math.max(heapGrowth, (process.memoryUsage().heapUsed - heapBefore) / 1024);
      held = Math.max(held, herald.hub.heldBytes() / 1024);
      await clients.ask({ cmd: 'disconnect', stalledOnly: true }, 'disconnected');
    }
    const calm = combine(calmSegments);
    const stalled = combine(stalledSegments);

    step('disconnect');
    await clients.ask({ cmd: 'disconnect' }, 'disconnected');
    step('report');

    const ratio = batched / raw;
    const p99Change = change(calm.e2e.p99, stalled.e2e.p99);
    const fanoutChange = change(calm.fanout.p99, stalled.fanout.p99);
    return [
      {
        metric: `raw ws broadcast of one frame, ${SUBSCRIBERS} clients: deliveries/s`,
        value: fmt(raw),
        ceiling: fmt(raw),
      },
      {
        metric: `herald, ${SUBSCRIBERS} subscribers, ${BURST} events per publish: deliveries/s`,
        value: `${fmt(batched)} (${fmt(ratio * 100)} % of raw)`,
        ceiling: fmt(raw),
        target: '≥ 70 % of raw',
        ok: ratio >= 0.7,
      },
      {
        metric: `herald, ${SUBSCRIBERS} subscribers, ${BURST} concurrent single-event publishes: deliveries/s`,
        value: `${fmt(single)} (${fmt((single / raw) * 100)} % of raw)`,
        ceiling: fmt(raw),
        target: '≥ 70 % of raw',
        ok: single / raw >= 0.7,
      },
      {
        metric: `${RATE} events/s to ${SUBSCRIBERS} subscribers, publish → receive p50 / p99 / max`,
        value: ms(calm.e2e),
        target: 'p99 ≤ 50 ms',
        ok: calm.e2e.p99 <= 50,
      },
      { metric: '  of which commit → receive (fan-out and transport)', value: ms(calm.fanout) },
      {
        metric: `  every event to every subscriber, in id order (${fmt(calm.events)} events × ${SUBSCRIBERS})`,
        value: calm.complete ? 'yes' : 'no',
        ok: calm.complete,
      },
      {
        metric: '  with one stalled subscriber: publish → receive p50 / p99 / max',
        value: `${ms(stalled.e2e)} (p99 ${pct(p99Change)})`,
        // A stalled listener must not slow the others; a lower p99 in the stalled segments is machine noise.
        target: 'p99 increase < 20 %',
        ok: p99Change < 0.2 && stalled.complete,
      },
      {
        metric: '  with one stalled subscriber: commit → receive',
        value: `${ms(stalled.fanout)} (p99 ${pct(fanoutChange)})`,
      },
      {
        metric: '  with one stalled subscriber: server heap growth over a segment; bytes held for listeners',
        value: `${fmt(heapGrowth)} KiB; ${fmt(held)} KiB`,
        target: `bounded: ≤ ${HUB_DEFAULTS.highWaterBytes / 1024} KiB unsent + ${HUB_DEFAULTS.maxQueueBytes / 1024 / 1024} MiB queued per listener`,
        ok: held <= (HUB_DEFAULTS.highWaterBytes + HUB_DEFAULTS.maxQueueBytes) / 1024 + 64,
      },
      {
        // RSS moves by whole pages and arenas, too coarsely to divide by 1,000; heap plus buffers is what we hold.
        metric: 'memory per idle subscriber (server JS heap + buffers: socket, ws, listener)',
        value: `${fmt(perHeap, 1)} KiB`,
      },
      { metric: 'load average (1 min) when the run started', value: fmt(load, 2) },
    ];
  } finally {
    step('close');
    await herald?.close();
    step('closed');
    clients.close();
    rmSync(dir, { recursive: true, force: true });
    clearInterval(watchdog);
  }
}

export function liveTable(rows: readonly Row[]): BenchTable {
  return {
    title: 'Live stream (GET /1.0/events over the unix socket)',
    rows,
    notes: [
      `Server and publisher in the bench process, ${SUBSCRIBERS} real websocket subscribers spread over ${CLIENT_PROCESSES} child processes; throughput keeps one ${BURST}-event burst in flight beyond what every subscriber has received; latency is measured per delivery (publish call → receipt, and commit → receipt).`,
      'The raw broadcast calls `ws.send` once per frame and client; herald frames each event once and writes the frames of one committed batch to a socket in one corked write, which is why it can pass the raw figure when events arrive in batches.',
      'A shared 2-core machine makes the latency tails depend on what else runs: the load average is printed with the results.',
    ],
  };
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (process.env[CHILD_ENV] === '1') clientRole();
else if (isMain) {
  runLiveBench().then(
    (rows) => process.stdout.write(renderTable(liveTable(rows))),
    (err: unknown) => {
      process.stderr.write(`live bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
