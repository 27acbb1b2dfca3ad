/**
 * @module Loki's configuration keys: LXD's `loki.*` keys (spec lxd-events.md §5.1) for the target named `default`,
 * herald's extensions, and the same keys under `loki.<name>.*` for further named targets.
 */
import { X509Certificate } from 'node:crypto';
import { z } from 'zod';
import { LOGRUS_LEVELS } from '../../core/levels.js';
import { parseDuration } from '../../core/time.js';
import type { ConfigKeyDef, ConfigService } from '../../service/config.js';

/** Types a Loki target may forward: LXD's four plus herald's `maas`; operations are never forwarded (LXD). */
export const LOKI_TYPES = ['lifecycle', 'logging', 'ovn', 'security', 'maas'] as const;
export type LokiType = (typeof LOKI_TYPES)[number];

/** logrus level names and their numbers (panic 0 ... trace 6); `warn` is logrus's own spelling of warning. */
export const LOGRUS_LEVEL_NUMBER: Readonly<Record<string, number>> = {
  panic: 0,
  fatal: 1,
  error: 2,
  warn: 3,
  warning: 3,
  info: 4,
  debug: 5,
  trace: 6,
};

export const DEFAULT_TARGET = 'default';
/** Second parts of LXD's own three-part keys, which therefore cannot name a target. */
const RESERVED_NAMES = new Set(['api', 'auth', 'batch', 'retry', DEFAULT_TARGET]);
const TARGET_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;

const PUSH_PATH = '/loki/api/v1/push';

function fail(ctx: z.RefinementCtx<string>, message: string): never {
  ctx.addIssue({ code: 'custom', message });
  return z.NEVER as never;
}

const url = z.string().transform((v, ctx) => {
  let u: URL;
  try {
    u = new URL(v.trim());
  } catch {
    return fail(ctx, 'not a URL (expected scheme://host:port)');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return fail(ctx, 'scheme must be http or https');
  if (u.search || u.hash) return fail(ctx, 'must not have a query or fragment');
  // LXD appends the push path itself; users often include it (canonical/lxd#12271), so it is accepted and dropped.
  let path = u.pathname.replace(/\/+$/, '');
  if (path.endsWith(PUSH_PATH)) path = path.slice(0, -PUSH_PATH.length);
  return `${u.protocol}//${u.host}${path}`;
});

const caCert = z.string().refine(
  (v) => {
    try {
      new X509Certificate(v);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'not a PEM certificate' },
);

const commaList = (allowed?: readonly string[], what = 'value') =>
  z.string().transform((v, ctx) => {
    const items = v.split(',').map((s) => s.trim());
    if (items.some((s) => s === '')) return fail(ctx, 'empty item in comma-separated list');
    if (allowed) {
      const bad = items.find((s) => !allowed.includes(s));
      if (bad !== undefined) return fail(ctx, `"${bad}" is not a valid ${what} (allowed: ${allowed.join(', ')})`);
    }
    return items.join(',');
  });

const loglevel = z.string().transform((v, ctx) => {
  const l = v.trim().toLowerCase();
  if (LOGRUS_LEVEL_NUMBER[l] === undefined) {
    return fail(ctx, `not a valid log level (allowed: ${[...LOGRUS_LEVELS, 'warn'].join(', ')})`);
  }
  return l;
});

const duration = (min: number, max: number) =>
  z.string().transform((v, ctx) => {
    const ms = parseDuration(v.trim());
    if (ms === undefined) return fail(ctx, 'not a duration like 500ms, 10s or 1m');
    if (ms < min || ms > max) return fail(ctx, `must be between ${min}ms and ${max}ms`);
    return v.trim();
  });

const bytes = (min: number, max: number) =>
  z.string().transform((v, ctx) => {
    const n = Number(v.trim());
    if (!Number.isInteger(n) || n < min || n > max) return fail(ctx, `must be an integer between ${min} and ${max}`);
    return String(n);
  });

// Loki's tenant id rule: alphanumerics and !-_.*'(), at most 150 bytes, not "." or "..".
const tenant = z
  .string()
  .regex(/^[A-Za-z0-9!_.*'()-]{1,150}$/, 'not a valid Loki tenant id')
  .refine((v) => v !== '.' && v !== '..', { message: 'not a valid Loki tenant id' });

const any = z.string();

interface Suffix {
  readonly suffix: string;
  readonly schema: z.ZodType<string, string>;
  readonly description: string;
  readonly defaultValue?: string;
  readonly secret?: boolean;
}

/** Every key a target has, by its part after `loki.` (or `loki.<name>.`). */
export const LOKI_SUFFIXES: readonly Suffix[] = [
  { suffix: 'api.url', schema: url, description: 'Loki base URL (scheme://host:port); setting it enables forwarding' },
  { suffix: 'api.ca_cert', schema: caCert, description: 'PEM CA certificate to verify an https Loki' },
  {
    suffix: 'api.bearer_token',
    schema: any,
    description: 'bearer token sent as Authorization (herald)',
    secret: true,
  },
  {
    suffix: 'api.timeout',
    schema: duration(100, 600_000),
    description: 'timeout of each push (herald)',
    defaultValue: '10s',
  },
  { suffix: 'auth.username', schema: any, description: 'HTTP basic auth user (sent only with a password)' },
  { suffix: 'auth.password', schema: any, description: 'HTTP basic auth password', secret: true },
  { suffix: 'instance', schema: any, description: 'value of the `instance` label (default: OS hostname)' },
  {
    suffix: 'labels',
    schema: commaList(),
    description: 'comma list of line keys promoted to labels (LXD spelling)',
  },
  {
    suffix: 'loglevel',
    schema: loglevel,
    description: 'least severe logging/ovn level forwarded',
    defaultValue: 'info',
  },
  {
    suffix: 'types',
    schema: commaList(LOKI_TYPES, 'type'),
    description: 'comma list of event types to forward',
    defaultValue: 'lifecycle,logging',
  },
  { suffix: 'tenant', schema: tenant, description: 'Loki tenant, sent as X-Scope-OrgID (herald)' },
  {
    suffix: 'batch.max_bytes',
    schema: bytes(1, 64 * 1024 * 1024),
    description: 'line bytes that make a batch full when live (herald; LXD: 10240)',
    defaultValue: '10240',
  },
  {
    suffix: 'batch.backlog_max_bytes',
    schema: bytes(1, 64 * 1024 * 1024),
    description: 'line bytes that make a batch full while catching up a backlog (herald)',
    defaultValue: '1048576',
  },
  {
    suffix: 'batch.max_wait',
    schema: duration(0, 600_000),
    description: 'age at which a batch is sent even if not full (herald; LXD: 1s)',
    defaultValue: '1s',
  },
  {
    suffix: 'retry.min_backoff',
    schema: duration(1, 600_000),
    description: 'first retry delay after a failed push (herald)',
    defaultValue: '500ms',
  },
  {
    suffix: 'retry.max_backoff',
    schema: duration(1, 3_600_000),
    description: 'longest retry delay (herald)',
    defaultValue: '10s',
  },
];

const SUFFIX_BY_NAME = new Map(LOKI_SUFFIXES.map((s) => [s.suffix, s]));

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Split a `loki.*` key into its target and suffix; undefined when it is not one. */
export function parseLokiKey(key: string): { target: string; suffix: string } | undefined {
  if (!key.startsWith('loki.')) return undefined;
  const rest = key.slice(5);
  if (SUFFIX_BY_NAME.has(rest)) return { target: DEFAULT_TARGET, suffix: rest };
  const dot = rest.indexOf('.');
  if (dot < 0) return undefined;
  const name = rest.slice(0, dot);
  const suffix = rest.slice(dot + 1);
  if (!TARGET_NAME.test(name) || RESERVED_NAMES.has(name) || !SUFFIX_BY_NAME.has(suffix)) return undefined;
  return { target: name, suffix };
}

export function lokiKey(target: string, suffix: string): string {
  return target === DEFAULT_TARGET ? `loki.${suffix}` : `loki.${target}.${suffix}`;
}

/** Register every Loki key with the configuration service. */
export function defineLokiConfig(config: ConfigService): void {
  const defs: ConfigKeyDef[] = [];
  for (const s of LOKI_SUFFIXES) {
    defs.push({ key: `loki.${s.suffix}`, ...pick(s) });
    const named = new RegExp(`^loki\\.([a-z0-9][a-z0-9_-]{0,31})\\.${escapeRe(s.suffix)}$`);
    defs.push({
      key: {
        // A pattern alone cannot refuse the reserved names, so the matcher checks them too.
        test: (k: string) => {
          const m = named.exec(k);
          return m !== null && !RESERVED_NAMES.has(m[1] as string);
        },
      },
      ...pick(s),
      description: `${s.description} (named target)`,
    });
  }
  config.define(defs);
}

function pick(s: Suffix): Omit<ConfigKeyDef, 'key'> {
  return { schema: s.schema, description: s.description, defaultValue: s.defaultValue, secret: s.secret };
}

/** Everything one target needs, resolved from the configuration (defaults applied). */
export interface LokiTargetSettings {
  readonly name: string;
  readonly url: string;
  readonly caCert?: string;
  readonly bearerToken?: string;
  readonly username?: string;
  readonly password?: string;
  readonly tenant?: string;
  readonly timeoutMs: number;
  readonly instance?: string;
  readonly labels: readonly string[];
  readonly loglevel: string;
  readonly types: readonly LokiType[];
  readonly batchMaxBytes: number;
  readonly batchBacklogMaxBytes: number;
  readonly batchMaxWaitMs: number;
  readonly minBackoffMs: number;
  readonly maxBackoffMs: number;
}

/** Targets that are enabled (their `api.url` is set), by name. */
export function lokiTargets(config: ConfigService): Map<string, LokiTargetSettings> {
  const names = new Set<string>();
  for (const key of Object.keys(config.all())) {
    const p = parseLokiKey(key);
    if (p && p.suffix === 'api.url') names.add(p.target);
  }
  const out = new Map<string, LokiTargetSettings>();
  for (const name of [...names].sort()) {
    const get = (suffix: string): string | undefined => {
      const key = lokiKey(name, suffix);
      return config.get(key) ?? SUFFIX_BY_NAME.get(suffix)?.defaultValue;
    };
    const ms = (suffix: string): number => parseDuration(get(suffix) ?? '') ?? 0;
    const list = (suffix: string): string[] => (get(suffix) ?? '').split(',').filter((s) => s !== '');
    out.set(name, {
      name,
      url: get('api.url') as string,
      caCert: get('api.ca_cert'),
      bearerToken: get('api.bearer_token'),
      username: get('auth.username'),
      password: get('auth.password'),
      tenant: get('tenant'),
      timeoutMs: ms('api.timeout'),
      instance: get('instance'),
      labels: list('labels'),
      loglevel: get('loglevel') ?? 'info',
      types: list('types') as LokiType[],
      batchMaxBytes: Number(get('batch.max_bytes')),
      batchBacklogMaxBytes: Number(get('batch.backlog_max_bytes')),
      batchMaxWaitMs: ms('batch.max_wait'),
      minBackoffMs: ms('retry.min_backoff'),
      maxBackoffMs: ms('retry.max_backoff'),
    });
  }
  return out;
}
