/**
 * @module MAAS view benchmark: `level=AUDIT` and `hostname=...&level=INFO` pages of 100 on a 5,000,000-event store, at
 * the newest page and 10,000 pages deep (1,000,000 matching events back), through the real route (in-process inject),
 * beside the bare store page (the same query without HTTP or projection) as the ceiling.
 */
import { linkSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { maasPageRequest, parseMaasQuery } from '../src/core/maas-view.js';
import { type PreparedEvent, prepareBatch } from '../src/core/prepare.js';
import { rng } from '../src/demo/generator.js';
import { startHerald } from '../src/runtime/herald.js';
import { Logger } from '../src/service/log.js';
import { drivingKeys } from '../src/stores/sqlite/query.js';
import { BENCH_DIR, buildBenchStore } from './fixtures.js';
import { type BenchRow, type BenchTable, fmt, percentile, timeRuns } from './harness.js';

/** The busy machine: most MAAS traffic is about it, so its INFO history is over a million events deep. */
export const HOT_HOST = 'valued-moth';
const HOSTS = [
  'quiet-otter',
  'brave-lynx',
  'swift-heron',
  'noble-ibis',
  'lucky-marten',
  'gentle-falcon',
  'sunny-badger',
];
const INSTANCES = ['moth-0', 'otter-1', 'falcon-2', 'lynx-3', 'heron-4', 'badger-5', 'marten-6', 'ibis-7', 'moth-8'];
const USERS = [
  { username: 'alice', protocol: 'tls', address: '10.0.3.15' },
  { username: 'bob', protocol: 'tls', address: '10.0.3.22' },
  { username: 'root', protocol: 'unix', address: '@' },
];
const INFO_TYPES = ['DEPLOYING', 'DEPLOYED', 'COMMISSIONING', 'READY', 'RELEASING', 'GATHERING_INFO', 'INSTALLING_OS'];
const POOL_SIZE = 20_000;
const PAGES_DEEP = 10_000;

/**
 * A pool of events in fixed proportions: 45% MAAS (85% about the hot host; 10% AUDIT, 30% DEBUG, 50% INFO, 10%
 * WARNING/ERROR), 22% lifecycle, 8% security, 15% logging, 10% operations. Both measured filters then match well over
 * a million events in 5,000,000, so 10,000 pages deep exists for each.
 */
export function maasBenchPool(n = POOL_SIZE, seed = 11): PreparedEvent[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const raw: unknown[] = [];
  const t0 = Date.UTC(2026, 0, 1);
  for (let i = 0; i < n; i++) {
    const timestamp = new Date(t0 + i * 1000).toISOString();
    const x = r();
    if (x < 0.45) {
      const hostname = r() < 0.85 ? HOT_HOST : pick(HOSTS);
      const node = `n${hostname.length.toString(36)}${hostname.charCodeAt(0).toString(36)}x`;
      const machine = {
        node,
        hostname,
        zone: 'default',
        pool: 'default',
        domain: 'maas',
        mac_addresses: ['52:54:00:12:34:56'],
      };
      const y = r();
      const [event_type, description] =
        y < 0.1
          ? ['NODE', `Started deploying '${hostname}'.`]
          : y < 0.4
            ? ['NODE_CHANGED_STATUS', "From 'Deploying' to 'Deployed'"]
            : y < 0.9
              ? [pick(INFO_TYPES), '']
              : [pick(['NODE_POWER_QUERY_FAILED', 'NODE_INSTALL_EVENT_FAILED']), 'BMC did not answer'];
      raw.push({
        type: 'maas',
        timestamp,
        metadata: { event_type, description, username: event_type === 'NODE' ? 'admin' : '', ...machine },
      });
    } else if (x < 0.67) {
      const name = pick(INSTANCES);
      raw.push({
        type: 'lifecycle',
        timestamp,
        project: 'default',
        metadata: {
          action: pick(['instance-started', 'instance-stopped', 'instance-updated']),
          source: `/1.0/instances/${name}`,
          requestor: pick(USERS),
          name,
          project: 'default',
        },
      });
    } else if (x < 0.75) {
      raw.push({
        type: 'security',
        timestamp,
        metadata: {
          name: 'authn_login_fail:tls',
          level: 'warning',
          description: 'TLS authentication failure',
          requestor: { username: '', protocol: 'tls', address: '203.0.113.9', user_agent: 'curl/8' },
        },
      });
    } else if (x < 0.9) {
      raw.push({
        type: 'logging',
        timestamp,
        metadata: { message: 'Handling API request', level: pick(['debug', 'info', 'warning', 'error']), context: {} },
      });
    } else {
      raw.push({
        type: 'operation',
        timestamp,
        project: 'default',
        metadata: {
          id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
          class: 'task',
          description: 'Starting instance',
          created_at: timestamp,
          updated_at: timestamp,
          status: 'Success',
          status_code: 200,
          requestor: pick(USERS),
        },
      });
    }
  }
  return prepareBatch(raw, { location: 'none' });
}

/** The store, built once into .bench-data/ and reused by later runs. */
export function maasBenchStorePath(count: number, log?: (s: string) => void): Promise<string> {
  return buildBenchStore('maas', count, () => maasBenchPool(), log);
}

export interface MaasBenchOptions {
  readonly count?: number;
  readonly iterations?: number;
  readonly log?: (s: string) => void;
}

const QUERIES = ['level=AUDIT', `hostname=${HOT_HOST}&level=INFO`];

export async function runMaasBench(opts: MaasBenchOptions = {}): Promise<BenchTable> {
  const count = opts.count ?? 5_000_000;
  const iterations = opts.iterations ?? 300;
  const log = opts.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  const source = await maasBenchStorePath(count, log);
  const dir = join(BENCH_DIR, 'maas-run');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  linkSync(source, join(dir, 'herald.db'));
  const herald = await startHerald({ dataDir: dir, listen: false, logger: new Logger({ write: () => {} }) });
  const rows: BenchRow[] = [];
  const notes: string[] = [];
  let worst = 0;
  try {
    for (const q of QUERIES) {
      const query = parseMaasQuery(new URLSearchParams(`op=query&${q}`));
      const page = maasPageRequest(query);
      // The id whose page is the 10,001st: 1,000,000 matching events are newer than it (found once, not timed).
      let before: number | undefined;
      let skipped = 0;
      while (skipped < PAGES_DEEP * 100) {
        const step = await herald.store.page(
          { ...page, limit: Math.min(1000, PAGES_DEEP * 100 - skipped), before },
          query.nodes,
        );
        const last = step[step.length - 1];
        if (!last) break;
        skipped += step.length;
        before = last.id;
      }
      if (skipped < PAGES_DEEP * 100)
        notes.push(`\`${q}\` matches only ${fmt(skipped)} events: the deep page is the last.`);
      for (const [label, extra] of [
        ['newest page', ''],
        [`${fmt(PAGES_DEEP)} pages deep`, `&before=${before}`],
      ] as const) {
        const url = `/MAAS/api/2.0/events/?op=query&${q}&limit=100${extra}`;
        const check = await herald.app.inject({ method: 'GET', url });
        if (check.statusCode !== 200) throw new Error(`${url}: HTTP ${check.statusCode} ${check.body}`);
        const returned = (JSON.parse(check.body) as { count: number }).count;
        const http = await timeRuns(iterations, () => herald.app.inject({ method: 'GET', url }));
        const bare = parseMaasQuery(new URLSearchParams(`op=query&${q}&limit=100${extra}`));
        const store = await timeRuns(iterations, () => herald.store.page(maasPageRequest(bare), bare.nodes));
        const p99 = percentile(http, 99);
        worst = Math.max(worst, p99);
        rows.push({
          metric: `\`${q}\`, ${label} (${returned} rows)`,
          value: `p50 ${fmt(percentile(http, 50), 2)} ms, p99 ${fmt(p99, 2)} ms`,
          ceiling: `store page p50 ${fmt(percentile(store, 50), 2)} ms, p99 ${fmt(percentile(store, 99), 2)} ms`,
          target: 'p99 ≤ 5 ms',
          ok: p99 <= 5,
        });
      }
      const keys = drivingKeys(page.filter);
      notes.push(
        `\`${q}\` reads posting list${keys && keys.length > 1 ? 's' : ''} ${keys ? keys.map((k) => `\`${k}\``).join(', ') : '(none: scans by id)'}.`,
      );
    }
  } finally {
    await herald.close();
    rmSync(dir, { recursive: true, force: true });
  }
  notes.push(
    `Worst p99 ${fmt(worst, 2)} ms over ${iterations} requests per row, through the HTTP route (inject): ` +
      'parameters, store page, JSON.parse and projection of each event, 4-space JSON.',
  );
  return { title: `MAAS view pages of 100 on a ${fmt(count)}-event store`, rows, notes };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { renderTable } = await import('./harness.js');
  process.stdout.write(renderTable(await runMaasBench()));
}
