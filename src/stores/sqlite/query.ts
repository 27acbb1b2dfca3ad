/** @module Translation of the shared EventFilter into SQLite WHERE clauses (the store-side interpreter). */
import { securityAction } from '../../core/catalogue/security.js';
import type { EventFilter } from '../../core/filter.js';
import type { NodeAttributeFilter } from '../../core/store.js';
import { AUDIT_KEY, POSTING_PREFIX } from './postings.js';

/** Whether an action filter value can match longer names: a security name or one of its ':'-prefixes. */
function hasPrefixForm(action: string): boolean {
  return action.includes(':') || securityAction(action) !== undefined;
}

export interface Where {
  readonly sql: string;
  readonly params: unknown[];
}

function inList(column: string, values: readonly unknown[], params: unknown[]): string {
  params.push(...values);
  return values.length === 1 ? `${column} = ?` : `${column} IN (${values.map(() => '?').join(',')})`;
}

/** Most values an OR-list may have and still be read from posting lists (each value is a stream to merge). */
const MAX_DRIVING_VALUES = 32;

/**
 * The posting keys a query reads its candidate ids from (an OR of them), or undefined to scan the log by id. herald
 * decides rather than SQLite, from the kind of filter: the most selective dimension present wins. A single type is
 * worth reading (types are coarse, and a list of them covers most of the log, which a scan reads as fast).
 */
export function drivingKeys(filter: EventFilter | undefined): string[] | undefined {
  if (!filter) return undefined;
  const keys = (prefix: string, values: readonly string[] | undefined) =>
    values && values.length > 0 && values.length <= MAX_DRIVING_VALUES ? values.map((v) => prefix + v) : undefined;
  return (
    keys(POSTING_PREFIX.node, filter.nodes) ??
    keys(POSTING_PREFIX.hostname, filter.hostnames) ??
    keys(POSTING_PREFIX.username, filter.usernames) ??
    keys(POSTING_PREFIX.action, filter.actions) ??
    (filter.types?.length === 1 ? keys(POSTING_PREFIX.type, filter.types) : undefined) ??
    (filter.level && 'audit' in filter.level ? [AUDIT_KEY] : undefined)
  );
}

/** WHERE clause (without the keyword) for a filter; `1` when it selects everything. */
export function whereFor(filter: EventFilter | undefined, nodes?: NodeAttributeFilter): Where {
  const parts: string[] = [];
  const params: unknown[] = [];
  if (filter) {
    if (filter.types) {
      if (filter.types.length === 0) parts.push('0');
      else parts.push(inList('type', filter.types, params));
    }
    if (filter.scope.kind === 'project') {
      parts.push(`project IN (?, '')`);
      params.push(filter.scope.project);
    }
    if (filter.locations) parts.push(inList('location', filter.locations, params));
    if (filter.actions) {
      // Only security names have ':'-separated parts, so only they need the prefix range.
      const ors = filter.actions.map((v) => {
        if (!hasPrefixForm(v)) {
          params.push(v);
          return 'action = ?';
        }
        params.push(v, `${v}:`, `${v};`);
        return '(action = ? OR (action >= ? AND action < ?))';
      });
      parts.push(`(${ors.join(' OR ')})`);
    }
    if (filter.level) {
      if ('audit' in filter.level) parts.push('audit = 1');
      else {
        parts.push('severity >= ?');
        params.push(filter.level.min);
        if (filter.level.excludeAudit) parts.push('audit = 0');
      }
    }
    if (filter.usernames) parts.push(inList('username', filter.usernames, params));
    if (filter.nodes) parts.push(inList('node', filter.nodes, params));
    if (filter.hostnames) parts.push(inList('hostname', filter.hostnames, params));
    if (filter.sinceMs !== undefined) {
      parts.push('time_ms >= ?');
      params.push(filter.sinceMs);
    }
    if (filter.untilMs !== undefined) {
      parts.push('time_ms <= ?');
      params.push(filter.untilMs);
    }
    if (filter.q !== undefined) {
      parts.push(`instr(text, ?) > 0`);
      params.push(filter.q);
    }
  }
  if (nodes) {
    if (nodes.macs) {
      const ors = nodes.macs.map((m) => {
        params.push(`%,${m},%`);
        return 'macs LIKE ?';
      });
      parts.push(`(${ors.join(' OR ')})`);
    }
    if (nodes.domains) parts.push(inList('domain', nodes.domains, params));
    if (nodes.zone !== undefined) parts.push(inList('zone', [nodes.zone], params));
    if (nodes.pool !== undefined) parts.push(inList('pool', [nodes.pool], params));
    if (nodes.agentName !== undefined) parts.push(inList('agent_name', [nodes.agentName], params));
  }
  return { sql: parts.length > 0 ? parts.join(' AND ') : '1', params };
}
