/** @module `herald token`: bearer tokens (create, list, revoke); a token is printed once and only its hash is kept. */
import type { Command } from 'commander';
import { clientOf } from './common.js';
import { expiresAt, type GrantOpts, grantBody, printList, withGrantOptions } from './trust.js';

interface TokenView {
  id: string;
  name: string;
  status: string;
  created_at: string;
  expires_at: string | null;
  restricted: boolean;
  projects: string[];
  entitlements: string[];
  server_entitlements: string[];
  token?: string;
}

export function registerToken(program: Command): void {
  const token = program.command('token').description('manage bearer tokens for the HTTPS API');

  withGrantOptions(
    token
      .command('create')
      .description('create a bearer token and print it (it is shown only this once)')
      .argument('<name>', 'what the token is for')
      .option('--expires <duration>', 'lifetime, e.g. 30d, or an RFC3339 time (default: never)'),
  ).action(async (name: string, opts: GrantOpts & { expires?: string }, cmd: Command) => {
    const body = { name, expires_at: expiresAt(opts.expires) ?? null, ...grantBody(opts) };
    const t = await clientOf(cmd).call<TokenView>('POST', '/1.0/auth/tokens', body);
    // The secret alone on stdout (for scripts); what it is on stderr.
    process.stderr.write(`Token ${t.id} (${t.name}) created${t.expires_at ? `, expires ${t.expires_at}` : ''}\n`);
    process.stdout.write(`${t.token}\n`);
  });

  token
    .command('list')
    .description('list bearer tokens (never their secrets)')
    .option('-f, --format <format>', 'table, json or yaml', 'table')
    .action(async (opts: { format?: string }, cmd: Command) => {
      const tokens = await clientOf(cmd).call<TokenView[]>('GET', '/1.0/auth/tokens');
      printList(tokens, opts.format, () => [
        ['ID', 'NAME', 'STATUS', 'EXPIRES', 'PROJECTS'],
        ...tokens.map((t) => [
          t.id,
          t.name,
          t.status,
          t.expires_at ?? 'never',
          t.restricted ? t.projects.join(',') || '-' : '(admin)',
        ]),
      ]);
    });

  token
    .command('revoke')
    .description('revoke a bearer token')
    .argument('<id>', 'token id (or its name when unique)')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const t = await clientOf(cmd).call<TokenView>('DELETE', `/1.0/auth/tokens/${encodeURIComponent(id)}`);
      process.stderr.write(`Token ${t.id} (${t.name}) revoked\n`);
    });
}
