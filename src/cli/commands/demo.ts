/** @module `herald demo`: send realistic demo traffic to a running server. */
import type { Command } from 'commander';
import { parseDuration } from '../../core/time.js';
import { DemoGenerator } from '../../demo/generator.js';
import { CliError } from '../client.js';
import { clientOf } from './common.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('publish a realistic mix of LXD and MAAS events to a running server')
    .option('-r, --rate <n>', 'events per second', '20')
    .option('-d, --duration <duration>', 'stop after this long (e.g. 30s, 5m); default: until interrupted')
    .option('--seed <n>', 'random seed for reproducible traffic')
    .action(async (opts: { rate: string; duration?: string; seed?: string }, cmd: Command) => {
      const rate = Number(opts.rate);
      if (!Number.isFinite(rate) || rate <= 0)
        throw new CliError(`--rate must be a positive number, not "${opts.rate}"`);
      const durationMs = opts.duration === undefined ? Number.POSITIVE_INFINITY : parseDuration(opts.duration);
      if (durationMs === undefined)
        throw new CliError(`--duration must be a duration like 30s or 5m, not "${opts.duration}"`);
      const client = clientOf(cmd);
      const gen = new DemoGenerator(opts.seed === undefined ? Date.now() : Number(opts.seed));
      const started = Date.now();
      let sent = 0;
      let stop = false;
      process.once('SIGINT', () => {
        stop = true;
      });
      while (!stop && Date.now() - started < durationMs) {
        const due = Math.floor(((Date.now() - started) / 1000) * rate) + 1 - sent;
        if (due > 0) {
          const events = gen.batch(Math.min(due, 5000));
          await client.call('POST', '/1.0/events', events);
          sent += events.length;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      process.stderr.write(`sent ${sent} events\n`);
    });
}
