/** @module Time parsing shared by every filter: RFC3339 timestamps, durations like `15m`, and the server clock. */

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

/** The number written by `n` ASCII digits of `s` from `at`, or -1 when any of them is not a digit (or is missing). */
function digitsAt(s: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const d = s.charCodeAt(i) - 48;
    if (!(d >= 0 && d <= 9)) return -1;
    v = v * 10 + d;
  }
  return v;
}

/**
 * Milliseconds since the epoch for an RFC3339 timestamp, or undefined when it is not one (or names no real instant).
 * The grammar is Go's RFC3339, what lxc parses: `YYYY-MM-DDTHH:MM:SS`, an optional `.` and 1–9 digits, then `Z` or
 * `±HH:MM`; upper-case T and Z only, no leap second. Anything looser lxc silently drops.
 */
export function parseRfc3339(value: string): number | undefined {
  // Read by hand rather than with a regular expression (its match array and substrings): ingest parses every event's
  // timestamp, and Date.parse plus a validity check costs several times more again.
  const len = value.length;
  if (
    len < 20 ||
    value.charCodeAt(4) !== 45 || // -
    value.charCodeAt(7) !== 45 ||
    value.charCodeAt(10) !== 84 || // T
    value.charCodeAt(13) !== 58 || // :
    value.charCodeAt(16) !== 58
  ) {
    return undefined;
  }
  const year = digitsAt(value, 0, 4);
  const month = digitsAt(value, 5, 2);
  const day = digitsAt(value, 8, 2);
  const hour = digitsAt(value, 11, 2);
  const minute = digitsAt(value, 14, 2);
  const second = digitsAt(value, 17, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23) return undefined;
  if (minute < 0 || minute > 59 || second < 0 || second > 59) return undefined;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  if (day > (month === 2 && !leap ? 28 : (DAYS_IN_MONTH[month - 1] as number))) return undefined;
  let at = 19;
  let fraction = 0;
  if (value.charCodeAt(at) === 46) {
    // One to nine digits, of which the milliseconds are the first three.
    let n = 0;
    for (at++; at < len; at++, n++) {
      const d = value.charCodeAt(at) - 48;
      if (!(d >= 0 && d <= 9)) break;
      if (n < 3) fraction = fraction * 10 + d;
    }
    if (n === 0 || n > 9) return undefined;
    for (; n < 3; n++) fraction *= 10;
  }
  let offsetMin = 0;
  const zone = value.charCodeAt(at);
  if (zone === 90) {
    if (at + 1 !== len) return undefined;
  } else if (zone === 43 || zone === 45) {
    if (at + 6 !== len || value.charCodeAt(at + 3) !== 58) return undefined;
    const h = digitsAt(value, at + 1, 2);
    const m = digitsAt(value, at + 4, 2);
    if (h < 0 || m < 0) return undefined;
    offsetMin = (h * 60 + m) * (zone === 45 ? -1 : 1);
  } else return undefined;
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

/** Nanoseconds since the epoch for an RFC3339 timestamp, keeping all nine fraction digits; undefined if not one. */
export function rfc3339ToNanos(value: string): bigint | undefined {
  const ms = parseRfc3339(value);
  if (ms === undefined) return undefined;
  // Valid, so any fraction is the digits after the `.` at position 19.
  let end = 20;
  if (value.charCodeAt(19) === 46) while (digitsAt(value, end, 1) >= 0) end++;
  const frac = value.slice(20, end).padEnd(9, '0');
  const wholeSeconds = BigInt(Math.floor(ms / 1000));
  return wholeSeconds * 1_000_000_000n + BigInt(frac);
}
