/** @module `herald config set|unset|get|show`: the server configuration, as `lxc config` manages LXD's. */
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { CliError } from '../client.js';
import { clientOf } from './common.js';

interface ServerInfo {
  config?: Record<string, string>;
}

/** `KEY VALUE`, or one or more `KEY=VALUE` (as `lxc config set` takes both). */
export function parseSetArgs(args: readonly string[]): Record<string, string> {
  if (args.length === 2 && !(args[0] as string).includes('=')) return { [args[0] as string]: args[1] as string };
  const out: Record<string, string> = {};
  for (const a of args) {
    const i = a.indexOf('=');
    if (i <= 0) throw new CliError(`Invalid argument "${a}": expected KEY VALUE or KEY=VALUE`);
    out[a.slice(0, i)] = a.slice(i + 1);
  }
  if (Object.keys(out).length === 0) throw new CliError('Missing key and value');
  return out;
}

export function registerConfig(program: Command): void {
  const config = program.command('config').description('manage the server configuration (loki.* and more)');

  config
    .command('set')
    .description('set configuration keys: KEY VALUE, or KEY=VALUE...')
    .argument('<args...>', 'KEY VALUE or KEY=VALUE pairs')
    .action(async (args: string[], _opts: unknown, cmd: Command) => {
      await clientOf(cmd).call('PATCH', '/1.0', { config: parseSetArgs(args) });
    });

  config
    .command('unset')
    .description('unset a configuration key (its default applies again)')
    .argument('<key>')
    .action(async (key: string, _opts: unknown, cmd: Command) => {
      await clientOf(cmd).call('PATCH', '/1.0', { config: { [key]: '' } });
    });

  config
    .command('get')
    .description('print the value of a configuration key (empty when unset)')
    .argument('<key>')
    .action(async (key: string, _opts: unknown, cmd: Command) => {
      const info = await clientOf(cmd).call<ServerInfo>('GET', '/1.0');
      process.stdout.write(`${info.config?.[key] ?? ''}\n`);
    });

  config
    .command('show')
    .description('print the server configuration as YAML')
    .action(async (_opts: unknown, cmd: Command) => {
      const info = await clientOf(cmd).call<ServerInfo>('GET', '/1.0');
      process.stdout.write(stringify({ config: info.config ?? {} }));
    });
}
