/** @module The indexed facts of an event (severity, audit, who, which machine), derived once at publish time. */

import { MAAS_LEVELS } from './catalogue/maas.js';
import type { EventEnvelope, EventType } from './event.js';
import { logrusSeverity } from './levels.js';

/**
 * What filters, permissions and the MAAS view need to know about an event without reading its metadata. Stores keep
 * these as columns and the live stream evaluates filters on them, so both interpret a filter the same way.
 */
export interface EventFields {
  readonly type: EventType;
  readonly timeMs: number;
  readonly project: string;
  readonly location: string;
  /** lifecycle action, full security name, or MAAS event type; '' otherwise */
  readonly action: string;
  /** 10 debug, 20 info, 30 warning, 40 error, 50 critical */
  readonly severity: number;
  /** part of the audit trail: lifecycle, security, and MAAS AUDIT-level events */
  readonly audit: boolean;
  readonly username: string;
  readonly protocol: string;
  readonly node: string | null;
  readonly hostname: string;
  readonly zone: string | null;
  readonly pool: string | null;
  readonly domain: string | null;
  readonly agentName: string | null;
  readonly macs: readonly string[];
  /** lower-cased searchable text: message, description, source */
  readonly text: string;
}

const OPERATION_FAILURE = 400;

const NO_MACS: readonly string[] = Object.freeze([]);

/** Every EventFields object is built here with one literal, so all share one hidden class (ingest is hot). */
function fields(
  event: EventEnvelope,
  timeMs: number,
  action: string,
  severity: number,
  audit: boolean,
  requestor: { username?: string; protocol?: string } | undefined,
  hostname: string,
  text: string,
): EventFields {
  return {
    type: event.type,
    timeMs,
    project: event.project,
    location: event.location,
    action,
    severity,
    audit,
    username: requestor?.username ?? '',
    protocol: requestor?.protocol ?? '',
    node: null,
    hostname,
    zone: null,
    pool: null,
    domain: null,
    agentName: null,
    macs: NO_MACS,
    text,
  };
}

export function deriveFields(event: EventEnvelope, timeMs: number): EventFields {
  switch (event.type) {
    case 'logging':
    case 'ovn': {
      const m = event.metadata;
      return fields(event, timeMs, '', logrusSeverity(m.level), false, undefined, '', m.message.toLowerCase());
    }
    case 'lifecycle': {
      const m = event.metadata;
      const text = `${m.action} ${m.source}`.toLowerCase();
      return fields(event, timeMs, m.action, 20, true, m.requestor, m.name ?? '', text);
    }
    case 'operation': {
      const m = event.metadata;
      const severity = m.status_code === OPERATION_FAILURE ? 40 : 20;
      return fields(event, timeMs, '', severity, false, m.requestor, '', `${m.description} ${m.err}`.toLowerCase());
    }
    case 'security': {
      const m = event.metadata;
      const text = `${m.name} ${m.description} ${m.request_path ?? ''}`.toLowerCase();
      return fields(event, timeMs, m.name, m.level === 'warning' ? 30 : 20, true, m.requestor, '', text);
    }
    case 'maas': {
      const m = event.metadata;
      const level = MAAS_LEVELS[m.level];
      return {
        type: event.type,
        timeMs,
        project: event.project,
        location: event.location,
        action: m.event_type,
        // An AUDIT record is an ordinary INFO-severity fact for minimum-level filters; `audit` marks it as audit.
        severity: level === 0 ? 20 : level,
        audit: level === 0,
        username: m.username,
        protocol: '',
        node: m.node,
        hostname: m.hostname,
        zone: m.zone ?? null,
        pool: m.pool ?? null,
        domain: m.domain ?? null,
        agentName: m.agent_name ?? null,
        macs: m.mac_addresses ?? NO_MACS,
        text: `${m.description} ${m.action}`.toLowerCase(),
      };
    }
  }
}
