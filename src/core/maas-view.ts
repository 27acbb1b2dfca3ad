/**
 * @module The MAAS view (spec maas-events.md §1, §2): `GET /MAAS/api/2.0/events/?op=query` as a pure projection of
 * stored events. Parameter parsing with MAAS's exact error texts, the cross-type mapping table, the `created` format,
 * and the next/prev URI builder. No I/O: the route feeds it stored events and writes what it returns.
 */
import { lifecycleAction } from './catalogue/lifecycle.js';
import { MAAS_LEVELS, type MaasLevelName, maasEventType, maasLevelName } from './catalogue/maas.js';
import type { EventType, HeraldEvent } from './event.js';
import type { EventFields } from './fields.js';
import { ALL_SCOPE, type EventFilter } from './filter.js';
import type { NodeAttributeFilter, PageRequest } from './store.js';

export const MAAS_EVENTS_PATH = '/MAAS/api/2.0/events/';
export const MAAS_DEFAULT_LIMIT = 100;
export const MAAS_MAX_LIMIT = 1000;

/** Parameters carried into next_uri/prev_uri (`all_params` in api/events.py); `pool`, `before`, `after` are not. */
export const MAAS_URI_PARAMS: ReadonlySet<string> = new Set([
  'agent_name',
  'domain',
  'hostname',
  'id',
  'level',
  'limit',
  'mac_address',
  'op',
  'zone',
  'owner',
]);

/** A response MAAS answers with a plain-text body (its errors are never JSON and never LXD's envelope). */
export class MaasApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    readonly contentType = 'text/plain; charset=utf-8',
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(body);
    this.name = 'MaasApiError';
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Small pieces of Python semantics the wire format depends on.

/** The last value of a repeated key, as Django's `QueryDict.get` returns it (URLSearchParams.get returns the first). */
export function lastValue(params: URLSearchParams, key: string): string | undefined {
  const all = params.getAll(key);
  return all.length > 0 ? all[all.length - 1] : undefined;
}

const PY_INT = /^[+-]?\d+(?:_\d+)*$/;

/** Python's `int(str)` for base 10 (surrounding whitespace, a sign, `_` between digits); undefined when it raises. */
export function parsePyInt(value: string): bigint | undefined {
  const s = value.trim();
  if (!PY_INT.test(s)) return undefined;
  return BigInt(s.replace(/_/g, ''));
}

const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

/** Python's `repr()` of a str: the quoting MAAS's error bodies show (`'Nonce already used: 1'`). */
export function pyRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    if (ch === quote || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch !== ' ' && NON_PRINTABLE.test(ch)) {
      if (cp < 0x100) out += `\\x${cp.toString(16).padStart(2, '0')}`;
      else if (cp < 0x10000) out += `\\u${cp.toString(16).padStart(4, '0')}`;
      else out += `\\U${cp.toString(16).padStart(8, '0')}`;
    } else out += ch;
  }
  return out + quote;
}

/** Python's `urllib.parse.quote_plus` (what `urlencode` uses): only letters, digits and `_.-~` stay as they are. */
export function pyQuotePlus(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9_.~-]/.test(c)) out += c;
    else if (byte === 0x20) out += '+';
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Python's `urlencode` of name/value pairs. */
export function pyUrlencode(pairs: Iterable<readonly [string, string]>): string {
  const out: string[] = [];
  for (const [k, v] of pairs) out.push(`${pyQuotePlus(k)}=${pyQuotePlus(v)}`);
  return out.join('&');
}

/**
 * Python's `description % {"username": owner}` (MAAS's `render_audit_description`). Undefined where Python would raise
 * (an unknown key, a stray `%`, a numeric conversion): MAAS then fails the whole request with a 500, herald shows the
 * stored text instead.
 */
export function pyPercentFormat(template: string, username: string): string | undefined {
  let out = '';
  let unkeyedUsed = false;
  let keyedUsed = false;
  let i = 0;
  while (i < template.length) {
    const pct = template.indexOf('%', i);
    if (pct === -1) {
      out += template.slice(i);
      break;
    }
    out += template.slice(i, pct);
    i = pct + 1;
    if (i >= template.length) return undefined;
    let key: string | undefined;
    if (template[i] === '(') {
      let depth = 1;
      let j = i + 1;
      while (j < template.length && depth > 0) {
        if (template[j] === '(') depth++;
        else if (template[j] === ')') depth--;
        j++;
      }
      if (depth > 0) return undefined;
      key = template.slice(i + 1, j - 1);
      i = j;
    }
    const spec = /^([-+ #0]*)(\d+)?(?:\.(\d+))?[hlL]?(.)/s.exec(template.slice(i));
    if (!spec) return undefined;
    i += spec[0].length;
    const [, flags = '', width, precision, conv] = spec;
    if (conv === '%' && key === undefined && flags === '' && width === undefined && precision === undefined) {
      out += '%';
      continue;
    }
    let value: string;
    if (key !== undefined) {
      if (key !== 'username') return undefined;
      keyedUsed = true;
      value = username;
    } else {
      // With a mapping operand, one unkeyed conversion formats the mapping itself; a second has no argument left.
      if (unkeyedUsed || keyedUsed) return undefined;
      unkeyedUsed = true;
      value = `{'username': ${pyRepr(username)}}`;
      if (conv === 's' || conv === 'r' || conv === 'a') {
        value = applyWidth(value, flags, width, precision);
        out += value;
        continue;
      }
      return undefined;
    }
    if (conv === 's') out += applyWidth(value, flags, width, precision);
    else if (conv === 'r' || conv === 'a') out += applyWidth(pyRepr(value), flags, width, precision);
    else return undefined;
  }
  return out;
}

function applyWidth(value: string, flags: string, width: string | undefined, precision: string | undefined): string {
  let v = precision === undefined ? value : [...value].slice(0, Number(precision)).join('');
  const w = width === undefined ? 0 : Number(width);
  const len = [...v].length;
  if (len < w) v = flags.includes('-') ? v + ' '.repeat(w - len) : ' '.repeat(w - len) + v;
  return v;
}

// ---------------------------------------------------------------------------------------------------------------------
// `created`: strftime("%a, %d %b. %Y %H:%M:%S") in UTC, C locale.

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

function two(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** e.g. `Mon, 25 Apr. 2022 21:51:23`: seconds truncated, no zone (it is UTC), year unpadded as glibc prints it. */
export function formatMaasCreated(timeMs: number): string {
  const d = new Date(timeMs);
  return (
    `${DAYS[d.getUTCDay()]}, ${two(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]}. ${d.getUTCFullYear()} ` +
    `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`
  );
}

// ---------------------------------------------------------------------------------------------------------------------
// Operation dispatch and parameters.

/**
 * The handler's only export is `(GET, query)`. `op` comes from the query string, else from a POST form (Django's
 * `request.GET.get("op") or request.POST.get("op")`), so an empty `op=` reads as None.
 */
export function checkSignature(method: string, query: URLSearchParams, form?: URLSearchParams): void {
  // Python's `a or b` yields b when a is falsy, so an empty GET op defers to the form's op, even an empty one.
  const fromQuery = lastValue(query, 'op');
  const op = fromQuery ? fromQuery : form ? lastValue(form, 'op') : undefined;
  if (method.toUpperCase() === 'GET' && op === 'query') return;
  throw new MaasApiError(400, `Unrecognised signature: method=${method.toUpperCase()} op=${op ?? 'None'}`);
}

/** What a valid query asks for: the store page and what the URIs need. */
export interface MaasQuery {
  readonly filter: EventFilter;
  readonly nodes: NodeAttributeFilter | undefined;
  readonly before: bigint | undefined;
  readonly after: bigint | undefined;
  readonly limit: number;
  /** the request's parameters kept for next/prev: `all_params` keys, last value each, in first-seen order */
  readonly base: ReadonlyArray<readonly [string, string]>;
}

/** formencode `Int` through `get_optional_param`: absent or empty is None, anything `int()` rejects is a 400. */
function optionalInt(params: URLSearchParams, key: string): bigint | null | undefined {
  const v = lastValue(params, key);
  if (v === undefined || v === '') return v === '' ? null : undefined;
  const n = parsePyInt(v);
  if (n === undefined) throw new MaasApiError(400, `Invalid ${key}: Please enter an integer value`);
  return n;
}

// MAAS's MAC_FIELD_RE, with Python's precedence kept: `^` binds to the first alternative and `$` to the last only
// (re.match anchors the start anyway), and the dotted form's separator is any character.
const MAC_FIELD_RE =
  /^(?:(?:[0-9a-fA-F]{1,2}:){5}[0-9a-fA-F]{1,2}|(?:[0-9a-fA-F]{1,2}-){5}[0-9a-fA-F]{1,2}|(?:[0-9a-fA-F]{3,4}.){2}[0-9a-fA-F]{3,4}$)/;
const STORED_MAC = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/;
// Stored MACs are validated, so this never matches one; it keeps a filter of only junk MACs selecting nothing.
const NO_MAC = 'zz:zz:zz:zz:zz:zz';

/** MAAS's `normalise_macaddress`: lower case, colon separated, each byte zero-padded. */
export function normaliseMaasMac(mac: string): string {
  const tokens = mac.toLowerCase().split(/[-:.]/);
  let bytes: string[];
  if (tokens.length === 1) bytes = (tokens[0] as string).match(/../g) ?? [];
  else if (tokens.length === 3) bytes = tokens.flatMap((t) => t.padStart(4, '0').match(/../g) ?? []);
  else bytes = tokens.map((t) => t.padStart(2, '0'));
  return bytes.join(':');
}

const LEVEL_FILTERS: Readonly<Record<string, EventFilter['level']>> = {
  AUDIT: { audit: true },
  DEBUG: { min: MAAS_LEVELS.DEBUG, excludeAudit: true },
  INFO: { min: MAAS_LEVELS.INFO, excludeAudit: true },
  WARNING: { min: MAAS_LEVELS.WARNING, excludeAudit: true },
  ERROR: { min: MAAS_LEVELS.ERROR, excludeAudit: true },
  CRITICAL: { min: MAAS_LEVELS.CRITICAL, excludeAudit: true },
};

/**
 * Parse `op=query`'s parameters in the order api/events.py evaluates them, so that a request with several problems
 * gets the same error MAAS gives: after, before, limit (integers), the limit ceiling, MAC addresses, level, and the
 * after+before conflict.
 */
export function parseMaasQuery(params: URLSearchParams): MaasQuery {
  const after = optionalInt(params, 'after');
  const before = optionalInt(params, 'before');
  const level = lastValue(params, 'level') ?? 'INFO';
  const limitRaw = optionalInt(params, 'limit');
  const owner = lastValue(params, 'owner');
  // An empty `limit=` is None in MAAS and `None > 1000` raises TypeError: a 500 carrying Python's message.
  if (limitRaw === null) {
    throw new MaasApiError(500, "'>' not supported between instances of 'NoneType' and 'int'");
  }
  const limitBig = limitRaw ?? BigInt(MAAS_DEFAULT_LIMIT);
  if (limitBig > BigInt(MAAS_MAX_LIMIT)) {
    throw new MaasApiError(400, `Requested number of events ${limitBig} is greater than limit: ${MAAS_MAX_LIMIT}`);
  }
  const limit = limitBig < 1n ? 1 : Number(limitBig);

  const macs = params.getAll('mac_address');
  if (macs.length > 0) {
    const invalid = macs.filter((m) => !MAC_FIELD_RE.test(m));
    if (invalid.length > 0) throw new MaasApiError(400, `Invalid MAC address(es): ${invalid.join(', ')}`);
  }

  const levelFilter = Object.hasOwn(LEVEL_FILTERS, level) ? LEVEL_FILTERS[level] : undefined;
  if (!levelFilter) throw new MaasApiError(400, `Unrecognised log level: ${level}`);

  if (after != null && before != null) {
    throw new MaasApiError(400, 'There is undetermined behaviour when both `after` and `before` are specified.');
  }

  // No node has an empty hostname or system id, so in MAAS a blank value matches nothing. The store's own filters treat
  // an empty hostname, node or username as absent only on some query plans, so blanks are settled here: dropped, and a
  // filter left with nothing selects nothing (an empty type list).
  let nothing = false;
  const nonBlank = (values: string[]): string[] | undefined => {
    if (values.length === 0) return undefined;
    const kept = values.filter((v) => v !== '');
    if (kept.length === 0) nothing = true;
    return kept.length > 0 ? kept : undefined;
  };
  const hostnames = nonBlank(params.getAll('hostname'));
  const nodes = nonBlank(params.getAll('id'));
  const usernames = nonBlank(owner === undefined ? [] : [owner]);
  const filter: EventFilter = {
    scope: ALL_SCOPE,
    level: levelFilter,
    ...(nothing ? { types: [] } : {}),
    ...(hostnames ? { hostnames } : {}),
    ...(nodes ? { nodes } : {}),
    ...(usernames ? { usernames } : {}),
  };
  const list = (key: string): string[] | undefined => {
    const v = params.getAll(key);
    return v.length > 0 ? v : undefined;
  };
  const domains = list('domain');
  const zone = lastValue(params, 'zone');
  const pool = lastValue(params, 'pool');
  const agentName = lastValue(params, 'agent_name');
  const nodeFilter: NodeAttributeFilter = {
    ...(macs.length > 0
      ? { macs: macs.map((m) => normaliseMaasMac(m)).map((m) => (STORED_MAC.test(m) ? m : NO_MAC)) }
      : {}),
    ...(domains ? { domains } : {}),
    ...(zone !== undefined ? { zone } : {}),
    ...(pool !== undefined ? { pool } : {}),
    ...(agentName !== undefined ? { agentName } : {}),
  };

  // Django's QueryDict.items(): each key once, at its first position, with its last value.
  const base = new Map<string, string>();
  for (const [k, v] of params) if (MAAS_URI_PARAMS.has(k)) base.set(k, v);

  return {
    filter,
    nodes: Object.keys(nodeFilter).length > 0 ? nodeFilter : undefined,
    before: before ?? undefined,
    after: after ?? undefined,
    limit,
    base: [...base],
  };
}

const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);

function clampId(n: bigint): number {
  return Number(n > SAFE_MAX ? SAFE_MAX : n < -SAFE_MAX ? -SAFE_MAX : n);
}

/** The store page for a query (ids beyond 2^53 are clamped: no stored id comes near them). */
export function maasPageRequest(q: MaasQuery): PageRequest {
  return {
    filter: q.filter,
    limit: q.limit,
    ...(q.before !== undefined ? { before: clampId(q.before) } : {}),
    ...(q.after !== undefined ? { after: clampId(q.after) } : {}),
  };
}

function uri(pairs: ReadonlyArray<readonly [string, string]>): string {
  const query = pyUrlencode(pairs);
  return query ? `${MAAS_EVENTS_PATH}?${query}` : MAAS_EVENTS_PATH;
}

/**
 * next_uri ("newer") and prev_uri ("older") exactly as §1.6, given the ids returned (newest first): the window key goes
 * last; with no events, `before=B` turns into `after=B-1`, `after=A` into `before=A+1`, and next_uri loses its `after`.
 */
export function maasPageUris(
  q: Pick<MaasQuery, 'base' | 'before' | 'after'>,
  ids: readonly number[],
): { next_uri: string; prev_uri: string | null } {
  const with_ = (key: string, value: string) => uri([...q.base, [key, value]]);
  const newest = ids[0];
  const oldest = ids[ids.length - 1];
  if (newest === undefined || oldest === undefined) {
    return {
      next_uri: q.before === undefined ? uri(q.base) : with_('after', String(q.before - 1n)),
      prev_uri: q.after === undefined ? null : with_('before', String(q.after + 1n)),
    };
  }
  return { next_uri: with_('after', String(newest)), prev_uri: with_('before', String(oldest)) };
}

// ---------------------------------------------------------------------------------------------------------------------
// The cross-type mapping: how every herald event reads as a v2 event object.

/** One v2 event object (§2), keys in MAAS's order. */
export interface MaasEvent {
  readonly username: string;
  readonly node: string | null;
  readonly hostname: string;
  readonly id: number;
  readonly level: MaasLevelName;
  readonly created: string;
  readonly type: string;
  readonly description: string;
}

/** One row of the mapping table: how each column of the v2 object is derived, in words (docs/maas-view.md shows it). */
export interface MaasMappingRow {
  readonly level: string;
  readonly type: string;
  readonly description: string;
  readonly username: string;
  readonly hostname: string;
  readonly node: string;
}

/**
 * The cross-type mapping table. `username`, `hostname`, `node` and `level` come from the event's indexed fields, the
 * same facts the `owner`, `hostname`, `id` and `level` filters match, so what a row shows is always what selects it.
 */
export const MAAS_VIEW_TABLE: Readonly<Record<EventType, MaasMappingRow>> = {
  maas: {
    level: "the event's level",
    type: "the MAAS event type's description, e.g. `Node changed status`",
    description: 'AUDIT: `description % {"username": username}`; other levels: `description` as published',
    username: '`username`, else `unknown`',
    hostname: '`hostname`, else `unknown`',
    node: '`node` (the system id), or `null`',
  },
  lifecycle: {
    level: 'AUDIT',
    type: 'the entity title from the lifecycle catalogue, e.g. `Instance`',
    description: "the catalogue summary, e.g. `Instance 'c1' started`",
    username: 'requestor username, else `unknown`',
    hostname: 'instance name (`metadata.name`), else `unknown`',
    node: '`null`',
  },
  security: {
    level: 'AUDIT',
    type: '`Security`',
    description: '`<description> (<name>)`, e.g. `TLS authentication failure (authn_login_fail:tls)`',
    username: 'requestor username, else `unknown`',
    hostname: '`unknown`',
    node: '`null`',
  },
  operation: {
    level: 'INFO; ERROR when failed (status code 400)',
    type: '`Operation`',
    description: '`<description>: <status>`, then ` (<err>)` when there is one',
    username: 'requestor username, else `unknown`',
    hostname: '`unknown`',
    node: '`null`',
  },
  logging: {
    level: '`debug`/`trace` DEBUG, `info` INFO, `warning` WARNING, `error` ERROR, `fatal`/`panic` CRITICAL',
    type: '`Logging`',
    description: 'the message, then ` (key=value, ...)` when there is context',
    username: '`unknown`',
    hostname: '`unknown`',
    node: '`null`',
  },
  ovn: {
    level: 'as `logging`',
    type: '`OVN`',
    description: 'as `logging`',
    username: '`unknown`',
    hostname: '`unknown`',
    node: '`null`',
  },
};

/** LXD URL-escapes path segments in `source`; a malformed escape is shown as it is. */
function lastSegment(source: string): string {
  const path = source.split('?')[0] ?? '';
  const seg = path.slice(path.lastIndexOf('/') + 1);
  try {
    return decodeURIComponent(seg);
  } catch {
    return seg;
  }
}

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.join(' ');
  return JSON.stringify(value) ?? '';
}

function lifecycleDescription(action: string, source: string, context: Record<string, unknown> | undefined): string {
  const spec = lifecycleAction(action);
  if (!spec) return `${action} ${source}`;
  let missing = false;
  const out = spec.summary.replace(/\{([^}]+)\}/g, (_, key: string) => {
    if (key === 'name') return lastSegment(source);
    const v = context?.[key];
    if (v === undefined || v === null) {
      missing = true;
      return '';
    }
    return text(v);
  });
  // A publisher that left out a context key the summary needs gets the raw action rather than a sentence with a hole.
  return missing ? `${action} ${source}` : out;
}

function typeAndDescription(e: HeraldEvent, audit: boolean): { type: string; description: string } {
  switch (e.type) {
    case 'maas': {
      const m = e.metadata;
      const owner = m.username || 'unknown';
      return {
        type: maasEventType(m.event_type)?.description ?? m.event_type,
        description: audit ? (pyPercentFormat(m.description, owner) ?? m.description) : m.description,
      };
    }
    case 'lifecycle': {
      const m = e.metadata;
      return {
        type: lifecycleAction(m.action)?.title ?? m.action,
        description: lifecycleDescription(m.action, m.source, m.context),
      };
    }
    case 'security': {
      const m = e.metadata;
      return { type: 'Security', description: m.description ? `${m.description} (${m.name})` : m.name };
    }
    case 'operation': {
      const m = e.metadata;
      const head = m.description ? `${m.description}: ${m.status}` : m.status;
      return { type: 'Operation', description: m.err ? `${head} (${m.err})` : head };
    }
    case 'logging':
    case 'ovn': {
      const m = e.metadata;
      const ctx = Object.entries(m.context ?? {});
      const tail = ctx.length > 0 ? ` (${ctx.map(([k, v]) => `${k}=${v}`).join(', ')})` : '';
      return { type: e.type === 'ovn' ? 'OVN' : 'Logging', description: `${m.message}${tail}` };
    }
  }
}

/** The level a row shows: AUDIT for the audit trail, else the severity's name (both scales are MAAS's numbers). */
export function maasLevelOf(f: Pick<EventFields, 'audit' | 'severity'>): MaasLevelName {
  if (f.audit) return 'AUDIT';
  return maasLevelName(Math.min(50, Math.max(10, Math.floor(f.severity / 10) * 10))) ?? 'INFO';
}

/** Render one stored event as a v2 event object. */
export function toMaasEvent(event: HeraldEvent, fields: EventFields): MaasEvent {
  const { type, description } = typeAndDescription(event, fields.audit);
  return {
    username: fields.username || 'unknown',
    node: fields.node,
    hostname: fields.hostname || 'unknown',
    id: event.id,
    level: maasLevelOf(fields),
    created: formatMaasCreated(fields.timeMs),
    type,
    description,
  };
}

/** The response body: piston's JSON emitter (indent=4, ensure_ascii=False), keys in the handler's order. */
export function renderMaasBody(
  events: readonly MaasEvent[],
  uris: { next_uri: string; prev_uri: string | null },
): string {
  return JSON.stringify({ count: events.length, events, next_uri: uris.next_uri, prev_uri: uris.prev_uri }, null, 4);
}
