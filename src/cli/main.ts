/** @module The `herald` command line: one program, one file per command group under commands/. */
import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.js';
import { CliError } from './client.js';
import { registerConfig } from './commands/config.js'; // issue 7
import { registerDemo } from './commands/demo.js';
import { registerEmit } from './commands/emit.js';
import { registerForwarder } from './commands/forwarder.js'; // issue 7
import { registerHistory } from './commands/history.js';
import { registerMaas } from './commands/maas.js';
import { registerMonitor } from './commands/monitor.js'; // live stream (issue 3)
import { registerServe } from './commands/serve.js';
import { registerSource } from './commands/source.js'; // LXD sources (issue 6)
import { registerToken } from './commands/token.js'; // security (issue 5)
import { registerTrust } from './commands/trust.js'; // security (issue 5)

export function buildProgram(): Command {
  const program = new Command('herald')
    .description('Event and audit service for infrastructure platforms (LXD- and MAAS-compatible)')
    .version(VERSION)
    .option('--data <dir>', 'data directory (default: $HERALD_DIR or ./herald-data)')
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(str) });
  registerServe(program);
  registerEmit(program);
  registerHistory(program);
  registerMonitor(program); // live stream (issue 3)
  registerDemo(program);
  registerConfig(program); // issue 7
  registerForwarder(program); // issue 7
  registerTrust(program); // security (issue 5)
  registerToken(program); // security (issue 5)
  registerMaas(program);
  registerSource(program); // LXD sources (issue 6)
  return program;
}

/** Run the CLI; resolves to the process exit code. Errors are one clear line on stderr. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv as string[]);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof CliError) {
      process.stderr.write(`Error: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`Error: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
