/** @module The `herald` command line: one program, one file per command group under commands/. */
import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.js';
import { CliError } from './client.js';
import { registerConfig } from './commands/config.js';
import { registerDemo } from './commands/demo.js';
import { registerEmit } from './commands/emit.js';
import { registerForwarder } from './commands/forwarder.js';
import { registerHistory } from './commands/history.js';
import { registerMaas } from './commands/maas.js';
import { registerMonitor } from './commands/monitor.js';
import { registerServe } from './commands/serve.js';
import { registerSource } from './commands/source.js';
import { registerToken } from './commands/token.js';
import { registerTrust } from './commands/trust.js';

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
  registerMonitor(program);
  registerDemo(program);
  registerConfig(program);
  registerForwarder(program);
  registerTrust(program);
  registerToken(program);
  registerMaas(program);
  registerSource(program);
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
