/** @module `herald source`: attach herald to LXD servers whose events it keeps (add, list, show, remove). */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import type { SourceStatus } from '../../sources/lxd/source.js';
import { CliError } from '../client.js';
import { clientOf } from './common.js';
import { printList } from './trust.js';

interface AddOpts {
  cert?: string;
  key?: string;
  serverCert?: string;
  acceptCertificate?: boolean;
  password?: string;
}

async function readPem(file: string | undefined, what: string): Promise<string | undefined> {
  if (file === undefined) return undefined;
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${what} ${file}: ${(err as Error).message}`);
  }
}

/** "3s ago" style ages keep the table narrow; the exact times are in `-f json|yaml` and `source show`. */
function age(iso: string | null, now = Date.now()): string {
  if (!iso) return '-';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}

function describeStatus(s: SourceStatus): string {
  if (s.connected) {
    const server = s.server ? ` (${[s.server.name, s.server.version].filter(Boolean).join(' ')})` : '';
    return `Source ${s.name} added: receiving events from ${s.url}${server}\n`;
  }
  const trustHint =
    s.client_fingerprint && /does not trust/.test(s.last_error ?? '')
      ? `\n  trust herald on the LXD server:\n    herald source show ${s.name} --certificate > herald.crt && lxc config trust add herald.crt\n`
      : '\n';
  return `Source ${s.name} added, not connected yet (herald keeps retrying): ${s.last_error ?? s.status}${trustHint}`;
}

export function registerSource(program: Command): void {
  const source = program.command('source').description('LXD servers whose events herald keeps (history LXD lacks)');

  source
    .command('add')
    .description('attach herald to an LXD server: its unix socket, or HTTPS with a client certificate it trusts')
    .argument('<type>', 'source type: lxd')
    .argument('<name>', 'a name for the source (it appears in its logging events)')
    .argument('<url>', 'unix:///var/lib/lxd/unix.socket, or https://HOST[:PORT] (port 8443 if omitted)')
    .option('--cert <file>', 'client certificate (PEM) the LXD server trusts (HTTPS; default: herald makes one)')
    .option('--key <file>', 'its private key (PEM)')
    .option('--server-cert <file>', "the LXD server's certificate (PEM) to pin (HTTPS)")
    .option('--accept-certificate', "pin the certificate the server presents now, as lxc's flag of the same name")
    .option('--password <secret>', "LXD's trust password or a join token: herald joins the server's trust store")
    .action(async (type: string, name: string, url: string, opts: AddOpts, cmd: Command) => {
      if (type !== 'lxd') throw new CliError(`source type "${type}" is not supported (supported: lxd)`);
      if ((opts.cert === undefined) !== (opts.key === undefined)) {
        throw new CliError('give both --cert and --key, or neither');
      }
      const body = {
        name,
        type,
        url,
        certificate: await readPem(opts.cert, 'certificate'),
        key: await readPem(opts.key, 'key'),
        server_certificate: await readPem(opts.serverCert, 'server certificate'),
        accept_certificate: opts.acceptCertificate,
        password: opts.password,
      };
      const status = await clientOf(cmd).call<SourceStatus>('POST', '/1.0/sources', body);
      process.stderr.write(describeStatus(status));
    });

  source
    .command('list')
    .description('list sources: connection, last event, events stored, last error')
    .option('-f, --format <format>', 'table, json or yaml', 'table')
    .action(async (opts: { format?: string }, cmd: Command) => {
      const all = await clientOf(cmd).call<SourceStatus[]>('GET', '/1.0/sources?recursion=1');
      printList(all, opts.format, () => [
        ['NAME', 'TYPE', 'URL', 'STATUS', 'LAST EVENT', 'STORED', 'LAST ERROR'],
        ...all.map((s) => [
          s.name,
          s.type,
          s.url,
          s.status,
          age(s.last_event_at),
          String(s.events_stored),
          s.last_error ? `${s.last_error} (${age(s.last_error_at)})` : '-',
        ]),
      ]);
    });

  source
    .command('show')
    .description("one source's status (YAML); --certificate prints herald's client certificate for it instead")
    .argument('<name>', 'the source')
    .option('--certificate', "print herald's client certificate (PEM), for `lxc config trust add`")
    .action(async (name: string, opts: { certificate?: boolean }, cmd: Command) => {
      const s = await clientOf(cmd).call<SourceStatus & { certificate?: string }>(
        'GET',
        `/1.0/sources/${encodeURIComponent(name)}`,
      );
      if (opts.certificate) {
        if (!s.certificate) throw new CliError(`source ${name} uses no client certificate (unix socket)`);
        process.stdout.write(s.certificate);
        return;
      }
      const { certificate: _omit, ...rest } = s;
      process.stdout.write(stringify(rest));
    });

  source
    .command('remove')
    .description('detach a source: its events stop being received (recorded as a logging event)')
    .argument('<name>', 'the source')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      await clientOf(cmd).call('DELETE', `/1.0/sources/${encodeURIComponent(name)}`);
    });
}
