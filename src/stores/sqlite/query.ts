/** @module Translation of the shared EventFilter into SQLite WHERE clauses (the store-side interpreter). */
import type { EventFilter } from '../../core/filter.js';
import type { NodeAttributeFilter } from '../../core/store.js';

export interface Where {
  readonly sql: string;
  readonly params: unknown[];
}

function inList(column: string, values: readonly unknown[], params: unknown[], guard = ''): string {
  params.push(...values);
  const cond = values.length === 1 ? `${column} = ?` : `${column} IN (${values.map(() => '?').join(',')})`;
  return guard ? `${cond} AND ${guard}` : cond;
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
      // Exact match, or a prefix ending at ':' (security names): a range keeps the action index usable.
      const ors = filter.actions.map((a) => {
        params.push(a, `${a}:`, `${a};`);
        return `(action = ? OR (action >= ? AND action < ?))`;
      });
      parts.push(`(${ors.join(' OR ')}) AND action != ''`);
    }
    if (filter.level) {
      if ('audit' in filter.level) parts.push('audit = 1');
      else {
        parts.push('severity >= ?');
        params.push(filter.level.min);
        if (filter.level.excludeAudit) parts.push('audit = 0');
      }
    }
    if (filter.usernames) parts.push(inList('username', filter.usernames, params, `username != ''`));
    if (filter.nodes) parts.push(inList('node', filter.nodes, params, 'node IS NOT NULL'));
    if (filter.hostnames) parts.push(inList('hostname', filter.hostnames, params, `hostname != ''`));
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
