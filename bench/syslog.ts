/**
 * @module Syslog intake benchmark: a sender process writes OVS vlog lines to a unix datagram socket as fast as the
 * socket takes them; herald's rate (received until every line is a stored `ovn` event) is printed beside a bare
 * receiver that only counts datagrams, measured in the same run. `node --import tsx bench/syslog.ts [lines]`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startHerald } from '../src/runtime/herald.js';
import { Logger } from '../src/service/log.js';
import { bindUnixDgram, UnixDgramSender } from '../src/sources/syslog/unix-dgram.js';
import { type BenchTable, fmt, renderTable } from './harness.js';

const SELF = fileURLToPath(import.meta.url);
const TARGET_LINES_PER_S = 50_000;

const MODULES = ['reconnect', 'rconn', 'jsonrpc', 'ovn_northd', 'poll_loop', 'binding', 'ofctrl', 'pinctrl'];

/** Lines as ovsdb-server and ovn-controller send them with --syslog-method=unix, a fifth of them from an application. */
function lines(n: number): Buffer[] {
  const out: Buffer[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const seq = String((i % 99_999) + 1).padStart(5, '0');
    const mod = MODULES[i % MODULES.length] as string;
    const app = i % 5 === 0 ? 'ovn-controller|' : '';
    const level = i % 50 === 0 ? 'WARN' : 'INFO';
    out[i] = Buffer.from(
      `<29>ovs|${app}${seq}|${mod}|${level}|unix:/var/run/openvswitch/br-int.mgmt: connected (port ${i % 4096})`,
    );
  }
  return out;
}

/** The sender process: connect, wait for "go" on stdin, send everything, print the seconds it took. */
async function sender(path: string, n: number): Promise<void> {
  const pool = lines(Math.min(n, 10_000));
  const s = new UnixDgramSender(path);
  process.stdout.write('ready\n');
  await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
  process.stdin.destroy();
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const data = pool[i % pool.length] as Buffer;
    // The receiver's queue is full: wait for room rather than spin (a unix datagram socket pushes back, not drops).
    while (!s.trySend(data)) await s.writable();
  }
  process.stdout.write(`${(performance.now() - start) / 1000}\n`);
  s.close();
}

interface Sending {
  readonly child: ChildProcess;
  /** resolves with the sender's own seconds once it is done */
  readonly done: Promise<number>;
  go(): number;
}

async function spawnSender(path: string, n: number): Promise<Sending> {
  const child = spawn(process.execPath, ['--import', 'tsx', SELF, '--send', path, String(n)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  let onLine: ((line: string) => void) | undefined;
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
    let nl = out.indexOf('\n');
    while (nl >= 0) {
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      onLine?.(line);
      nl = out.indexOf('\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    onLine = (l) => {
      if (l === 'ready') resolve();
    };
    child.once('exit', (code) => reject(new Error(`sender exited ${code} before it was ready`)));
  });
  const done = new Promise<number>((resolve) => {
    onLine = (l) => resolve(Number(l));
  });
  return {
    child,
    done,
    go() {
      const t = performance.now();
      child.stdin?.end('go\n');
      return t;
    },
  };
}

/** A bare receiver: count datagrams, nothing else. The ceiling for any intake on this machine and loop. */
async function rawReceive(dir: string, n: number): Promise<{ rate: number; senderRate: number }> {
  const path = join(dir, 'raw.socket');
  let count = 0;
  let last = 0;
  let finished: () => void = () => {};
  const all = new Promise<void>((resolve) => {
    finished = resolve;
  });
  const rx = bindUnixDgram(path, () => {
    if (++count === n) {
      last = performance.now();
      finished();
    }
  });
  const s = await spawnSender(path, n);
  const t0 = s.go();
  await all;
  const senderSeconds = await s.done;
  rx.close();
  return { rate: n / ((last - t0) / 1000), senderRate: n / senderSeconds };
}

async function heraldIntake(dir: string, n: number) {
  const herald = await startHerald({
    dataDir: join(dir, 'herald'),
    listen: false,
    logger: new Logger({ write: () => {} }),
  });
  const intake = herald.syslog;
  if (!intake?.path) throw new Error('herald opened no syslog socket');
  const head0 = herald.store.headIdSync();
  const tx0 = herald.publisher.stats.transactions;
  const s = await spawnSender(intake.path, n);
  const t0 = s.go();
  let receivedAt = 0;
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (receivedAt === 0 && intake.stats.received >= n) receivedAt = performance.now();
      const lost = intake.stats.received - intake.stats.parsed + intake.stats.dropped.backlog;
      if (herald.store.headIdSync() - head0 + lost >= n) {
        clearInterval(poll);
        resolve();
      }
    }, 2);
  });
  const stored = performance.now();
  const senderSeconds = await s.done;
  const result = {
    rate: n / ((stored - t0) / 1000),
    receiveRate: n / (((receivedAt || stored) - t0) / 1000),
    senderRate: n / senderSeconds,
    transactions: herald.publisher.stats.transactions - tx0,
    stats: structuredClone(intake.stats),
    ovn: herald.store.headIdSync() - head0,
  };
  await herald.close();
  return result;
}

export async function runSyslogBench(n = 200_000): Promise<BenchTable> {
  const dir = mkdtempSync(join(tmpdir(), 'herald-bench-syslog-'));
  try {
    const raw = await rawReceive(dir, n);
    const h = await heraldIntake(dir, n);
    const dropped = Object.values(h.stats.dropped).reduce((a, b) => a + b, 0);
    return {
      title: `Syslog intake: ${fmt(n)} OVS lines from a sender process over the unix datagram socket`,
      rows: [
        {
          metric: 'lines/s received and stored as ovn events (durable commits)',
          value: fmt(h.rate),
          ceiling: `${fmt(raw.rate)} datagrams/s (bare receiver)`,
          target: `>= ${fmt(TARGET_LINES_PER_S)}`,
          ok: h.rate >= TARGET_LINES_PER_S && h.ovn === n,
        },
        { metric: 'lines/s received by herald (parse + prepare)', value: fmt(h.receiveRate), ceiling: fmt(raw.rate) },
        { metric: 'sender rate while feeding herald', value: fmt(h.senderRate), ceiling: fmt(raw.senderRate) },
        { metric: 'ovn events stored', value: fmt(h.ovn), ceiling: fmt(n) },
        {
          metric: 'store transactions (lines per transaction)',
          value: `${fmt(h.transactions)} (${fmt(n / h.transactions)})`,
        },
        { metric: 'lines dropped', value: fmt(dropped), target: '0', ok: dropped === 0 },
      ],
      notes: [
        'The sender waits whenever the socket queue is full (unix datagram sockets push back), so the rates are what ' +
          'the receiving side sustains. Linux queues only net.unix.max_dgram_qlen datagrams per socket (10 here); ' +
          'senders that do not wait, as OVS does not, lose lines when the receiver stalls.',
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--send') {
  await sender(process.argv[3] as string, Number(process.argv[4]));
} else if (import.meta.url === `file://${process.argv[1]}`) {
  const n = process.argv[2] ? Number(process.argv[2]) : undefined;
  process.stdout.write(renderTable(await runSyslogBench(n)));
}
