/**
 * @module `herald events query` (the MAAS CLI's `maas $PROFILE events query`, spec maas-events.md §6) and
 * `herald maas-key create|list|revoke` for the API keys MAAS clients sign with.
 */
import { readFileSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import type { Command } from 'commander';
import { MAAS_EVENTS_PATH, pyRepr, pyUrlencode } from '../../core/maas-view.js';
import type { MaasKeyInfo } from '../../service/maas-keys.js';
import { CliError, type RawResponse } from '../client.js';
import { clientOf } from './common.js';

/** MAAS's `name=value` / `name@=file` argument parsing. */
export function parsePair(arg: string): [string, string] {
  const eq = arg.indexOf('=');
  if (eq === -1) throw new CliError(`${pyRepr(arg)} is not a name=value pair`, 2);
  const name = arg.slice(0, eq);
  const value = arg.slice(eq + 1);
  if (!name.endsWith('@')) return [name, value];
  try {
    return [name.slice(0, -1), readFileSync(value, 'utf8')];
  } catch (err) {
    throw new CliError(`cannot read ${value}: ${(err as Error).message}`, 2);
  }
}

/** The request path the MAAS CLI sends: `op` first, then the pairs in the order given (repeats kept). */
export function eventsQueryPath(pairs: ReadonlyArray<readonly [string, string]>): string {
  return `${MAAS_EVENTS_PATH}?${pyUrlencode([['op', 'query'], ...pairs])}`;
}

function isTextual(res: RawResponse): boolean {
  const ct = String(res.headers['content-type'] ?? '')
    .split(';')[0]
    ?.trim()
    .toLowerCase();
  return ct !== undefined && (ct.endsWith('/json') || ct.startsWith('text/'));
}

/**
 * What maascli's `print_response_content` writes: the body verbatim, on a terminal preceded by `Success.` and
 * `Machine-readable output follows:` when it succeeded and followed by a newline; a failure with no body says so.
 */
export function maasCliOutput(res: RawResponse, tty: boolean): { stdout: string; exitCode: number } {
  const success = Math.floor(res.status / 100) === 2;
  const textual = isTextual(res);
  let out = '';
  if (tty && !success && res.body === '') {
    out = `Request failed with code ${res.status}: ${STATUS_CODES[res.status] ?? ''}\n`;
  } else {
    if (tty && success && textual) out += 'Success.\nMachine-readable output follows:\n';
    out += res.body;
    if (tty && textual) out += '\n';
  }
  return { stdout: out, exitCode: success ? 0 : 2 };
}

function dumpSummary(res: RawResponse): string {
  const cap = (h: string) =>
    h
      .split('-')
      .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
      .join('-');
  const names = Object.keys(res.headers).sort();
  const width = Math.max(0, ...names.map((n) => n.length)) + 2;
  const lines = names.map((n) => `${cap(n).padStart(width)}: ${String(res.headers[n])}`);
  return `${res.status} ${STATUS_CODES[res.status] ?? ''}\n\n${lines.join('\n')}\n\n`;
}

export function registerMaas(program: Command): void {
  const events = program.command('events').description('the MAAS-compatible event log (as `maas $PROFILE events`)');
  events
    .command('query')
    .description('List node events, as `maas $PROFILE events query`: prints the MAAS JSON, exit code 2 on failure')
    .argument(
      '[params...]',
      'key=value filters: hostname, mac_address, id, domain, zone, pool, agent_name, owner, level, limit, before, after (name@=file reads a file)',
    )
    .option('-d, --debug', 'print the response status and headers to stderr')
    .action(async (args: string[], opts: { debug?: boolean }, cmd: Command) => {
      const pairs = args.map(parsePair);
      const res = await clientOf(cmd).raw('GET', eventsQueryPath(pairs));
      if (opts.debug) process.stderr.write(dumpSummary(res));
      const { stdout, exitCode } = maasCliOutput(res, process.stdout.isTTY === true);
      process.stdout.write(stdout);
      // maascli raises CommandError(2), a SystemExit: no message of its own, just the status.
      if (exitCode !== 0) process.exitCode = exitCode;
    });

  const keys = program.command('maas-key').description('API keys for MAAS clients (OAuth consumer:token:secret)');
  keys
    .command('create')
    .description('create an API key for a user and print it (the only time its secret is shown)')
    .requiredOption('--user <name>', 'the username events queried with this key are attributed to')
    .action(async (opts: { user: string }, cmd: Command) => {
      const res = await clientOf(cmd).call<{ key: string }>('POST', '/1.0/maas/keys', { username: opts.user });
      process.stdout.write(`${res.key}\n`);
    });
  keys
    .command('list')
    .description('list API keys (never their secrets)')
    .action(async (_opts: unknown, cmd: Command) => {
      const list = await clientOf(cmd).call<MaasKeyInfo[]>('GET', '/1.0/maas/keys');
      const rows = [
        ['CONSUMER KEY', 'TOKEN KEY', 'USER', 'CREATED'],
        ...list.map((k) => [k.consumer_key, k.token_key, k.username, k.created_at]),
      ];
      const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
      process.stdout.write(
        rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ')).join('\n') +
          '\n',
      );
    });
  keys
    .command('revoke')
    .description('revoke an API key, given as its consumer key or the whole key')
    .argument('<key>', 'consumer key, or consumer:token:secret')
    .action(async (key: string, _opts: unknown, cmd: Command) => {
      const consumer = key.split(':')[0] ?? '';
      if (!consumer) throw new CliError('no key given');
      await clientOf(cmd).call('DELETE', `/1.0/maas/keys/${encodeURIComponent(consumer)}`);
      process.stdout.write(`revoked ${consumer}\n`);
    });
}
