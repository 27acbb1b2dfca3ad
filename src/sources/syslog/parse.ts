/**
 * @module Syslog datagrams into event metadata: Open vSwitch/OVN vlog lines become `ovn` (as LXD's lxd/syslog.go reads
 * them), RFC 3164 and RFC 5424 lines become `logging`. Pure: no I/O, never throws.
 */
import type { LogrusLevel } from '../../core/levels.js';

export interface SyslogMetadata {
  readonly message: string;
  readonly level: LogrusLevel;
  /** keys in sorted order, as Go marshals a map, so the stored JSON matches LXD's byte for byte */
  readonly context: Record<string, string>;
}

export type ParsedSyslog =
  | { readonly ok: true; readonly type: 'ovn' | 'logging'; readonly metadata: SyslogMetadata }
  | { readonly ok: false; readonly reason: string };

/**
 * LXD's map of OVS vlog levels. `emer` lands on `error`, not `fatal`, because that is what LXD sends; a level it does
 * not know leaves logrus's zero value, which prints as `panic` — kept so that herald and LXD agree on every line.
 */
export const OVN_LEVELS: Readonly<Record<string, LogrusLevel>> = {
  dbg: 'debug',
  info: 'info',
  warn: 'warning',
  err: 'error',
  emer: 'error',
};

/** Syslog severity (PRI mod 8) to logrus names: emerg/alert/crit are `fatal`, notice joins info. */
export const SYSLOG_SEVERITY_LEVELS: readonly LogrusLevel[] = [
  'fatal', // 0 emerg
  'fatal', // 1 alert
  'fatal', // 2 crit
  'error', // 3 err
  'warning', // 4 warning
  'info', // 5 notice
  'info', // 6 info
  'debug', // 7 debug
];

/** Facility names (PRI / 8) as Linux's syslog.h and rsyslog spell them. */
export const SYSLOG_FACILITIES: readonly string[] = [
  'kern',
  'user',
  'mail',
  'daemon',
  'auth',
  'syslog',
  'lpr',
  'news',
  'uucp',
  'cron',
  'authpriv',
  'ftp',
  'ntp',
  'audit',
  'alert',
  'clock',
  'local0',
  'local1',
  'local2',
  'local3',
  'local4',
  'local5',
  'local6',
  'local7',
];

// Control bytes other than tab and line ends mean the datagram is not text (NUL padding at the end is trimmed first).
const BINARY = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/;
const PRI = /^<(\d{1,3})>/;
const DIGITS = /^\d+$/;
const BSD_TIME = /^(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]\d \d\d:\d\d:\d\d(?: |$)/;
const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d)(?: |$)/;
const RFC5424_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)$/;
/** `app:` or `app[pid]:` then a space or the end: the RFC 3164 TAG as logger, glibc and rsyslog write it. */
const TAG = /^([^\s[\]:]{1,48})(?:\[([^\]\s]{0,128})\])?:(?: |$)/;
const HEADER_FIELD = /^[\x21-\x7e]+$/;

const fail = (reason: string): ParsedSyslog => ({ ok: false, reason });

function sorted(context: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(context).sort()) out[k] = context[k] as string;
  return out;
}

/** Go's strings.SplitN: at most n parts, the last holding the rest. */
function splitN(s: string, sep: string, n: number): string[] {
  const out: string[] = [];
  let from = 0;
  while (out.length < n - 1) {
    const at = s.indexOf(sep, from);
    if (at < 0) break;
    out.push(s.slice(from, at));
    from = at + sep.length;
  }
  out.push(s.slice(from));
  return out;
}

/**
 * An OVS vlog line, `ovs|[app|]seq|module|LEVEL|message`, split as LXD splits it (at most six fields, the message keeps
 * any further bars). LXD takes six fields to mean an application is present; when the second field is the numeric
 * sequence and the third is not, the sixth field is really part of a message containing a bar, and herald keeps it
 * whole instead of shifting every field by one as LXD would.
 */
export function parseOvsLine(line: string): ParsedSyslog {
  const f = splitN(line, '|', 6);
  if (f.length < 5) return fail(`OVS line has ${f.length} of at least 5 "|"-separated fields`);
  let app = '';
  let seq: string;
  let module: string;
  let level: string;
  let message: string;
  if (f.length === 6 && !(DIGITS.test(f[1] as string) && !DIGITS.test(f[2] as string))) {
    [, app, seq, module, level, message] = f as [string, string, string, string, string, string];
  } else {
    [, seq, module, level] = f as [string, string, string, string];
    message = f.slice(4).join('|');
  }
  const context: Record<string, string> = { module, sequence: seq };
  if (app !== '') context.application = app;
  return {
    ok: true,
    type: 'ovn',
    metadata: { message, level: OVN_LEVELS[level.toLowerCase()] ?? 'panic', context: sorted(context) },
  };
}

function isOvs(msg: string): boolean {
  return msg.startsWith('ovs|');
}

/** PRI's facility and severity as event fields. */
function priority(pri: number): { level: LogrusLevel; facility: string } {
  return { level: SYSLOG_SEVERITY_LEVELS[pri & 7] as LogrusLevel, facility: SYSLOG_FACILITIES[pri >> 3] as string };
}

/** STRUCTURED-DATA: `-` or one or more `[id param="value" ...]`. Returns the index just past it, or -1. */
function skipStructuredData(s: string, i: number): number {
  if (s[i] === '-') return i + 1;
  if (s[i] !== '[') return -1;
  while (s[i] === '[') {
    i++;
    let inValue = false;
    for (;;) {
      const c = s[i];
      if (c === undefined) return -1;
      if (inValue) {
        if (c === '\\') i++;
        else if (c === '"') inValue = false;
      } else if (c === '"') inValue = true;
      else if (c === ']') break;
      i++;
    }
    i++;
  }
  return i;
}

/** `VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP STRUCTURED-DATA [SP MSG]` after the PRI. */
function parse5424(pri: number, rest: string): ParsedSyslog {
  const head: string[] = [];
  let i = 0;
  // VERSION plus the five space-separated header fields.
  while (head.length < 6) {
    const sp = rest.indexOf(' ', i);
    if (sp < 0) return fail('RFC 5424 header is truncated');
    head.push(rest.slice(i, sp));
    i = sp + 1;
  }
  const [, time, host, app, procid, msgid] = head as [string, string, string, string, string, string];
  if (time !== '-' && !RFC5424_TIME.test(time)) return fail(`RFC 5424 timestamp "${time}" is invalid`);
  for (const field of [host, app, procid, msgid]) {
    if (!HEADER_FIELD.test(field)) return fail('RFC 5424 header field is empty or not printable ASCII');
  }
  const end = skipStructuredData(rest, i);
  if (end < 0) return fail('RFC 5424 structured data is malformed');
  if (end < rest.length && rest[end] !== ' ') return fail('RFC 5424 structured data is not followed by a space');
  // MSG may start with a UTF-8 byte order mark, which says how to read it and is not part of it.
  let message = rest.slice(end + 1);
  if (message.charCodeAt(0) === 0xfeff) message = message.slice(1);
  if (isOvs(message)) return parseOvsLine(message);
  const { level, facility } = priority(pri);
  const context: Record<string, string> = { facility };
  if (host !== '-') context.host = host;
  if (app !== '-') context.app = app;
  if (procid !== '-') context.procid = procid;
  if (msgid !== '-') context.msgid = msgid;
  return { ok: true, type: 'logging', metadata: { message, level, context: sorted(context) } };
}

/**
 * RFC 3164 after the PRI: `[TIMESTAMP SP [HOSTNAME SP]] [TAG[pid]: ]MSG`. Local senders (logger's default, glibc's
 * syslog(3)) leave out the hostname, so a hostname is only taken when the token after the timestamp is not a TAG.
 * Without a timestamp the content is the message (RFC 3164 §4.3.3), after a TAG when it starts with one.
 */
function parse3164(pri: number, rest: string): ParsedSyslog {
  const context: Record<string, string> = {};
  let body = rest;
  const stamp = BSD_TIME.exec(body) ?? ISO_TIME.exec(body);
  if (stamp) {
    body = body.slice(stamp[0].length);
    if (!TAG.test(body)) {
      const sp = body.indexOf(' ');
      const host = sp < 0 ? body : body.slice(0, sp);
      if (host !== '' && host !== '-') context.host = host;
      body = sp < 0 ? '' : body.slice(sp + 1);
    }
  }
  const tag = TAG.exec(body);
  if (tag) {
    context.app = tag[1] as string;
    if (tag[2]) context.procid = tag[2];
    body = body.slice(tag[0].length);
  }
  if (isOvs(body)) return parseOvsLine(body);
  if (!tag && body.trim() === '') return fail('syslog line has no message');
  const { level, facility } = priority(pri);
  context.facility = facility;
  return { ok: true, type: 'logging', metadata: { message: body, level, context: sorted(context) } };
}

/**
 * One datagram. Trailing line ends and NUL padding are dropped (LXD keeps a trailing newline in the message; herald
 * does not). A line that starts `ovs|`, after an optional PRI and spaces as LXD's own test sends it, is an OVS line;
 * one whose MSG starts `ovs|` inside an RFC 3164 or 5424 header (OVS's `--syslog-method=libc`) is one too.
 */
export function parseSyslog(data: Buffer | string): ParsedSyslog {
  let s = typeof data === 'string' ? data : data.toString('utf8');
  let end = s.length;
  for (;;) {
    const c = s.charCodeAt(end - 1);
    if (c === 10 || c === 13 || c === 0) end--;
    else break;
  }
  if (end < s.length) s = s.slice(0, end);
  if (s.length === 0) return fail('empty datagram');
  if (BINARY.test(s)) return fail('datagram holds control bytes (not text)');
  const m = PRI.exec(s);
  if (!m) {
    if (isOvs(s)) return parseOvsLine(s);
    return fail(s.startsWith('<') ? 'PRI is malformed' : 'line has no PRI');
  }
  const pri = Number(m[1]);
  if (pri > 191) return fail(`PRI ${pri} is over 191`);
  const rest = s.slice(m[0].length);
  const trimmed = rest.trimStart();
  if (isOvs(trimmed)) return parseOvsLine(trimmed);
  if (rest.startsWith('1 ')) return parse5424(pri, rest);
  return parse3164(pri, rest);
}
