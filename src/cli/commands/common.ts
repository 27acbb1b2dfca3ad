/** @module Helpers every command shares: finding the data directory and the server, reading input. */
import type { Command } from 'commander';
import { dataDir } from '../../runtime/paths.js';
import { CliError, type Client, unixClient } from '../client.js';

export function dirOf(cmd: Command): string {
  return dataDir(cmd.optsWithGlobals().data as string | undefined);
}

export function clientOf(cmd: Command): Client {
  return unixClient(dirOf(cmd));
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new CliError(`${name} must be a non-negative integer, not "${value}"`);
    return n;
  };
}

export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
