/** @module `herald trust`: the client-certificate trust store, join tokens and the trust password (LXD's trust model). */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { parseDuration, parseRfc3339 } from '../../core/time.js';
import { parseCertificate } from '../../service/identities.js';
import { CliError } from '../client.js';
import { clientOf, readStdin } from './common.js';

export interface GrantOpts {
  restricted?: boolean;
  projects?: string;
  entitlements?: string;
  serverEntitlements?: string;
}

const csv = (v: string | undefined): string[] | undefined =>
  v === undefined
    ? undefined
    : v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);

/** The grant fields of a request body: absent flags mean an unrestricted (admin) identity. */
export function grantBody(o: GrantOpts): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (o.restricted || o.projects !== undefined || o.entitlements !== undefined || o.serverEntitlements !== undefined) {
    body.restricted = true;
    body.projects = csv(o.projects) ?? [];
    if (o.entitlements !== undefined) body.entitlements = csv(o.entitlements);
    if (o.serverEntitlements !== undefined) body.server_entitlements = csv(o.serverEntitlements);
  }
  return body;
}

export function withGrantOptions(cmd: Command): Command {
  return cmd
    .option('--restricted', 'restrict the identity to --projects (default: admin)')
    .option('--projects <list>', 'comma-separated projects a restricted identity may use (implies --restricted)')
    .option(
      '--entitlements <list>',
      'entitlements on those projects: can_view_events,can_view_operations,can_publish (default: all three)',
    )
    .option('--server-entitlements <list>', 'server-level entitlements, e.g. can_view_events (default: none)');
}

/** `--expires 30d` or an RFC3339 time, as the RFC3339 expiry the API takes. */
export function expiresAt(value: string | undefined, now = Date.now()): string | undefined {
  if (value === undefined) return undefined;
  const d = parseDuration(value);
  if (d !== undefined && d > 0) return new Date(now + d).toISOString();
  const t = parseRfc3339(value);
  if (t !== undefined) return new Date(t).toISOString();
  throw new CliError(`--expires must be a duration like 30d or an RFC3339 time, not "${value}"`);
}

export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return `${rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ')).join('\n')}\n`;
}

export function printList(items: unknown[], format: string | undefined, rows: () => string[][]): void {
  if (format === 'json') process.stdout.write(`${JSON.stringify(items, null, 2)}\n`);
  else if (format === 'yaml') process.stdout.write(items.length ? stringify(items) : '[]\n');
  else if (format === undefined || format === 'table') process.stdout.write(table(rows()));
  else throw new CliError(`Invalid format: ${format}`);
}

interface CertView {
  name: string;
  fingerprint: string;
  restricted: boolean;
  projects: string[];
  entitlements: string[];
  server_entitlements: string[];
}

async function readCertificate(file: string): Promise<string> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
  // PEM goes as is; DER as base64 (what lxc and pylxd send).
  return buf.includes('-----BEGIN CERTIFICATE-----') ? buf.toString('utf8') : buf.toString('base64');
}

export function registerTrust(program: Command): void {
  const trust = program.command('trust').description('manage trusted client certificates, join tokens, trust password');

  withGrantOptions(
    trust
      .command('add')
      .description('trust a client certificate (PEM or DER file)')
      .argument('<certfile>', 'the client certificate')
      .option('--name <name>', 'a name for it (default: its common name)'),
  ).action(async (file: string, opts: GrantOpts & { name?: string }, cmd: Command) => {
    const certificate = await readCertificate(file);
    const body = { type: 'client', certificate, ...(opts.name ? { name: opts.name } : {}), ...grantBody(opts) };
    let fingerprint: string;
    try {
      fingerprint = parseCertificate(certificate).fingerprint;
    } catch (err) {
      throw new CliError(`${file}: ${(err as Error).message}`);
    }
    await clientOf(cmd).call('POST', '/1.0/certificates', body);
    // The fingerprint is what `trust remove` and the requestor of its events use.
    process.stdout.write(`${fingerprint}\n`);
  });

  trust
    .command('list')
    .description('list trusted certificates')
    .option('-f, --format <format>', 'table, json or yaml', 'table')
    .action(async (opts: { format?: string }, cmd: Command) => {
      const certs = await clientOf(cmd).call<CertView[]>('GET', '/1.0/certificates?recursion=1');
      printList(certs, opts.format, () => [
        ['FINGERPRINT', 'NAME', 'RESTRICTED', 'PROJECTS', 'ENTITLEMENTS'],
        ...certs.map((c) => [
          c.fingerprint.slice(0, 12),
          c.name,
          c.restricted ? 'yes' : 'no',
          c.restricted ? c.projects.join(',') || '-' : '(all)',
          c.restricted ? [...c.entitlements, ...c.server_entitlements.map((e) => `server:${e}`)].join(',') : '(admin)',
        ]),
      ]);
    });

  trust
    .command('remove')
    .description('remove a trusted certificate')
    .argument('<fingerprint>', 'fingerprint or a unique prefix of it')
    .action(async (fp: string, _opts: unknown, cmd: Command) => {
      if (!/^[0-9a-fA-F]{1,64}$/.test(fp)) throw new CliError(`"${fp}" is not a fingerprint (hexadecimal)`);
      await clientOf(cmd).call('DELETE', `/1.0/certificates/${fp.toLowerCase()}`);
    });

  withGrantOptions(
    trust
      .command('token')
      .description("create a one-time join token for `lxc remote add` (LXD's token format)")
      .argument('<name>', 'the client name the certificate will get')
      .option('--expires <duration>', 'token lifetime, e.g. 1h (default: until used)'),
  ).action(async (name: string, opts: GrantOpts & { expires?: string }, cmd: Command) => {
    const body = { type: 'client', name, token: true, expires_at: expiresAt(opts.expires), ...grantBody(opts) };
    const op = await clientOf(cmd).call<{ metadata: { token: string } }>('POST', '/1.0/certificates', body);
    process.stdout.write(`${op.metadata.token}\n`);
  });

  trust
    .command('password')
    .description('set the trust password (read from stdin when not given); --unset removes it')
    .argument('[password]', 'the new trust password')
    .option('--unset', 'remove the trust password')
    .action(async (password: string | undefined, opts: { unset?: boolean }, cmd: Command) => {
      let value = '';
      if (!opts.unset) {
        value = password ?? (await readStdin()).replace(/\r?\n$/, '');
        if (!value) throw new CliError('give a password (or --unset to remove it)');
      }
      await clientOf(cmd).call('PUT', '/1.0/auth/trust-password', { password: value });
      process.stderr.write(opts.unset ? 'Trust password removed\n' : 'Trust password set\n');
    });
}
