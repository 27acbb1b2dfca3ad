/** @module `herald history`: query stored events with the history API's filters. */
import type { Command } from 'commander';
import type { HeraldEvent } from '../../core/event.js';
import { CliError } from '../client.js';
import { formatEvents, LIST_FORMATS, type ListFormat } from '../format.js';
import { clientOf, collect } from './common.js';

interface HistoryOpts {
  type: string[];
  project?: string;
  allProjects?: boolean;
  location: string[];
  action: string[];
  level?: string;
  username: string[];
  node: string[];
  hostname: string[];
  since?: string;
  until?: string;
  q?: string;
  after?: string;
  before?: string;
  limit?: string;
  format?: string;
}

export function historyQuery(o: HistoryOpts): URLSearchParams {
  const p = new URLSearchParams();
  for (const t of o.type) p.append('type', t);
  if (o.project) p.set('project', o.project);
  if (o.allProjects) p.set('all-projects', 'true');
  for (const [key, values] of [
    ['location', o.location],
    ['action', o.action],
    ['username', o.username],
    ['node', o.node],
    ['hostname', o.hostname],
  ] as const) {
    for (const v of values) p.append(key, v);
  }
  for (const key of ['level', 'since', 'until', 'q', 'after', 'before', 'limit'] as const) {
    const v = o[key];
    if (v !== undefined) p.set(key, v);
  }
  return p;
}

export function registerHistory(program: Command): void {
  program
    .command('history')
    .description('list stored events, newest first')
    .option('-t, --type <type>', 'event type (repeatable, or comma list)', collect, [])
    .option('-p, --project <name>', 'only this project (and events of no project)')
    .option('--all-projects', 'every project')
    .option('--location <member>', 'cluster member (repeatable)', collect, [])
    .option('--action <action>', 'lifecycle action, security name or prefix, MAAS type (repeatable)', collect, [])
    .option('--level <level>', 'minimum level (debug, info, warning, error, critical) or audit')
    .option('--username <user>', 'requestor or MAAS username (repeatable)', collect, [])
    .option('--node <system-id>', 'MAAS node system id (repeatable)', collect, [])
    .option('--hostname <name>', 'machine or instance name (repeatable)', collect, [])
    .option('--since <time>', 'RFC3339 time or duration ago (15m, 2h)')
    .option('--until <time>', 'RFC3339 time or duration ago')
    .option('-q, --q <text>', 'text in message, description or source')
    .option('--after <id>', 'events after this id (the oldest first page after it)')
    .option('--before <id>', 'events before this id')
    .option('-n, --limit <n>', 'page size (default 100, max 1000)')
    .option(
      '-f, --format <format>',
      `output format: ${LIST_FORMATS.join(', ')} (default: table on a terminal, else jsonl)`,
    )
    .action(async (opts: HistoryOpts, cmd: Command) => {
      const format = (opts.format ?? (process.stdout.isTTY ? 'table' : 'jsonl')) as ListFormat;
      if (!LIST_FORMATS.includes(format)) throw new CliError(`Invalid format: ${format}`);
      const res = await clientOf(cmd).call<{ events: HeraldEvent[] }>(
        'GET',
        `/1.0/events/history?${historyQuery(opts).toString()}`,
      );
      process.stdout.write(formatEvents(res.events, format, process.stdout.columns ?? 200));
    });
}
