/** @module `herald forwarder status`: where each forwarding target stands (cursor, lag, errors, counts). */
import type { Command } from 'commander';
import { stringify } from 'yaml';
import type { ForwarderStatus } from '../../forwarders/loki/forwarder.js';
import { CliError } from '../client.js';
import { clientOf } from './common.js';

const FORMATS = ['table', 'json', 'yaml'] as const;

function ago(iso: string | null, now: number): string {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  return s < 120 ? `${s}s ago` : s < 7200 ? `${Math.round(s / 60)}m ago` : `${Math.round(s / 3600)}h ago`;
}

export function formatForwarders(list: readonly ForwarderStatus[], now = Date.now()): string {
  if (list.length === 0) return 'No forwarders configured (set loki.api.url to forward to Loki).\n';
  const rows = [
    ['NAME', 'KIND', 'STATE', 'CURSOR', 'LAG', 'LAG(S)', 'SENT', 'REJECTED', 'RETRIES', 'LAST SUCCESS', 'URL'],
  ];
  for (const f of list) {
    rows.push([
      f.name,
      f.kind,
      f.state,
      String(f.cursor),
      String(f.lag_events),
      f.lag_seconds.toFixed(1),
      String(f.entries_sent),
      String(f.entries_rejected),
      String(f.retries),
      ago(f.last_success, now),
      f.url,
    ]);
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  let out = rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ')).join('\n');
  out += '\n';
  for (const f of list)
    if (f.last_error) out += `${f.name}: last error ${f.last_error.time}: ${f.last_error.message}\n`;
  return out;
}

export function registerForwarder(program: Command): void {
  const fwd = program.command('forwarder').description('inspect event forwarding (Loki)');
  fwd
    .command('status')
    .description('cursor, lag, last success and error, and counts per target')
    .argument('[name]', 'only this target')
    .option('-f, --format <format>', `output format: ${FORMATS.join(', ')}`, 'table')
    .action(async (name: string | undefined, opts: { format: string }, cmd: Command) => {
      if (!(FORMATS as readonly string[]).includes(opts.format)) throw new CliError(`Invalid format: ${opts.format}`);
      const client = clientOf(cmd);
      const list = name
        ? [await client.call<ForwarderStatus>('GET', `/1.0/forwarders/${encodeURIComponent(name)}`)]
        : await client.call<ForwarderStatus[]>('GET', '/1.0/forwarders');
      if (opts.format === 'json') process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
      else if (opts.format === 'yaml') process.stdout.write(stringify(list));
      else process.stdout.write(formatForwarders(list));
    });
}
