/**
 * @module One filter for every reader: the live stream, history, resume replay, the MAAS view and forwarders parse
 * into this structure; `matches` interprets it for live events and each store translates it into its own query.
 */
import { QueryError } from './errors.js';
import { EVENT_TYPES, type EventType, isEventType } from './event.js';
import type { EventFields } from './fields.js';
import { parseLevelFilter } from './levels.js';
import { parseTimePoint } from './time.js';

export type ProjectScope = { readonly kind: 'all' } | { readonly kind: 'project'; readonly project: string };

export interface EventFilter {
  /** undefined: every type */
  readonly types?: readonly EventType[];
  /** LXD's scoping: an event with an empty project is in every scope */
  readonly scope: ProjectScope;
  readonly locations?: readonly string[];
  /** exact lifecycle action / MAAS type, or a security name or its prefix up to a ':' */
  readonly actions?: readonly string[];
  /** `audit`: the audit trail only; `min`: a minimum severity, optionally leaving audit events out (MAAS's levels) */
  readonly level?: { readonly audit: true } | { readonly min: number; readonly excludeAudit?: boolean };
  readonly usernames?: readonly string[];
  readonly nodes?: readonly string[];
  readonly hostnames?: readonly string[];
  readonly sinceMs?: number;
  readonly untilMs?: number;
  /** lower-cased substring of message/description/source */
  readonly q?: string;
}

export const ALL_SCOPE: ProjectScope = { kind: 'all' };

export function actionMatches(action: string, wanted: string): boolean {
  return action === wanted || (action.startsWith(wanted) && action[wanted.length] === ':');
}

/** The live interpreter of a filter. */
export function matches(f: EventFields, filter: EventFilter): boolean {
  if (filter.types && !filter.types.includes(f.type)) return false;
  if (filter.scope.kind === 'project' && f.project !== '' && f.project !== filter.scope.project) return false;
  if (filter.locations && !filter.locations.includes(f.location)) return false;
  if (filter.actions && !filter.actions.some((a) => actionMatches(f.action, a))) return false;
  if (filter.level) {
    if ('audit' in filter.level) {
      if (!f.audit) return false;
    } else if (f.severity < filter.level.min || (filter.level.excludeAudit && f.audit)) return false;
  }
  if (filter.usernames && !filter.usernames.includes(f.username)) return false;
  if (filter.nodes && (f.node === null || !filter.nodes.includes(f.node))) return false;
  if (filter.hostnames && !filter.hostnames.includes(f.hostname)) return false;
  if (filter.sinceMs !== undefined && f.timeMs < filter.sinceMs) return false;
  if (filter.untilMs !== undefined && f.timeMs > filter.untilMs) return false;
  if (filter.q !== undefined && !f.text.includes(filter.q)) return false;
  return true;
}

/** Query parameters as a multimap, in request order (what URLSearchParams gives). */
export type Params = URLSearchParams;

const TRUE = new Set(['1', 'true', 'yes', 'on']);
/** LXD's `shared.IsTrue`. */
export function isTrue(value: string | null | undefined): boolean {
  return value != null && TRUE.has(value.toLowerCase());
}

function list(params: Params, key: string): string[] | undefined {
  const values = params.getAll(key);
  return values.length > 0 ? values : undefined;
}

/** `type=a,b&type=c`: commas and repeats both mean OR. Unknown names are rejected with LXD's message. */
export function parseTypes(params: Params, allowed: readonly string[] = EVENT_TYPES): EventType[] | undefined {
  const raw = params.getAll('type');
  if (raw.length === 0) return undefined;
  const out: EventType[] = [];
  for (const value of raw) {
    for (const t of value.split(',')) {
      if (t === '' && raw.length === 1 && value === '') return undefined;
      if (!isEventType(t) || !allowed.includes(t))
        throw new QueryError('type', `"${t}" is not a supported event type`, { verbatim: true });
      if (!out.includes(t)) out.push(t);
    }
  }
  return out;
}

export function parseScope(params: Params, defaultScope: ProjectScope): ProjectScope {
  const all = isTrue(params.get('all-projects'));
  const project = params.get('project');
  if (all && project)
    throw new QueryError('project', 'Cannot specify a project when requesting all projects', { verbatim: true });
  if (all) return ALL_SCOPE;
  if (project) return { kind: 'project', project };
  return defaultScope;
}

/** The filter keys shared by history and the live stream (beyond LXD's own `type` and project). */
export function parseFilter(params: Params, opts: { now: number; defaultScope: ProjectScope }): EventFilter {
  const levelRaw = params.get('level');
  let level: EventFilter['level'];
  if (levelRaw !== null) {
    level = parseLevelFilter(levelRaw);
    if (!level) throw new QueryError('level', `unknown level "${levelRaw}"`);
  }
  const time = (key: string): number | undefined => {
    const v = params.get(key);
    if (v === null) return undefined;
    const t = parseTimePoint(v, opts.now);
    if (t === undefined) throw new QueryError(key, `"${v}" is neither an RFC3339 timestamp nor a duration like 15m`);
    return t;
  };
  const q = params.get('q');
  return {
    types: parseTypes(params),
    scope: parseScope(params, opts.defaultScope),
    locations: list(params, 'location'),
    actions: list(params, 'action'),
    level,
    usernames: list(params, 'username'),
    nodes: list(params, 'node'),
    hostnames: list(params, 'hostname'),
    sinceMs: time('since'),
    untilMs: time('until'),
    q: q ? q.toLowerCase() : undefined,
  };
}

/** Narrow a filter to the types a caller may see (intersection with its own type list). */
export function restrictTypes(filter: EventFilter, allowed: readonly EventType[]): EventFilter {
  const types = (filter.types ?? allowed).filter((t) => allowed.includes(t));
  return { ...filter, types };
}
