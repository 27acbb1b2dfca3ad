/**
 * @module `herald monitor` output, byte for byte as `lxc monitor` prints it (spec lxd-clients.md §6): json and yaml of
 * the envelope re-encoded the way Go does (sorted keys, Go's timestamp, no `id`), pretty as logrus' TextFormatter.
 */
import { Document, isScalar, type Scalar, visit } from 'yaml';
import { goFloat, goJson, goQuote, goSprint } from '../core/go-format.js';
import { LOGRUS_LEVELS, type LogrusLevel } from '../core/levels.js';

export const MONITOR_FORMATS = ['yaml', 'json', 'pretty'] as const;
export type MonitorFormat = (typeof MONITOR_FORMATS)[number];

/** An event frame as received: the LXD envelope plus herald's `id`. */
export interface WireEvent {
  readonly type: string;
  readonly timestamp: string;
  readonly metadata: unknown;
  readonly location?: string;
  readonly project?: string;
  readonly id?: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Go's renderings of time and numbers

const RFC3339 = /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

interface GoTime {
  readonly date: string;
  readonly clock: string;
  /** up to nine digits, trailing zeros trimmed (may be empty) */
  readonly frac: string;
  /** `Z` or `+hh:mm` (a zero offset prints as Z in Go) */
  readonly zone: string;
}

function goTime(ts: string): GoTime | undefined {
  const m = RFC3339.exec(ts);
  if (!m) return undefined;
  const frac = (m[3] ?? '').slice(1, 10).replace(/0+$/, '');
  let zone = (m[4] as string).toUpperCase();
  if (zone === '+00:00' || zone === '-00:00') zone = 'Z';
  return { date: m[1] as string, clock: m[2] as string, frac, zone };
}

/** time.Time's JSON form (RFC3339Nano): what lxc prints for `timestamp` in json and yaml. */
export function goTimestamp(ts: string): string {
  const t = goTime(ts);
  if (!t) return ts;
  return `${t.date}T${t.clock}${t.frac ? `.${t.frac}` : ''}${t.zone}`;
}

/** time.Time.String(), as fmt prints a time in logrus fields: `2026-11-21 20:42:43.571580915 +0000 UTC`. */
export function goTimeString(ts: string): string {
  const t = goTime(ts);
  if (!t) return ts;
  const off = t.zone === 'Z' ? '+0000 UTC' : `${t.zone.replace(':', '')} ${t.zone.replace(':', '')}`;
  return `${t.date} ${t.clock}${t.frac ? `.${t.frac}` : ''} ${off}`;
}

// ---------------------------------------------------------------------------------------------------------------
// json and yaml

/** lxc decodes frames into api.Event (unknown keys such as `id` are dropped) and re-encodes the timestamp. */
export function lxcEnvelope(e: WireEvent): Record<string, unknown> {
  const out: Record<string, unknown> = { type: e.type, timestamp: goTimestamp(e.timestamp), metadata: e.metadata };
  if (e.location) out.location = e.location;
  if (e.project) out.project = e.project;
  return out;
}

/** yaml.v2's map key order: a natural sort (digit runs compare as numbers, non-letters before letters). */
export function yamlKeyLess(a: string, b: string): number {
  const ar = [...a];
  const br = [...b];
  const isLetter = (c: string) => /\p{L}/u.test(c);
  const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
  const fa = Number(a);
  const fb = Number(b);
  if (a.trim() !== '' && b.trim() !== '' && Number.isFinite(fa) && Number.isFinite(fb)) {
    if (fa !== fb) return fa < fb ? -1 : 1;
  }
  for (let i = 0; i < ar.length && i < br.length; i++) {
    const ca = ar[i] as string;
    const cb = br[i] as string;
    if (ca === cb) continue;
    const al = isLetter(ca);
    const bl = isLetter(cb);
    if (al && bl) return ca < cb ? -1 : 1;
    if (al || bl) return bl ? -1 : 1;
    let an = 0;
    let bn = 0;
    if (ca === '0' || cb === '0') {
      for (let j = i - 1; j >= 0 && isDigit(ar[j]); j--) {
        if (ar[j] !== '0') {
          an = 1;
          bn = 1;
          break;
        }
      }
    }
    let ai = i;
    let bi = i;
    for (; ai < ar.length && isDigit(ar[ai]); ai++) an = an * 10 + Number(ar[ai]);
    for (; bi < br.length && isDigit(br[bi]); bi++) bn = bn * 10 + Number(br[bi]);
    if (an !== bn) return an < bn ? -1 : 1;
    if (ai !== bi) return ai < bi ? -1 : 1;
    return ca < cb ? -1 : 1;
  }
  return ar.length - br.length;
}

const YAML11_WORDS = new Set(
  (
    '~ null Null NULL y Y yes Yes YES on On ON true True TRUE n N no No NO off Off OFF false False FALSE ' +
    '.nan .NaN .NAN .inf .Inf .INF +.inf +.Inf +.INF -.inf -.Inf -.INF <<'
  ).split(' '),
);
const YAML_INT = /^[-+]?(?:0b[01]+|0o?[0-7]+|0x[0-9a-fA-F]+|[0-9]+)$/;
const YAML_FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;
const YAML_TIME =
  /^\d{4}-\d{1,2}-\d{1,2}(?:(?:[Tt]\d{1,2}:\d{1,2}:\d{1,2}(?:\.\d*)?(?:Z|[-+]\d{1,2}(?::\d{2})?))| \d{1,2}:\d{1,2}:\d{1,2}(?:\.\d*)?)?$/;
const YAML_BASE60 = /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/;

/** Would yaml.v2 read this plain scalar as something other than a string? Then it writes it double-quoted. */
export function yamlV2NonString(s: string): boolean {
  if (s === '' || YAML11_WORDS.has(s)) return true;
  if (!/^[-+.0-9]/.test(s)) return false;
  const plain = s.replace(/_/g, '');
  return YAML_INT.test(plain) || YAML_FLOAT.test(plain) || YAML_TIME.test(s) || YAML_BASE60.test(s);
}

function toOrderedMaps(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(toOrderedMaps);
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return new Map(
      Object.keys(o)
        .sort(yamlKeyLess)
        .map((k) => [k, toOrderedMaps(o[k])]),
    );
  }
  return v;
}

const goNumberTag = {
  identify: (v: unknown) => typeof v === 'number',
  default: true,
  tag: 'tag:yaml.org,2002:float',
  test: /^$a/,
  resolve: (s: string) => Number(s),
  stringify: (item: Scalar) => goFloat(item.value as number),
};

/** yaml.v2's Marshal of the sorted map: YAML 1.1 quoting, unindented sequences, literal blocks for multi-line text. */
export function goYaml(v: unknown): string {
  const doc = new Document(toOrderedMaps(v), {
    version: '1.1',
    customTags: (tags) => [
      goNumberTag,
      // a JS Map is how key order survives here; it must still print as a plain mapping, not !!omap
      ...tags.filter((t) => typeof t === 'string' || t.tag !== 'tag:yaml.org,2002:omap'),
    ],
  });
  visit(doc, {
    Scalar(_key, node) {
      if (!isScalar(node) || typeof node.value !== 'string') return;
      if (node.value.includes('\n')) node.type = 'BLOCK_LITERAL';
      else if (yamlV2NonString(node.value)) node.type = 'QUOTE_DOUBLE';
    },
  });
  return doc.toString({ indentSeq: false, lineWidth: 80, minContentWidth: 0, singleQuote: true });
}

// ---------------------------------------------------------------------------------------------------------------
// pretty (logrus)

/** logrus.ParseLevel, plus the log15 spellings older LXD servers sent. */
export function parseLogrusLevel(value: string): LogrusLevel | undefined {
  const v = value.toLowerCase();
  const alias: Record<string, LogrusLevel> = { warn: 'warning', dbug: 'debug', eror: 'error', crit: 'fatal' };
  if (alias[v]) return alias[v];
  return (LOGRUS_LEVELS as readonly string[]).includes(v) ? (v as LogrusLevel) : undefined;
}

/** What `api.Event.ToLogging()` makes of an event: one log record. */
export interface LogRecord {
  readonly timestamp: string;
  readonly level: LogrusLevel;
  readonly msg: string;
  readonly ctx: ReadonlyArray<readonly [string, unknown]>;
}

const STATUS_NAMES: Record<number, string> = {
  100: 'Operation created',
  101: 'Started',
  102: 'Stopped',
  103: 'Running',
  104: 'Cancelling',
  105: 'Pending',
  106: 'Starting',
  107: 'Stopping',
  108: 'Aborting',
  109: 'Freezing',
  110: 'Frozen',
  111: 'Thawed',
  112: 'Error',
  113: 'Ready',
  200: 'Success',
  400: 'Failure',
  401: 'Cancelled',
};

const MAAS_LOGRUS: Record<string, LogrusLevel> = {
  AUDIT: 'info',
  DEBUG: 'debug',
  INFO: 'info',
  WARNING: 'warning',
  ERROR: 'error',
  CRITICAL: 'fatal',
};

type Meta = Record<string, unknown>;
const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));

function requestorText(r: unknown): string | undefined {
  if (r === null || typeof r !== 'object') return undefined;
  const q = r as Meta;
  return `${str(q.protocol)}/${str(q.username)} (${str(q.address)})`;
}

export class MonitorFormatError extends Error {}

/** api.Event.ToLogging(), extended to herald's `maas` type. Throws for what lxc cannot render either. */
export function toLogRecord(e: WireEvent): LogRecord {
  const m = (e.metadata ?? {}) as Meta;
  const base = { timestamp: e.timestamp };
  switch (e.type) {
    case 'logging':
    case 'ovn': {
      const level = parseLogrusLevel(str(m.level));
      if (!level) throw new MonitorFormatError(`not a valid logrus Level: "${str(m.level)}"`);
      const ctx = Object.entries((m.context ?? {}) as Meta);
      return { ...base, level, msg: str(m.message), ctx };
    }
    case 'lifecycle': {
      const who = requestorText(m.requestor);
      const msg = `Action: ${str(m.action)}, Source: ${str(m.source)}${who ? `, Requestor: ${who}` : ''}`;
      return { ...base, level: 'info', msg, ctx: Object.entries((m.context ?? {}) as Meta) };
    }
    case 'operation': {
      const code = typeof m.status_code === 'number' ? m.status_code : 0;
      return {
        ...base,
        level: 'info',
        msg: `ID: ${str(m.id)}, Class: ${str(m.class)}, Description: ${str(m.description)}`,
        ctx: [
          ['CreatedAt', goTimeString(str(m.created_at))],
          ['UpdatedAt', goTimeString(str(m.updated_at))],
          ['Status', str(m.status)],
          ['StatusCode', STATUS_NAMES[code] ?? ''],
          // nil Go maps print as map[], not <nil>
          ['Resources', m.resources ?? {}],
          ['Metadata', m.metadata ?? {}],
          ['MayCancel', m.may_cancel === true],
          ['Err', str(m.err)],
          ['Location', str(m.location)],
        ],
      };
    }
    case 'security': {
      const ctx: Array<[string, unknown]> = [['name', str(m.name)]];
      for (const key of ['request_method', 'request_path', 'project'] as const) {
        if (str(m[key]) !== '') ctx.push([key, str(m[key])]);
      }
      const who = requestorText(m.requestor);
      if (who) ctx.push(['requestor', who]);
      return { ...base, level: parseLogrusLevel(str(m.level)) ?? 'info', msg: str(m.description), ctx };
    }
    case 'maas': {
      const type = str(m.event_type);
      const description = str(m.description);
      const ctx: Array<[string, unknown]> = [];
      for (const key of ['hostname', 'node', 'username', 'action', 'ip_address', 'zone', 'pool', 'domain'] as const) {
        if (str(m[key]) !== '') ctx.push([key, str(m[key])]);
      }
      return {
        ...base,
        level: MAAS_LOGRUS[str(m.level)] ?? 'info',
        msg: description ? `Type: ${type}, Description: ${description}` : `Type: ${type}`,
        ctx,
      };
    }
    default:
      throw new MonitorFormatError(`Not supported event type: ${e.type}`);
  }
}

const LEVEL_COLOR: Record<LogrusLevel, number> = {
  panic: 31,
  fatal: 31,
  error: 31,
  warning: 33,
  info: 36,
  debug: 37,
  trace: 37,
};

function needsQuoting(s: string): boolean {
  return /[^a-zA-Z0-9\-._/@^+]/.test(s);
}

function logrusValue(v: unknown): string {
  const s = typeof v === 'string' ? v : goSprint(v);
  return needsQuoting(s) ? goQuote(s) : s;
}

/** logrus TextFormatter{FullTimestamp: true, PadLevelText: true}, colored when writing to a terminal. */
export function renderLogrus(r: LogRecord, tty: boolean): string {
  const t = goTime(r.timestamp);
  const time = t ? `${t.date}T${t.clock}${t.zone}` : r.timestamp;
  // logrus renames fields that clash with its own keys
  const fields = r.ctx.map(([k, v]) => [k === 'time' || k === 'msg' || k === 'level' ? `fields.${k}` : k, v] as const);
  fields.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  if (tty) {
    const color = LEVEL_COLOR[r.level];
    const msg = r.msg.endsWith('\n') ? r.msg.slice(0, -1) : r.msg;
    const padded = msg + ' '.repeat(Math.max(0, 44 - [...msg].length));
    let line = `\x1b[${color}m${r.level.toUpperCase().padEnd(7)}\x1b[0m[${time}] ${padded} `;
    for (const [k, v] of fields) line += ` \x1b[${color}m${k}\x1b[0m=${logrusValue(v)}`;
    return `${line}\n`;
  }
  const parts = [`time=${logrusValue(time)}`, `level=${r.level}`];
  if (r.msg !== '') parts.push(`msg=${logrusValue(r.msg)}`);
  for (const [k, v] of fields) parts.push(`${k}=${logrusValue(v)}`);
  return `${parts.join(' ')}\n`;
}

export interface FormatOptions {
  readonly format: MonitorFormat;
  /** pretty only: colored output, as logrus does on a terminal */
  readonly tty?: boolean;
  /** pretty only: drop records more verbose than this (lxc's default shows debug and above) */
  readonly logLevel?: LogrusLevel;
}

/** One event as lxc monitor prints it ('' when --loglevel filters it out). */
export function formatEvent(e: WireEvent, opts: FormatOptions): string {
  switch (opts.format) {
    case 'json':
      return `${goJson(lxcEnvelope(e))}\n\n`;
    case 'yaml':
      return `${goYaml(lxcEnvelope(e))}\n\n`;
    case 'pretty': {
      const r = toLogRecord(e);
      const max = LOGRUS_LEVELS.indexOf(opts.logLevel ?? 'debug');
      if (LOGRUS_LEVELS.indexOf(r.level) > max) return '';
      return renderLogrus(r, opts.tty ?? false);
    }
  }
}
