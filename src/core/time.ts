/** @module Time parsing shared by every filter: RFC3339 timestamps, durations like `15m`, and the server clock. */

// Go's RFC3339 (what lxc parses): upper-case T and Z only, no leap second; anything looser lxc silently drops.
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
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

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Milliseconds since the epoch for an RFC3339 timestamp, or undefined when it is not one (or names no real instant). */
export function parseRfc3339(value: string): number | undefined {
  const m = RFC3339.exec(value);
  if (!m) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = Number(m[6]);
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  if (day > (month === 2 && !leap ? 28 : (DAYS_IN_MONTH[month - 1] as number))) return undefined;
  // Parsed by hand: Date.parse plus a validity check costs several times more, and ingest parses every timestamp.
  const fraction = m[7] ? Math.floor(Number(m[7].slice(0, 4).padEnd(4, '0').slice(1))) : 0;
  const zone = m[8] as string;
  let offsetMin = 0;
  if (zone !== 'Z') {
    offsetMin = (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * (zone[0] === '-' ? -1 : 1);
  }
  return Date.UTC(year, month - 1, day, hour, minute, second) + fraction - offsetMin * 60_000;
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
let lastSecond = -1;
let lastSecondText = '';

/** The server's clock as RFC3339 text and its milliseconds, so that stamping needs no parse. */
export function nowStamp(): { text: string; ms: number } {
  let micros = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  if (micros <= lastMicros) micros = lastMicros + 1;
  lastMicros = micros;
  const second = Math.floor(micros / 1_000_000);
  if (second !== lastSecond) {
    lastSecond = second;
    lastSecondText = new Date(second * 1000).toISOString().slice(0, 19);
  }
  return { text: `${lastSecondText}.${String(micros % 1_000_000).padStart(6, '0')}Z`, ms: Math.floor(micros / 1000) };
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
