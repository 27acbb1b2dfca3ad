/** @module Pure core: time parsing, level parsing and the live filter interpreter. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ALL_SCOPE, matches, parseFilter, parseTypes } from '../../src/core/filter.js';
import { parseLevelFilter } from '../../src/core/levels.js';
import { prepareOne } from '../../src/core/prepare.js';
import { nowStamp, parseDuration, parseRfc3339, rfc3339ToNanos } from '../../src/core/time.js';
import { SAMPLES } from '../support/herald.js';

describe('time', () => {
  it('parses RFC3339 with offsets and nanoseconds', () => {
    expect(parseRfc3339('2021-02-24T19:00:45.452649098-05:00')).toBe(Date.UTC(2021, 1, 25, 0, 0, 45, 452));
    expect(parseRfc3339('2021-02-24T19:00:45Z')).toBe(Date.UTC(2021, 1, 24, 19, 0, 45));
    expect(rfc3339ToNanos('2021-02-24T19:00:45.452649098Z')).toBe(1614193245452649098n);
    expect(rfc3339ToNanos('2021-02-24T20:00:45.45+01:00')).toBe(1614193245450000000n);
    expect(rfc3339ToNanos('2021-02-24T19:00:45Z')).toBe(1614193245000000000n);
    expect(rfc3339ToNanos('2021-02-24T19:00:45.Z')).toBeUndefined();
  });
  it.each([
    '2021-02-24',
    '2021-02-24T19:00:45',
    '2021-13-01T00:00:00Z',
    '2021-02-29T00:00:00Z',
    'now',
    '',
    // Go's RFC3339 refuses these, and lxc silently drops events that carry them
    '2026-01-01t10:00:00Z',
    '2026-01-01T10:00:00z',
    '2026-01-01 10:00:00Z',
    '2026-01-01T10:00:60Z',
  ])('rejects %s', (v) => expect(parseRfc3339(v)).toBeUndefined());
  it('reads exactly the grammar of the RFC3339 pattern, with the same instant (differential, random texts)', () => {
    // The reference: the pattern and the arithmetic the hand-written reader replaced.
    const pattern = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
    const days = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    const reference = (v: string): number | undefined => {
      const m = pattern.exec(v);
      if (!m) return undefined;
      const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
      if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return undefined;
      const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
      if (d > (mo === 2 && !leap ? 28 : (days[mo - 1] as number))) return undefined;
      const frac = m[7] ? Number(m[7].slice(1, 4).padEnd(3, '0')) : 0;
      const z = m[8] as string;
      const off = z === 'Z' ? 0 : (Number(z.slice(1, 3)) * 60 + Number(z.slice(4, 6))) * (z[0] === '-' ? -1 : 1);
      return Date.UTC(y, mo - 1, d, h, mi, s) + frac - off * 60_000;
    };
    // Texts near the grammar: each position drawn from the characters that matter there, plus anything at all.
    const near = fc
      .array(
        fc.constantFrom(...'0123456789-T:.Z+z t/٣'.split(''), '2026-02-28T23:59:59', '2024-02-29T', '.123456789'),
        {
          maxLength: 40,
        },
      )
      .map((parts) => parts.join(''));
    const stamps = fc
      .tuple(
        fc.integer({ min: 0, max: 9999 }),
        fc.integer({ min: 0, max: 13 }),
        fc.integer({ min: 0, max: 32 }),
        fc.integer({ min: 0, max: 24 }),
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 0, max: 60 }),
        fc.option(fc.stringMatching(/^\.[0-9]{0,10}$/), { nil: '' }),
        fc.constantFrom('Z', '+00:00', '-05:30', '+14:00', '+1:00', '-05:3', 'z', '', '+05:30Z'),
      )
      .map(([y, mo, d, h, mi, s, frac, zone]) => {
        const p = (n: number, w = 2) => String(n).padStart(w, '0');
        return `${p(y, 4)}-${p(mo)}-${p(d)}T${p(h)}:${p(mi)}:${p(s)}${frac}${zone}`;
      });
    fc.assert(
      fc.property(fc.oneof(near, stamps, fc.string()), (v) => {
        expect(parseRfc3339(v)).toBe(reference(v));
      }),
      { numRuns: 20_000 },
    );
  });
  it('parses durations', () => {
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('2d')).toBe(172_800_000);
    expect(parseDuration('15')).toBeUndefined();
    expect(parseDuration('m')).toBeUndefined();
  });
  it('stamps strictly increasing server times', () => {
    const a = nowStamp().text;
    const b = nowStamp().text;
    expect(b > a).toBe(true);
    expect(parseRfc3339(a)).toBeDefined();
  });
});

describe('levels and filters', () => {
  it('compares levels across vocabularies', () => {
    expect(parseLevelFilter('WARNING')).toEqual({ min: 30 });
    expect(parseLevelFilter('warn')).toEqual({ min: 30 });
    expect(parseLevelFilter('panic')).toEqual({ min: 50 });
    expect(parseLevelFilter('audit')).toEqual({ audit: true });
    expect(parseLevelFilter('loud')).toBeUndefined();
  });

  it('accepts percent-encoded commas and repeated type keys', () => {
    expect(parseTypes(new URLSearchParams('type=logging%2Clifecycle&type=ovn'))).toEqual([
      'logging',
      'lifecycle',
      'ovn',
    ]);
  });

  it('interprets a parsed filter on live events as the store does', () => {
    const fields = (raw: unknown) => {
      const p = prepareOne(raw, 0, { location: 'none' });
      if (Array.isArray(p)) throw new Error(JSON.stringify(p));
      return p.fields;
    };
    const f = parseFilter(new URLSearchParams('project=web&level=info'), { now: Date.now(), defaultScope: ALL_SCOPE });
    expect(matches(fields(SAMPLES.logging), f)).toBe(true);
    expect(matches(fields(SAMPLES.lifecycle), f)).toBe(false);
    const audit = parseFilter(new URLSearchParams('level=audit&action=authn_login_fail'), {
      now: Date.now(),
      defaultScope: ALL_SCOPE,
    });
    expect(matches(fields(SAMPLES.security), audit)).toBe(true);
    expect(matches(fields(SAMPLES.logging), audit)).toBe(false);
  });
});
