/** @module Validation and normalisation of published events into their canonical stored form. */
import type { z } from 'zod';
import { lifecycleAction } from './catalogue/lifecycle.js';
import { maasEventType } from './catalogue/maas.js';
import { parseSecurityName } from './catalogue/security.js';
import { type FieldIssue, ValidationError } from './errors.js';
import {
  type EventEnvelope,
  envelopeInputSchema,
  isEventType,
  MAX_EVENT_BYTES,
  METADATA_SCHEMAS,
  type MetadataByType,
} from './event.js';
import { deriveFields, type EventFields } from './fields.js';
import { nowStamp, parseRfc3339 } from './time.js';

/** An event ready to append: its canonical JSON (without id) and the facts the store indexes. */
export interface PreparedEvent {
  /** canonical JSON in LXD's key order, without `id`; the store keeps exactly these bytes */
  readonly body: string;
  readonly fields: EventFields;
}

/** A prepared event with its normalised envelope, for callers that inspect or rewrite it before publishing. */
export interface ValidatedEvent extends PreparedEvent {
  readonly event: EventEnvelope;
}

export interface PrepareOptions {
  /** member name stamped on events without a location (`none` when standalone, as LXD) */
  readonly location: string;
  readonly now?: () => string;
  readonly maxEventBytes?: number;
}

const MAC = /^(?:[0-9a-f]{2}([:-])(?:[0-9a-f]{2}\1){4}[0-9a-f]{2}|[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4})$/i;

const NORMAL_MAC = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/;

/** MAAS's normal form of a MAC address: lower case, colon separated. Undefined when it is not a MAC. */
export function normaliseMac(value: string): string | undefined {
  // Most publishers already send the normal form; one test then spares the rewrite.
  if (NORMAL_MAC.test(value)) return value;
  if (!MAC.test(value)) return undefined;
  const hex = value.replace(/[:.-]/g, '').toLowerCase();
  return hex.match(/../g)?.join(':');
}

/** Canonical JSON of a validated envelope (timestamp RFC3339): LXD's key order, `location`/`project` omitted if empty. */
export function encodeEnvelope(e: EventEnvelope): string {
  // Assembled around one stringify of the metadata: ingest encodes every event, and an envelope object per event was
  // garbage and a second level for the encoder to walk. `type` is one of EVENT_TYPES and `timestamp` is RFC3339
  // (checked before encoding): neither has a character JSON escapes.
  let out = `{"type":"${e.type}","timestamp":"${e.timestamp}","metadata":${JSON.stringify(e.metadata)}`;
  if (e.location) out += `,"location":${JSON.stringify(e.location)}`;
  if (e.project) out += `,"project":${JSON.stringify(e.project)}`;
  return `${out}}`;
}

/** The wire form of a stored event: its canonical JSON with `id` appended, built without re-encoding the body. */
export function withId(body: string, id: number): string {
  return `${body.slice(0, -1)},"id":${id}}`;
}

/**
 * A just-committed event. Its wire JSON is built on first use: most batches reach no live listener, and building a
 * second copy of every body up front was a good share of ingest's garbage.
 */
export class CommittedEvent {
  private wire: string | undefined;
  constructor(
    readonly id: number,
    private readonly body: string,
    readonly fields: EventFields,
  ) {}

  get json(): string {
    if (this.wire === undefined) this.wire = withId(this.body, this.id);
    return this.wire;
  }
}

function zodIssues(index: number, prefix: string, error: z.ZodError): FieldIssue[] {
  return error.issues.map((i) => ({
    index,
    field: [prefix, ...i.path.map(String)].filter(Boolean).join('.') || '(event)',
    reason: i.message,
  }));
}

function issue(index: number, field: string, reason: string): FieldIssue[] {
  return [{ index, field, reason }];
}

/** The type-specific checks and normalisation zod cannot express; the problems found, or undefined. */
function checkMetadata(index: number, event: EventEnvelope): FieldIssue[] | undefined {
  switch (event.type) {
    case 'lifecycle': {
      const spec = lifecycleAction(event.metadata.action);
      if (!spec) return issue(index, 'metadata.action', `unknown lifecycle action "${event.metadata.action}"`);
      return undefined;
    }
    case 'security': {
      const parsed = parseSecurityName(event.metadata.name);
      if (!parsed.ok) return issue(index, 'metadata.name', parsed.reason);
      // Rebuilt so that a defaulted level still sits in LXD's key order.
      const { name, level, ...rest } = event.metadata;
      event.metadata = { name, level: level ?? parsed.action.level, ...rest };
      return undefined;
    }
    case 'maas': {
      const t = maasEventType(event.metadata.event_type);
      if (!t) return issue(index, 'metadata.event_type', `unknown MAAS event type "${event.metadata.event_type}"`);
      const { event_type, level, ...rest } = event.metadata;
      event.metadata = { event_type, level: level ?? t.level, ...rest };
      const macs: string[] = [];
      for (const [i, mac] of (event.metadata.mac_addresses ?? []).entries()) {
        const norm = normaliseMac(mac);
        if (!norm) return issue(index, `metadata.mac_addresses.${i}`, `"${mac}" is not a MAC address`);
        macs.push(norm);
      }
      if (event.metadata.mac_addresses) event.metadata.mac_addresses = macs;
      return undefined;
    }
    case 'operation': {
      for (const key of ['created_at', 'updated_at'] as const) {
        if (parseRfc3339(event.metadata[key]) === undefined) {
          return issue(index, `metadata.${key}`, `"${event.metadata[key]}" is not an RFC3339 timestamp`);
        }
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

/** Validate and normalise one raw event. Returns the prepared event or the problems found, never throws. */
export function prepareOne(raw: unknown, index: number, opts: PrepareOptions): ValidatedEvent | FieldIssue[] {
  try {
    return prepareUnchecked(raw, index, opts);
  } catch (err) {
    // Only pathological input gets here (JSON nested thousands deep overflows the encoder's stack).
    const reason = err instanceof RangeError ? 'nested too deeply' : `cannot be encoded: ${(err as Error).message}`;
    return [{ index, field: '(event)', reason }];
  }
}

function prepareUnchecked(raw: unknown, index: number, opts: PrepareOptions): ValidatedEvent | FieldIssue[] {
  const env = envelopeInputSchema.safeParse(raw);
  if (!env.success) return zodIssues(index, '', env.error);
  const { type, metadata } = env.data;
  if (!isEventType(type)) return [{ index, field: 'type', reason: `"${type}" is not a supported event type` }];
  const meta = METADATA_SCHEMAS[type].safeParse(metadata);
  if (!meta.success) return zodIssues(index, 'metadata', meta.error);
  let timestamp = env.data.timestamp;
  let timeMs: number | undefined;
  if (timestamp === undefined) {
    const stamp = opts.now ? { text: opts.now(), ms: Number.NaN } : nowStamp();
    timestamp = stamp.text;
    timeMs = Number.isNaN(stamp.ms) ? parseRfc3339(timestamp) : stamp.ms;
  } else timeMs = parseRfc3339(timestamp);
  if (timeMs === undefined)
    return [{ index, field: 'timestamp', reason: `"${timestamp}" is not an RFC3339 timestamp` }];
  const event = {
    type,
    timestamp,
    metadata: meta.data as MetadataByType[typeof type],
    location: env.data.location || opts.location,
    // A security event's envelope project is the raw ?project= of its request (LXD), when the publisher gave none.
    project: env.data.project ?? (type === 'security' ? ((meta.data as { project?: string }).project ?? '') : ''),
  } as EventEnvelope;
  const problems = checkMetadata(index, event);
  if (problems) return problems;
  const body = encodeEnvelope(event);
  const limit = opts.maxEventBytes ?? MAX_EVENT_BYTES;
  const size = Buffer.byteLength(body);
  if (size > limit)
    return [{ index, field: '(event)', reason: `event is ${size} bytes, over the ${limit}-byte limit` }];
  return { event, body, fields: deriveFields(event, timeMs) };
}

/**
 * Validate a publish body (one event or an array). All-or-nothing: any problem rejects the whole batch. The envelopes
 * are dropped here: a batch waits for its commit holding only bodies and facts, so the parsed object graphs die young
 * (keeping them alive across a commit made the garbage collector promote them, a tenth of ingest time).
 */
export function prepareBatch(raw: unknown, opts: PrepareOptions): PreparedEvent[] {
  const items = Array.isArray(raw) ? raw : [raw];
  if (items.length === 0) throw new ValidationError([{ index: 0, field: '(body)', reason: 'no events given' }]);
  const out: PreparedEvent[] = [];
  const issues: FieldIssue[] = [];
  for (let i = 0; i < items.length; i++) {
    const r = prepareOne(items[i], i, opts);
    if (Array.isArray(r)) {
      issues.push(...r);
      if (issues.length >= 20) break;
    } else out.push({ body: r.body, fields: r.fields });
  }
  if (issues.length > 0) throw new ValidationError(issues);
  return out;
}
