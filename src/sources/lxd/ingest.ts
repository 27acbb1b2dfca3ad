/** @module One LXD event frame -> one prepared event, stored unchanged (herald's catalogue gaps are not LXD's errors). */
import type { FieldIssue } from '../../core/errors.js';
import { MAX_EVENT_BYTES } from '../../core/event.js';
import { deriveFields } from '../../core/fields.js';
import { encodeEnvelope, prepareOne, type ValidatedEvent } from '../../core/prepare.js';

/**
 * What ingesting one frame gave:
 * - `stored`: the event, unchanged, ready for the publish path. `unknown` names a lifecycle action or security name that
 *   herald's catalogue does not know yet (a newer LXD emitted it): the event is still kept as LXD sent it.
 * - `rejected`: the frame is not an event herald can hold (not JSON, an unknown type, a metadata shape herald's
 *   schemas refuse, over the size limit). The caller records that as a `logging` event, so the gap is visible.
 */
export type IngestResult =
  | { readonly kind: 'stored'; readonly prepared: ValidatedEvent; readonly unknown?: string }
  | { readonly kind: 'rejected'; readonly type: string; readonly timestamp: string; readonly reason: string };

/**
 * Stand-ins that pass the catalogue check while everything else is validated; the real value goes back afterwards.
 * Both are catalogue entries that take no suffix and need no context.
 */
const PLACEHOLDER = { lifecycle: 'config-updated', security: 'sys_startup' } as const;

function describe(issues: readonly FieldIssue[]): string {
  return issues.map((i) => `${i.field}: ${i.reason}`).join('; ');
}

function isCatalogueMiss(issues: readonly FieldIssue[], type: unknown): boolean {
  if (issues.length !== 1) return false;
  const i = issues[0] as FieldIssue;
  if (type === 'lifecycle') return i.field === 'metadata.action' && i.reason.startsWith('unknown lifecycle action');
  if (type === 'security') return i.field === 'metadata.name';
  return false;
}

/**
 * Validate one frame from an LXD server's `/1.0/events` as the publish path validates any event, keeping LXD's own
 * `timestamp`, `location` and `project` (no location is stamped on an event that came without one).
 */
export function ingestLxdFrame(data: string, maxEventBytes = MAX_EVENT_BYTES): IngestResult {
  let raw: unknown;
  try {
    raw = JSON.parse(data);
  } catch (err) {
    return { kind: 'rejected', type: '', timestamp: '', reason: `not JSON: ${(err as Error).message}` };
  }
  const obj = (raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? raw : {}) as Record<string, unknown>;
  const type = typeof obj.type === 'string' ? obj.type : '';
  const timestamp = typeof obj.timestamp === 'string' ? obj.timestamp : '';
  const opts = { location: '', maxEventBytes };
  const first = prepareOne(raw, 0, opts);
  if (!Array.isArray(first)) return { kind: 'stored', prepared: first };
  if (!isCatalogueMiss(first, type)) return { kind: 'rejected', type, timestamp, reason: describe(first) };

  // A lifecycle action or security name from an LXD newer than herald's catalogue: validate the rest of the event with
  // a stand-in, then put LXD's value back. The event stays exactly as LXD sent it; only herald's summaries are generic.
  const meta = obj.metadata as Record<string, unknown>;
  const key = type === 'lifecycle' ? 'action' : 'name';
  const real = meta[key];
  if (typeof real !== 'string' || real === '') {
    return { kind: 'rejected', type, timestamp, reason: describe(first) };
  }
  const probe = prepareOne(
    { ...obj, metadata: { ...meta, [key]: PLACEHOLDER[type as keyof typeof PLACEHOLDER] } },
    0,
    opts,
  );
  if (Array.isArray(probe)) return { kind: 'rejected', type, timestamp, reason: describe([...first, ...probe]) };
  const event = { ...probe.event, metadata: { ...probe.event.metadata, [key]: real } } as ValidatedEvent['event'];
  const body = encodeEnvelope(event);
  const size = Buffer.byteLength(body);
  if (size > maxEventBytes) {
    return {
      kind: 'rejected',
      type,
      timestamp,
      reason: `event is ${size} bytes, over the ${maxEventBytes}-byte limit`,
    };
  }
  return { kind: 'stored', prepared: { event, body, fields: deriveFields(event, probe.fields.timeMs) }, unknown: real };
}
