/** @module Translation of the shared EventFilter into SQLite WHERE clauses (the store-side interpreter). */
import { securityAction } from '../../core/catalogue/security.js';
import type { EventFilter } from '../../core/filter.js';
import type { NodeAttributeFilter } from '../../core/store.js';

/** Whether an action filter value can match longer names: a security name or one of its ':'-prefixes. */
function hasPrefixForm(action: string): boolean {
  return action.includes(':') || securityAction(action) !== undefined;
}

export interface Where {
  readonly sql: string;
  readonly params: unknown[];
}

function inList(column: string, values: readonly unknown[], params: unknown[], guard = ''): string {
  params.push(...values);
  const cond = values.length === 1 ? `${column} = ?` : `${column} IN (${values.map(() => '?').join(',')})`;
  return guard ? `${cond} AND ${guard}` : cond;
}

type Indexed = 'node' | 'hostname' | 'username' | 'action' | 'type' | 'audit';

/**
 * The one index a page query should read. Without statistics SQLite's planner guesses, and a wrong guess (an index
 * over a common value, or an IN list it must then sort) turns a 1 ms page into seconds. So herald decides: the most
 * selective kind of equality wins, and only a single value keeps rows in id order. Every other indexed column is
 * written as `+column`, which SQLite never uses for an index. With no candidate the primary key is scanned backwards.
 */
function chooseIndex(filter: EventFilter): Indexed | undefined {
  const single = (v: readonly unknown[] | undefined) => v !== undefined && v.length === 1;
  if (single(filter.nodes)) return 'node';
  if (single(filter.hostnames)) return 'hostname';
  if (single(filter.usernames)) return 'username';
  if (single(filter.actions) && !hasPrefixForm(filter.actions?.[0] as string)) return 'action';
  if (single(filter.types)) return 'type';
  if (filter.level && 'audit' in filter.level) return 'audit';
  return undefined;
}

/** WHERE clause (without the keyword) for a filter; `1` when it selects everything. */
export function whereFor(filter: EventFilter | undefined, nodes?: NodeAttributeFilter): Where {
  const parts: string[] = [];
  const params: unknown[] = [];
  if (filter) {
    const chosen = chooseIndex(filter);
    const col = (c: Indexed) => (c === chosen ? c : `+${c}`);
    if (filter.types) {
      if (filter.types.length === 0) parts.push('0');
      else parts.push(inList(col('type'), filter.types, params));
    }
    if (filter.scope.kind === 'project') {
      parts.push(`+project IN (?, '')`);
      params.push(filter.scope.project);
    }
    if (filter.locations) parts.push(inList('location', filter.locations, params));
    if (filter.actions) {
      // Only security names have ':'-separated parts, so only they need the prefix range.
      const a = col('action');
      const ors = filter.actions.map((v) => {
        if (!hasPrefixForm(v)) {
          params.push(v);
          return `${a} = ?`;
        }
        params.push(v, `${v}:`, `${v};`);
        return `(${a} = ? OR (${a} >= ? AND ${a} < ?))`;
      });
      parts.push(`(${ors.join(' OR ')})`);
      if (chosen === 'action') parts.push(`action != ''`);
    }
    if (filter.level) {
      if ('audit' in filter.level) parts.push(`${col('audit')} = 1`);
      else {
        parts.push('severity >= ?');
        params.push(filter.level.min);
        if (filter.level.excludeAudit) parts.push('+audit = 0');
      }
    }
    const guard = (c: Indexed, g: string) => (c === chosen ? g : '');
    if (filter.usernames)
      parts.push(inList(col('username'), filter.usernames, params, guard('username', `username != ''`)));
    if (filter.nodes) parts.push(inList(col('node'), filter.nodes, params, guard('node', 'node IS NOT NULL')));
    if (filter.hostnames)
      parts.push(inList(col('hostname'), filter.hostnames, params, guard('hostname', `hostname != ''`)));
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
