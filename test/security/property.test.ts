/**
 * @module Property-based tests (fast-check) over the event validator, the query parser and the body checks: whatever
 * the input, they answer with issues or a HeraldError, never anything else, and accepted events round-trip.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { LIFECYCLE_ACTIONS } from '../../src/core/catalogue/lifecycle.js';
import { HeraldError } from '../../src/core/errors.js';
import { matches, parseFilter } from '../../src/core/filter.js';
import { parsePage } from '../../src/core/page.js';
import { canView, type Identity } from '../../src/core/permissions.js';
import { prepareBatch, prepareOne } from '../../src/core/prepare.js';
import { inspectJson, parseLimitedJson } from '../../src/server/limits.js';
import { FailureRateLimiter } from '../../src/service/rate-limit.js';
import { SAMPLES } from '../support/herald.js';

const OPTS = { location: 'none', now: () => '2026-01-01T00:00:00.000000Z' };
const RUNS = { numRuns: 300 };

/** Anything JSON.parse can produce, plus the values JSON cannot carry but a non-HTTP source might. */
const value = fc.oneof(
  fc.jsonValue({ maxDepth: 6 }),
  fc.anything({ maxDepth: 4, withNullPrototype: true, withObjectString: true }),
);

const TYPES = ['logging', 'ovn', 'lifecycle', 'operation', 'security', 'maas', 'custom', ''];
/** Envelopes that get past the first checks, with metadata that is anything at all. */
const envelope = fc.record(
  {
    type: fc.constantFrom(...TYPES),
    timestamp: fc.oneof(fc.string(), fc.constant('2026-01-01T00:00:00Z')),
    metadata: value,
    location: fc.string(),
    project: fc.string(),
  },
  { requiredKeys: ['type', 'metadata'] },
);

/** A sample event with one field replaced by an arbitrary value, at any depth. */
const mutated = fc
  .tuple(fc.constantFrom(...Object.values(SAMPLES)), fc.array(fc.string({ maxLength: 12 }), { maxLength: 3 }), value)
  .map(([sample, path, v]) => {
    const copy = JSON.parse(JSON.stringify(sample)) as Record<string, unknown>;
    const keys = ['metadata', ...path];
    // Own properties only, set as JSON.parse sets them: a path through `__proto__` must give the event an own key of
    // that name (hostile input), not write into Object.prototype and poison every later test in this process.
    const own = (o: Record<string, unknown>, k: string): unknown => (Object.hasOwn(o, k) ? o[k] : undefined);
    const set = (o: Record<string, unknown>, k: string, x: unknown) =>
      Object.defineProperty(o, k, { value: x, enumerable: true, writable: true, configurable: true });
    let at: Record<string, unknown> = copy;
    for (const k of keys.slice(0, -1)) {
      const next = own(at, k);
      if (next === null || typeof next !== 'object') set(at, k, {});
      at = own(at, k) as Record<string, unknown>;
    }
    set(at, keys[keys.length - 1] as string, v);
    return copy;
  });

// Nothing here may write into Object.prototype: neither herald's code nor these generators. Checked after each test,
// so a pollution fails where it happens instead of as odd validation errors in every test after it.
afterEach(() => {
  expect(Object.keys(Object.prototype)).toEqual([]);
});

function noThrow(f: () => unknown): void {
  try {
    f();
  } catch (err) {
    if (!(err instanceof HeraldError)) throw err;
  }
}

describe('the event validator', () => {
  it('prepareOne never throws: it returns a prepared event or issues', () => {
    fc.assert(
      fc.property(fc.oneof(value, envelope, mutated), (raw) => {
        const r = prepareOne(raw, 0, OPTS);
        if (Array.isArray(r)) {
          expect(r.length).toBeGreaterThan(0);
          for (const i of r) expect(typeof i.reason).toBe('string');
        } else expect(typeof r.body).toBe('string');
      }),
      RUNS,
    );
  });

  it('prepareBatch throws only HeraldErrors, all or nothing', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(envelope, mutated, fc.constantFrom(...Object.values(SAMPLES))), { maxLength: 8 }),
        (raw) => {
          try {
            const out = prepareBatch(raw, OPTS);
            expect(out).toHaveLength(raw.length);
          } catch (err) {
            expect(err).toBeInstanceOf(HeraldError);
          }
        },
      ),
      RUNS,
    );
  });

  it('accepted events round-trip: re-validating the stored JSON gives the same bytes and facts', () => {
    const lifecycle = fc.record({
      type: fc.constant('lifecycle'),
      timestamp: fc
        .date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true })
        .map((d) => d.toISOString()),
      project: fc.string({ maxLength: 20 }),
      metadata: fc.record(
        {
          action: fc.constantFrom(...LIFECYCLE_ACTIONS.map((a) => a.action)),
          source: fc.string({ maxLength: 40 }),
          context: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 })),
          requestor: fc.record({ username: fc.string(), protocol: fc.string(), address: fc.string() }),
          name: fc.string(),
        },
        { requiredKeys: ['action', 'source'] },
      ),
    });
    const logging = fc.record({
      type: fc.constantFrom('logging', 'ovn'),
      metadata: fc.record({
        message: fc.string({ unit: 'binary' }),
        level: fc.constantFrom('debug', 'info', 'warning', 'error'),
        context: fc.dictionary(fc.string(), fc.string()),
      }),
    });
    fc.assert(
      fc.property(fc.oneof(lifecycle, logging, mutated), (raw) => {
        const first = prepareOne(raw, 0, OPTS);
        if (Array.isArray(first)) return; // mutated samples may well be invalid
        const again = prepareOne(JSON.parse(first.body), 0, OPTS);
        expect(Array.isArray(again)).toBe(false);
        if (Array.isArray(again)) return;
        expect(again.body).toBe(first.body);
        expect(again.fields).toEqual(first.fields);
      }),
      RUNS,
    );
  });
});

describe('extreme nesting', () => {
  // The HTTP routes refuse such bodies first (limits.ts inspectJson), but other sources call prepareOne directly.
  it('prepareOne on 20,000 levels of nesting returns an issue instead of throwing', () => {
    let v: unknown = 1;
    for (let i = 0; i < 20_000; i++) v = { d: v };
    const raw = { type: 'lifecycle', metadata: { action: 'instance-started', source: '/', context: v } };
    expect(prepareOne(raw, 0, OPTS)).toEqual([{ index: 0, field: '(event)', reason: 'nested too deeply' }]);
  });
});

describe('the query parser', () => {
  const KEYS = [
    'type',
    'project',
    'all-projects',
    'location',
    'action',
    'level',
    'username',
    'node',
    'hostname',
    'since',
    'until',
    'q',
    'after',
    'before',
    'limit',
  ];
  const params = fc
    .array(
      fc.tuple(
        fc.oneof(fc.constantFrom(...KEYS), fc.string()),
        fc.oneof(
          fc.string({ unit: 'binary' }),
          fc.constantFrom(
            'lifecycle',
            'logging,ovn',
            'audit',
            'warning',
            '15m',
            'true',
            '10',
            '-1',
            '1e3',
            '2026-01-01T00:00:00Z',
          ),
        ),
      ),
      {
        maxLength: 8,
      },
    )
    .map((pairs) => new URLSearchParams(pairs));
  const raw = fc.string({ unit: 'binary', maxLength: 200 }).map((s) => new URLSearchParams(s));

  it('parseFilter and parsePage throw only HeraldErrors; a parsed filter can always be evaluated', () => {
    const id: Identity = {
      kind: 'restricted',
      username: 'u',
      protocol: 'tls',
      address: '',
      server: [],
      projects: { p: ['can_view_events'] },
    };
    const sample = prepareBatch(Object.values(SAMPLES), OPTS);
    fc.assert(
      fc.property(fc.oneof(params, raw), (p) => {
        noThrow(() => parsePage(p));
        let filter: ReturnType<typeof parseFilter>;
        try {
          filter = parseFilter(p, { now: Date.now(), defaultScope: { kind: 'all' } });
        } catch (err) {
          expect(err).toBeInstanceOf(HeraldError);
          return;
        }
        for (const e of sample) {
          expect(typeof matches(e.fields, filter)).toBe('boolean');
          expect(typeof canView(id, e.fields)).toBe('boolean');
        }
      }),
      RUNS,
    );
  });
});

describe('request-body checks', () => {
  it('parseLimitedJson answers any bytes with a value or a HeraldError', () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
      fc.jsonValue({ maxDepth: 8 }).map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
      fc.string({ unit: 'binary' }).map((s) => Buffer.from(s)),
      fc.nat({ max: 5000 }).map((n) => Buffer.from(`${'['.repeat(n)}${']'.repeat(n)}`)),
    );
    const types = fc.constantFrom(undefined, 'application/json', 'application/merge-patch+json', 'text/plain', '');
    fc.assert(
      fc.property(bytes, types, (b, ct) => noThrow(() => parseLimitedJson(b, ct))),
      RUNS,
    );
  });

  it('whatever inspectJson accepts, JSON can encode without loss of structure', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue({ maxDepth: 10 }), fc.anything({ maxDepth: 5 })), (v) => {
        try {
          inspectJson(v);
        } catch (err) {
          expect(err).toBeInstanceOf(HeraldError);
          return;
        }
        expect(() => JSON.stringify(v)).not.toThrow();
      }),
      RUNS,
    );
  });
});

describe('the failed-authentication rate limiter', () => {
  it('allows exactly the burst without time passing, at most one more per refill, and forgets a full bucket', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.nat({ max: 3000 }), { maxLength: 60 }),
        (burst, gaps) => {
          let now = 0;
          const rl = new FailureRateLimiter({ burst, refillMs: 1000, now: () => now });
          let allowed = 0;
          while (!rl.blocked('a')) {
            rl.fail('a');
            allowed++;
          }
          expect(allowed).toBe(burst);
          let elapsed = 0;
          let more = 0;
          for (const gap of gaps) {
            now += gap;
            elapsed += gap;
            if (!rl.blocked('a')) {
              rl.fail('a');
              more++;
            } else expect(rl.retryAfterSeconds('a')).toBeGreaterThan(0);
          }
          expect(more).toBeLessThanOrEqual(Math.floor(elapsed / 1000));
          now += 1000 * burst;
          expect(rl.blocked('a')).toBe(false);
          expect(rl.size).toBe(0);
        },
      ),
      RUNS,
    );
  });
});
