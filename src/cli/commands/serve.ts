/** @module `herald serve`: run the server on a data directory, optionally with demo traffic flowing. */
import type { Command } from 'commander';
import { parseDuration } from '../../core/time.js';
import { DemoGenerator } from '../../demo/generator.js';
import { startHerald } from '../../runtime/herald.js';
import { dataDir } from '../../runtime/paths.js';
import { Logger } from '../../service/log.js';
import { CliError } from '../client.js';
import { collect, dirOf, positiveInt } from './common.js';

interface ServeOpts {
  demo?: boolean;
  demoRate: string;
  retentionMaxAge?: string;
  retentionMaxCount?: number;
  location?: string;
  debug?: boolean;
  /** HTTPS listen addresses, and TLS 1.2 opt-in */
  listen: string[];
  tls12?: boolean;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the herald server')
    .option('--demo', 'publish realistic demo traffic while serving')
    .option('--demo-rate <n>', 'demo events per second', '20')
    .option('--retention-max-age <duration>', 'delete events older than this (e.g. 30d); default: keep forever')
    .option('--retention-max-count <n>', 'keep at most this many events', positiveInt('--retention-max-count'))
    .option('--location <name>', 'member name stamped on events (default: none, as a standalone LXD)')
    .option('--debug', 'log debug records too')
    .option('--listen <address>', 'also serve HTTPS on HOST:PORT (port 8443 if omitted; repeatable)', collect, [])
    .option('--tls12', 'accept TLS 1.2 on HTTPS too (default: TLS 1.3 only, as lxc requires)')
    .action(async (opts: ServeOpts, cmd: Command) => {
      const maxAgeMs = opts.retentionMaxAge === undefined ? undefined : parseDuration(opts.retentionMaxAge);
      if (opts.retentionMaxAge !== undefined && maxAgeMs === undefined) {
        throw new CliError(`--retention-max-age must be a duration like 30d, not "${opts.retentionMaxAge}"`);
      }
      const rate = Number(opts.demoRate);
      if (!Number.isFinite(rate) || rate <= 0) throw new CliError(`--demo-rate must be a positive number`);
      const dir = dirOf(cmd);
      const log = new Logger({ level: opts.debug ? 'debug' : 'info', sinkLevel: opts.debug ? 'debug' : 'info' });
      const herald = await startHerald({
        dataDir: dir,
        location: opts.location,
        retention: { maxAgeMs, maxCount: opts.retentionMaxCount },
        logger: log,
        https: opts.listen,
        allowTls12: opts.tls12,
        systemEvents: true,
        logEvents: true, // herald's own log records as logging events
      });
      log.info('herald started', {
        socket: herald.socketPath,
        store: herald.store.dialect,
        head: herald.store.headIdSync(),
        https: herald.httpsAddresses.join(',') || undefined,
        fingerprint: herald.serverCertificate?.fingerprint,
      });

      let demoTimer: NodeJS.Timeout | undefined;
      if (opts.demo) {
        const gen = new DemoGenerator();
        const perTick = rate / 10;
        let owed = 0;
        demoTimer = setInterval(() => {
          owed += perTick;
          const n = Math.floor(owed);
          if (n < 1) return;
          owed -= n;
          herald.publisher
            .publishRaw(gen.batch(n))
            .catch((err: Error) => log.error('demo publish failed', { err: err.message }));
        }, 100);
        log.info('demo traffic flowing', { rate });
      }
      // The hint names the directory only when a plain `npx herald ...` here would not find it.
      const dataFlag = dataDir() === dir ? '' : ` --data ${dir}`;
      process.stdout.write(
        [
          `herald is serving ${dir}`,
          `  watch live:     npx herald${dataFlag} monitor --pretty`,
          `  query history:  npx herald${dataFlag} history --limit 20`,
          `  audit trail:    npx herald${dataFlag} history --level audit`,
          `  raw API:        curl --unix-socket ${herald.socketPath} 'http://herald/1.0/events/history?limit=5'`,
          '',
        ].join('\n'),
      );

      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      if (demoTimer) clearInterval(demoTimer);
      log.info('herald stopping');
      await herald.close();
    });
}
