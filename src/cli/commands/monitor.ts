/** @module `herald monitor`: print live events as `lxc monitor` does, reconnecting and resuming after the last one. */

import type { Command } from 'commander';
import WebSocket from 'ws';
import type { LogrusLevel } from '../../core/levels.js';
import { paths } from '../../runtime/paths.js';
import { CLOSE_CODES } from '../../service/hub.js';
import { CliError, unixClient } from '../client.js';
import {
  formatEvent,
  MONITOR_FORMATS,
  type MonitorFormat,
  parseLogrusLevel,
  type WireEvent,
} from '../monitor-format.js';
import { collect, dirOf } from './common.js';

interface MonitorOpts {
  type: string[];
  project?: string;
  allProjects?: boolean;
  format: string;
  pretty?: boolean;
  loglevel?: string;
  since?: string;
  level?: string;
  location: string[];
}

export interface MonitorSettings {
  readonly dir: string;
  readonly format: MonitorFormat;
  readonly logLevel?: LogrusLevel;
  /** the query without `since` */
  readonly query: URLSearchParams;
  readonly since?: string;
  readonly tty: boolean;
  readonly out: (text: string) => boolean;
  readonly err: (text: string) => void;
  /** longest pause between reconnection attempts */
  readonly maxBackoffMs?: number;
}

/** Check the flags the way lxc does and build the server query (type/project are LXD's; the rest are herald's). */
export function monitorSettings(o: MonitorOpts, dir: string): Omit<MonitorSettings, 'tty' | 'out' | 'err'> {
  const format = (o.pretty ? 'pretty' : o.format) as MonitorFormat;
  if (!MONITOR_FORMATS.includes(format)) throw new CliError(`Invalid format: ${o.format}`);
  let logLevel: LogrusLevel | undefined;
  if (o.loglevel !== undefined) {
    if (format !== 'pretty') throw new CliError('Log level filtering can only be used with pretty formatting');
    logLevel = parseLogrusLevel(o.loglevel);
    if (!logLevel) throw new CliError(`not a valid logrus Level: "${o.loglevel}"`);
  }
  if (o.project && o.allProjects) throw new CliError('Cannot specify a project when requesting all projects');
  const query = new URLSearchParams();
  for (const t of o.type) query.append('type', t);
  if (o.project) query.set('project', o.project);
  if (o.allProjects) query.set('all-projects', 'true');
  if (o.level !== undefined) query.set('level', o.level);
  for (const l of o.location) query.append('location', l);
  return { dir, format, logLevel, query, since: o.since };
}

type Outcome =
  | { kind: 'closed'; opened: boolean; code: number; reason: string; error?: NodeJS.ErrnoException }
  | { kind: 'rejected'; status: number; message: string };

function sleep(ms: number, wake: { fn?: () => void }): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    wake.fn = () => {
      clearTimeout(t);
      resolve();
    };
  });
}

/**
 * Run until stopped (resolves) or until something that retrying cannot fix (throws CliError): an unreachable server at
 * the start, a request the server refuses, a resume point lost to retention.
 */
export async function runMonitor(s: MonitorSettings, signal: { stopped: boolean; onStop?: () => void }): Promise<void> {
  const socketPath = paths(s.dir).unixSocket;
  let cursor = s.since;
  if (cursor === undefined) {
    // Start from the current head so that even a reconnect before the first event loses nothing.
    const page = await unixClient(s.dir).call<{ events: Array<{ id: number }> }>(
      'GET',
      '/1.0/events/history?limit=1&all-projects=true',
    );
    cursor = String(page.events[0]?.id ?? 0);
  }
  let lastId: number | undefined;
  let everConnected = false;
  let attempt = 0;
  let current: WebSocket | undefined;
  const wake: { fn?: () => void } = {};
  signal.onStop = () => {
    current?.terminate();
    wake.fn?.();
  };

  const connect = (since: string): Promise<Outcome> =>
    new Promise((resolve) => {
      const q = new URLSearchParams(s.query);
      q.set('since', since);
      const ws = new WebSocket(`ws+unix:${socketPath}:/1.0/events?${q.toString()}`, {
        perMessageDeflate: false,
        handshakeTimeout: 5000,
      });
      current = ws;
      let opened = false;
      let paused = false;
      let error: NodeJS.ErrnoException | undefined;
      let done = false;
      const finish = (o: Outcome) => {
        if (done) return;
        done = true;
        resolve(o);
      };
      ws.on('open', () => {
        opened = true;
        everConnected = true;
        attempt = 0;
      });
      ws.on('message', (data: Buffer) => {
        let e: WireEvent;
        try {
          e = JSON.parse(data.toString('utf8')) as WireEvent;
        } catch {
          return; // lxc drops frames it cannot decode
        }
        if (typeof e?.type !== 'string' || e.type === '') return;
        if (typeof e.id === 'number') {
          if (lastId !== undefined && e.id <= lastId) return;
          lastId = e.id;
          cursor = String(e.id);
        }
        let text: string;
        try {
          text = formatEvent(e, { format: s.format, tty: s.tty, logLevel: s.logLevel });
        } catch (err) {
          ws.terminate();
          finish({ kind: 'rejected', status: 0, message: (err as Error).message });
          return;
        }
        // A terminal or pipe that cannot keep up pauses reading; the server then holds (or drops) us, not our memory.
        if (text !== '' && !s.out(text) && !paused) {
          paused = true;
          ws.pause();
          process.stdout.once('drain', () => {
            paused = false;
            ws.resume();
          });
        }
      });
      ws.on('unexpected-response', (req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => {
          body += c.toString();
        });
        res.on('end', () => {
          let message = `HTTP ${res.statusCode}`;
          try {
            message = (JSON.parse(body) as { error?: string }).error || message;
          } catch {
            if (body.trim()) message = body.trim();
          }
          req.destroy();
          finish({ kind: 'rejected', status: res.statusCode ?? 0, message });
        });
      });
      ws.on('error', (err: NodeJS.ErrnoException) => {
        error = err;
      });
      ws.on('close', (code: number, reason: Buffer) => {
        finish({ kind: 'closed', opened, code, reason: reason.toString(), error });
      });
    });

  while (!signal.stopped) {
    const o = await connect(cursor);
    current = undefined;
    if (signal.stopped) return;
    if (o.kind === 'rejected') throw new CliError(o.message);
    if (o.code === CLOSE_CODES.GONE) throw new CliError(o.reason);
    if (!o.opened && !everConnected) {
      const why = o.error?.code === 'ENOENT' || o.error?.code === 'ECONNREFUSED' ? '' : `: ${o.error?.message}`;
      throw new CliError(
        `cannot reach herald at ${socketPath}${why || ' (is `herald serve` running? set --data or HERALD_DIR)'}`,
      );
    }
    let delay: number;
    if (o.code === CLOSE_CODES.SLOW_CONSUMER) delay = 0;
    else {
      const cap = s.maxBackoffMs ?? 5000;
      delay = Math.min(cap, 100 * 2 ** attempt) * (0.5 + Math.random() / 2);
      attempt++;
    }
    if (o.opened) {
      const why = o.reason || (o.error ? o.error.message : `code ${o.code}`);
      s.err(`herald monitor: connection lost (${why}); resuming after id ${cursor}\n`);
    }
    await sleep(delay, wake);
  }
}

export function registerMonitor(program: Command): void {
  program
    .command('monitor')
    .description('print live events as `lxc monitor` does; reconnects and resumes after the last event printed')
    .option(
      '-t, --type <type>',
      'event type (repeatable): logging, operation, lifecycle, ovn, security, maas',
      collect,
      [],
    )
    .option('-p, --project <name>', "a project's events (and events of no project); default: default")
    .option('--all-projects', 'events of every project')
    .option('-f, --format <format>', `output format: ${MONITOR_FORMATS.join(', ')}`, 'yaml')
    .option('--pretty', 'same as --format=pretty')
    .option('--loglevel <level>', 'pretty only: hide records more verbose than this logrus level')
    .option('--since <point>', 'first replay stored events after this id, or since this time (RFC3339, or 15m ago)')
    .option('--level <level>', 'server-side minimum level (debug, info, warning, error, critical) or audit')
    .option('--location <member>', 'only events from this cluster member (repeatable)', collect, [])
    .action(async (opts: MonitorOpts, cmd: Command) => {
      const settings = monitorSettings(opts, dirOf(cmd));
      const signal: { stopped: boolean; onStop?: () => void } = { stopped: false };
      const stop = () => {
        signal.stopped = true;
        signal.onStop?.();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        await runMonitor(
          {
            ...settings,
            tty: process.stdout.isTTY === true,
            out: (text) => process.stdout.write(text),
            err: (text) => {
              process.stderr.write(text);
            },
          },
          signal,
        );
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });
}
