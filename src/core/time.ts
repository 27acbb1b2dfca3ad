/** @module Time parsing shared by every filter: RFC3339 timestamps, durations like `15m`, and the server clock. */

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;
const DURATION = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d|w)$/;
const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** Milliseconds since the epoch for an RFC3339 timestamp, or undefined when it is not one (or names no real instant). */
export function parseRfc3339(value: string): number | undefined {
  const m = RFC3339.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m;
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > 31 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 60) {
    return undefined;
  }
  // Date.parse accepts at most millisecond precision, so the fraction is cut to three digits first.
  const frac = m[7] ? m[7].slice(0, 4) : '';
  const ms = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s === '60' ? '59' : s}${frac}${m[8]?.toUpperCase()}`);
  if (Number.isNaN(ms)) return undefined;
  // Reject dates like 2021-02-30 that Date.parse silently rolls over.
  const check = new Date(Date.UTC(Number(y), month - 1, day));
  if (check.getUTCDate() !== day) return undefined;
  return ms;
}

/** A duration such as `15m`, `2h`, `1.5d`, in milliseconds; undefined when it is not one. */
export function parseDuration(value: string): number | undefined {
  const parts = value.match(/\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h|d|w)/g);
  if (!parts || parts.join('') !== value) return undefined;
  let total = 0;
  for (const part of parts) {
    const m = DURATION.exec(part);
    if (!m) return undefined;
    total += Number(m[1]) * (UNIT_MS[m[2] as string] ?? 0);
  }
  return total;
}

/** A point in time given as RFC3339 or as a duration before `now`; undefined when it is neither. */
export function parseTimePoint(value: string, now: number): number | undefined {
  const abs = parseRfc3339(value);
  if (abs !== undefined) return abs;
  const d = parseDuration(value);
  return d === undefined ? undefined : now - d;
}

let lastMicros = 0;
/**
 * The server's time as RFC3339 with microseconds in UTC. Microseconds come from the monotonic clock added to the wall
 * clock at start, and never repeat, so events stamped in one batch keep their order in time as well as in id.
 */
export function nowRfc3339(): string {
  let micros = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  if (micros <= lastMicros) micros = lastMicros + 1;
  lastMicros = micros;
  const iso = new Date(Math.floor(micros / 1000)).toISOString();
  return `${iso.slice(0, 23)}${String(micros % 1000).padStart(3, '0')}Z`;
}

/** Nanoseconds since the epoch, as a decimal string, for an RFC3339 timestamp (keeps all nine fraction digits). */
export function rfc3339ToNanos(value: string): bigint | undefined {
  const ms = parseRfc3339(value);
  if (ms === undefined) return undefined;
  const m = RFC3339.exec(value);
  const frac = (m?.[7] ?? '.').slice(1).padEnd(9, '0');
  const wholeSeconds = BigInt(Math.floor(ms / 1000));
  return wholeSeconds * 1_000_000_000n + BigInt(frac);
}
