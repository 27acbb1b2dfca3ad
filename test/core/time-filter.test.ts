/** @module Pure core: time parsing, level parsing and the live filter interpreter. */
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
