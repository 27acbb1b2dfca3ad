/**
 * @module Loki entries for events, exactly as LXD builds them (spec lxd-events.md §5.4-5.5): labels, the
 * lifecycle / logging / OWASP security line formats, and herald's documented `maas` format. Pure: no I/O.
 */
import type { HeraldEvent } from '../../core/event.js';
import { goJson, goSprint } from '../../core/go-format.js';
import { LOGRUS_LEVEL_NUMBER } from './config.js';

export interface LokiFormatOptions {
  /** event types forwarded (`loki.types`) */
  readonly types: ReadonlySet<string>;
  /** least severe logrus level forwarded for logging/ovn (`loki.loglevel`), as its logrus number */
  readonly loglevel: number;
  /** line keys promoted to labels (`loki.labels`), in LXD's spelling */
  readonly labels: ReadonlySet<string>;
  /** value of the `instance` label (`loki.instance`; default OS hostname standalone, member name clustered) */
  readonly instance: string;
  /** the OS hostname: the OWASP `hostname`, and the `location` label of a standalone server's own events */
  readonly hostname: string;
  /** no cluster: events stamped with the placeholder member `none` are labelled with the OS hostname (LXD) */
  readonly standalone: boolean;
  /** `core.https_address` when set: the OWASP `host_ip` and `port` */
  readonly httpsAddress?: string;
  /** cluster UUID for the OWASP `cluster_identifier` ('' standalone) */
  readonly clusterIdentifier?: string;
}

export interface LokiEntry {
  /** the stream's labels, keys sorted */
  readonly labels: Readonly<Record<string, string>>;
  readonly line: string;
}

/** Loki's limits that a single label can break (defaults of `max_label_names_per_series`, `max_label_value_length`). */
export const MAX_LABELS = 15;
export const MAX_LABEL_VALUE_BYTES = 2048;

/** Options from the target's settings, with LXD's defaults for what is unset. */
export function formatOptions(input: {
  types: readonly string[];
  loglevel: string;
  labels: readonly string[];
  instance?: string;
  hostname: string;
  location: string;
  httpsAddress?: string;
  clusterIdentifier?: string;
}): LokiFormatOptions {
  const standalone = input.location === 'none' || input.location === '';
  return {
    types: new Set(input.types),
    loglevel: LOGRUS_LEVEL_NUMBER[input.loglevel] ?? LOGRUS_LEVEL_NUMBER.info ?? 4,
    labels: new Set(input.labels),
    instance: input.instance || (standalone ? input.hostname : input.location),
    hostname: input.hostname,
    standalone,
    httpsAddress: input.httpsAddress,
    clusterIdentifier: input.clusterIdentifier,
  };
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Replace what cannot be encoded as UTF-8 (lone surrogates) with U+FFFD, as Go does for invalid UTF-8. */
export function wellFormed(s: string): string {
  return /[\uD800-\uDFFF]/.test(s) ? s.replace(LONE_SURROGATE, '\uFFFD') : s;
}

/** A valid Loki/Prometheus label name: every other character becomes `_`. */
export function labelName(key: string): string {
  const n = key.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(n) || n === '' ? `_${n}` : n;
}

function labelValue(v: string): string {
  const s = wellFormed(v);
  if (s.length * 3 <= MAX_LABEL_VALUE_BYTES || Buffer.byteLength(s) <= MAX_LABEL_VALUE_BYTES) return s;
  // Cut on a code point boundary so that the value stays valid UTF-8.
  let out = Buffer.from(s).subarray(0, MAX_LABEL_VALUE_BYTES).toString('utf8');
  if (out.endsWith('\uFFFD')) out = out.slice(0, -1);
  return out;
}

/** LXD's `buildNestedContext`: nested maps flatten to `<prefix>-<key>-<subkey>`. */
function nested(prefix: string, m: Readonly<Record<string, unknown>>, out: Array<[string, string]>): void {
  for (const [k, v] of Object.entries(m)) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v))
      nested(`${prefix}-${k}`, v as Record<string, unknown>, out);
    else out.push([`${prefix}-${k}`, goSprint(v)]);
  }
}

/**
 * Move the pairs named in `loki.labels` into the labels, never replacing a label and never exceeding Loki's label
 * count. `rename` is LXD's per-type label spelling; herald also makes the name valid for Loki (see docs/loki.md).
 */
function promote(
  pairs: Array<[string, string]>,
  labels: Record<string, string>,
  wanted: ReadonlySet<string>,
  rename: (k: string) => string,
  keepInLine: boolean,
): Array<[string, string]> {
  if (wanted.size === 0) return pairs;
  const rest: Array<[string, string]> = [];
  let count = Object.keys(labels).length;
  for (const pair of pairs) {
    const [k, v] = pair;
    const name = labelName(rename(k));
    // An empty value is no label at all to Loki, so such a key stays in the line.
    if (wanted.has(k) && !(k in labels) && !(name in labels) && v !== '' && count < MAX_LABELS) {
      labels[name] = labelValue(v);
      count++;
      if (keepInLine) rest.push(pair);
    } else rest.push(pair);
  }
  return rest;
}

function sortedLabels(labels: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(labels).sort()) out[k] = labels[k] as string;
  return out;
}

/** `k="v" ` pairs: values are not escaped, exactly as LXD writes them. */
function prefixPairs(pairs: ReadonlyArray<readonly [string, string]>): string {
  let s = '';
  for (const [k, v] of pairs) s += `${k}="${v}" `;
  return s;
}

/** Go's `net.SplitHostPort`, leniently: an address without a port gives an empty port. */
export function splitHostPort(address: string): { host: string; port: string } {
  const bracket = /^\[([^\]]*)\](?::(\d*))?$/.exec(address);
  if (bracket) return { host: bracket[1] as string, port: bracket[2] ?? '' };
  const i = address.lastIndexOf(':');
  if (i < 0 || address.indexOf(':') !== i) return { host: address, port: '' };
  return { host: address.slice(0, i), port: address.slice(i + 1) };
}

/** Go's RFC3339Nano: the fraction without trailing zeros (none at all when zero). */
export function rfc3339Nano(ts: string): string {
  return ts.replace(/^(.{19})(\.\d+)?/i, (_m, head: string, frac?: string) => {
    const f = (frac ?? '').replace(/0+$/, '');
    return `${head.toUpperCase()}${f === '.' ? '' : f}`;
  });
}

/** The OWASP audit record LXD writes as a security event's Loki line (key order as spec §5.5 lists them). */
export function owaspRecord(
  e: Extract<HeraldEvent, { type: 'security' }>,
  o: LokiFormatOptions,
): Record<string, string> {
  const m = e.metadata;
  const { host, port } = o.httpsAddress ? splitHostPort(o.httpsAddress) : { host: '', port: '' };
  const rec: Record<string, string> = {
    appid: 'lxd',
    type: 'security',
    datetime: rfc3339Nano(e.timestamp),
    event: m.name,
    level: m.level,
    description: m.description,
    hostname: o.hostname,
    host_ip: host,
    port,
    protocol: 'https',
    request_uri: m.request_path ?? '',
    request_method: m.request_method ?? '',
    event_source: e.location,
    cluster_member_name: e.location,
    cluster_identifier: o.clusterIdentifier ?? '',
  };
  const r = m.requestor;
  if (r) {
    rec.useragent = r.user_agent;
    rec.source_ip = r.address;
    if (r.protocol !== '' && r.username !== '') rec.user_id = `${r.protocol}/${r.username}`;
  }
  for (const k of Object.keys(rec)) rec[k] = wellFormed(rec[k] as string);
  return rec;
}

/**
 * The Loki entry for an event, or undefined when the target does not forward it (type not in `loki.types`, a
 * logging/ovn level more verbose than `loki.loglevel`, or an operation, which is never forwarded).
 */
export function formatEvent(e: HeraldEvent, o: LokiFormatOptions): LokiEntry | undefined {
  if (e.type === 'operation' || !o.types.has(e.type)) return undefined;
  const location = o.standalone && (e.location === 'none' || e.location === '') ? o.hostname : e.location;
  const labels: Record<string, string> = {
    app: e.type === 'maas' ? 'maas' : 'lxd',
    type: e.type,
    location: labelValue(location),
    instance: labelValue(o.instance),
  };
  switch (e.type) {
    case 'lifecycle': {
      const m = e.metadata;
      if (m.name) labels.name = labelValue(m.name);
      if (m.project) labels.project = labelValue(m.project);
      const pairs: Array<[string, string]> = [
        ['action', m.action],
        ['source', m.source],
      ];
      if (m.context) nested('context', m.context, pairs);
      if (m.requestor) {
        pairs.push(
          ['requester-address', m.requestor.address],
          ['requester-protocol', m.requestor.protocol],
          ['requester-username', m.requestor.username],
        );
      }
      const rest = promote(pairs, labels, o.labels, (k) => k.replaceAll('-', '_'), false);
      return { labels: sortedLabels(labels), line: wellFormed(prefixPairs(rest) + m.action) };
    }
    case 'logging':
    case 'ovn': {
      const m = e.metadata;
      if ((LOGRUS_LEVEL_NUMBER[m.level] ?? 0) > o.loglevel) return undefined;
      const pairs: Array<[string, string]> = [['level', m.level]];
      nested('context', m.context, pairs);
      const rest = promote(pairs, labels, o.labels, (k) => k, false);
      rest.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      return { labels: sortedLabels(labels), line: wellFormed(prefixPairs(rest) + m.message) };
    }
    case 'security': {
      const rec = owaspRecord(e, o);
      promote(Object.entries(rec), labels, o.labels, (k) => k, true);
      return { labels: sortedLabels(labels), line: goJson(rec, { sortKeys: false }) };
    }
    case 'maas': {
      const m = e.metadata;
      const pairs: Array<[string, string]> = [
        ['event_type', m.event_type],
        ['level', m.level],
      ];
      const optional: Array<[string, string | null | undefined]> = [
        ['node', m.node],
        ['hostname', m.hostname],
        ['username', m.username],
        ['action', m.action],
        ['ip_address', m.ip_address],
        ['zone', m.zone],
        ['pool', m.pool],
        ['domain', m.domain],
        ['agent_name', m.agent_name],
      ];
      for (const [k, v] of optional) if (v) pairs.push([k, v]);
      const rest = promote(pairs, labels, o.labels, (k) => k.replaceAll('-', '_'), false);
      return { labels: sortedLabels(labels), line: wellFormed(prefixPairs(rest) + m.description) };
    }
  }
}

/** One key per label set: entries with equal keys belong to one Loki stream. */
export function streamKey(labels: Readonly<Record<string, string>>): string {
  return JSON.stringify(labels);
}

/**
 * An event's natural Loki timestamp in nanoseconds: its time to the microsecond, plus `id mod 1000` nanoseconds. It
 * depends only on stored data, so a resent entry is identical, and events of one microsecond keep their id order.
 */
export function naturalNs(timestamp: string, timeMs: number, id: number): bigint {
  const frac = /\.(\d+)/.exec(timestamp.slice(19, 30))?.[1] ?? '';
  const micros = Number(frac.slice(3, 6).padEnd(3, '0'));
  const us = Math.max(0, timeMs * 1000 + micros);
  return BigInt(us) * 1000n + BigInt(id % 1000);
}
