/**
 * @module herald's own log: records go to stderr and to any attached sink (such as the one that turns them into
 * `logging` events). A record written while a sink handles a record is not passed to sinks again (no feedback loop).
 */
import { SEVERITY, type SeverityName } from '../core/levels.js';

export type LogLevel = SeverityName;

export interface LogRecord {
  readonly level: LogLevel;
  readonly message: string;
  readonly context: Readonly<Record<string, string>>;
  readonly time: Date;
}

export type LogSink = (record: LogRecord) => void;

export interface LoggerOptions {
  /** most verbose level written to stderr */
  readonly level?: LogLevel;
  /** most verbose level passed to sinks (debug records are published only when enabled) */
  readonly sinkLevel?: LogLevel;
  readonly write?: (line: string) => void;
}

export class Logger {
  private readonly sinks = new Set<LogSink>();
  private inSink = false;
  level: LogLevel;
  sinkLevel: LogLevel;
  private readonly write: (line: string) => void;

  constructor(opts: LoggerOptions = {}) {
    this.level = opts.level ?? 'info';
    this.sinkLevel = opts.sinkLevel ?? 'info';
    this.write = opts.write ?? ((line) => process.stderr.write(line));
  }

  addSink(sink: LogSink): () => void {
    this.sinks.add(sink);
    return () => this.sinks.delete(sink);
  }

  log(level: LogLevel, message: string, context: Record<string, unknown> = {}): void {
    const ctx: Record<string, string> = {};
    for (const [k, v] of Object.entries(context)) if (v !== undefined) ctx[k] = String(v);
    const record: LogRecord = { level, message, context: ctx, time: new Date() };
    if (SEVERITY[level] >= SEVERITY[this.level]) {
      const kv = Object.entries(ctx)
        .map(([k, v]) => ` ${k}=${/\s|"/.test(v) ? JSON.stringify(v) : v}`)
        .join('');
      this.write(`${record.time.toISOString()} ${level.toUpperCase().padEnd(7)} ${message}${kv}\n`);
    }
    if (this.inSink || SEVERITY[level] < SEVERITY[this.sinkLevel]) return;
    this.inSink = true;
    try {
      for (const sink of this.sinks) sink(record);
    } finally {
      this.inSink = false;
    }
  }

  debug(message: string, context?: Record<string, unknown>): void {
    this.log('debug', message, context);
  }
  info(message: string, context?: Record<string, unknown>): void {
    this.log('info', message, context);
  }
  warn(message: string, context?: Record<string, unknown>): void {
    this.log('warning', message, context);
  }
  error(message: string, context?: Record<string, unknown>): void {
    this.log('error', message, context);
  }
}
