/** @module The benchmark harness: every figure is printed beside its ceiling measured in the same run. */

export interface BenchRow {
  readonly metric: string;
  readonly value: string;
  /** the comparable raw figure measured in the same run (e.g. raw better-sqlite3 inserts) */
  readonly ceiling?: string;
  readonly target?: string;
  /** whether the target is met; undefined when there is no target */
  readonly ok?: boolean;
}

export interface BenchTable {
  readonly title: string;
  readonly rows: readonly BenchRow[];
  readonly notes?: readonly string[];
}

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, i)] as number;
}

/** A markdown table, ready to paste into the README. */
export function renderTable(t: BenchTable): string {
  const lines = [
    `### ${t.title}`,
    '',
    '| metric | herald | ceiling (same run) | target | met |',
    '|---|---:|---:|---:|:---:|',
  ];
  for (const r of t.rows) {
    const met = r.ok === undefined ? '' : r.ok ? 'yes' : '**no**';
    lines.push(`| ${r.metric} | ${r.value} | ${r.ceiling ?? ''} | ${r.target ?? ''} | ${met} |`);
  }
  for (const n of t.notes ?? []) lines.push('', n);
  return `${lines.join('\n')}\n`;
}

/**
 * `n` timed runs of `fn` in ms, sorted ascending, after `warmup` untimed ones; each run in an event-loop turn of its
 * own. In-process requests (inject) complete in microtasks, so a tight loop of them never reaches the check phase:
 * the setImmediate callbacks each response schedules pile up and keep every response alive, and the collector's pauses
 * grow with them (4–8 ms p99 on history pages that take 1.5 ms). A server handles each request in a turn of its own.
 */
export async function timeRuns(n: number, fn: () => Promise<unknown>, warmup = 20): Promise<number[]> {
  const turn = () => new Promise<void>((r) => setImmediate(r));
  for (let i = 0; i < warmup; i++) {
    await fn();
    await turn();
  }
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
    await turn();
  }
  return times.sort((a, b) => a - b);
}
