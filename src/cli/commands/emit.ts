/** @module `herald emit`: publish events given as JSON (argument, file or stdin) and print their ids. */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { CliError } from '../client.js';
import { clientOf, readStdin } from './common.js';

export function registerEmit(program: Command): void {
  program
    .command('emit')
    .description('publish one event or an array of events (JSON) and print the assigned ids')
    .argument('[json]', "the event(s) as JSON; '-' or nothing reads stdin")
    .option('-f, --file <path>', 'read the event(s) from a file')
    .action(async (json: string | undefined, opts: { file?: string }, cmd: Command) => {
      let body: string;
      if (opts.file) {
        try {
          body = await readFile(opts.file, 'utf8');
        } catch (err) {
          throw new CliError(`cannot read ${opts.file}: ${(err as Error).message}`);
        }
      } else if (json !== undefined && json !== '-') body = json;
      else body = await readStdin();
      // JSON Lines are accepted too: several events, one per line.
      const trimmed = body.trim();
      if (!trimmed.startsWith('[') && trimmed.includes('\n')) {
        const lines = trimmed.split('\n').filter((l) => l.trim() !== '');
        if (lines.length > 1) body = `[${lines.join(',')}]`;
      }
      const res = await clientOf(cmd).call<{ ids: number[] }>('POST', '/1.0/events', body);
      process.stdout.write(res.ids.map((id) => `${id}\n`).join(''));
    });
}
