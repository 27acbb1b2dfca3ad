/** @module One severity scale for every event type, so `level` filters compare logging, ovn, security and MAAS alike. */

/** Severity numbers deliberately equal MAAS's level numbers (DEBUG 10 ... CRITICAL 50). */
export const SEVERITY = { debug: 10, info: 20, warning: 30, error: 40, critical: 50 } as const;
export type SeverityName = keyof typeof SEVERITY;

/** logrus level names LXD emits in logging/ovn events (`trace` is accepted on input though LXD never sends it). */
export const LOGRUS_LEVELS = ['panic', 'fatal', 'error', 'warning', 'info', 'debug', 'trace'] as const;
export type LogrusLevel = (typeof LOGRUS_LEVELS)[number];

const LOGRUS_SEVERITY: Record<LogrusLevel, number> = {
  panic: 50,
  fatal: 50,
  error: 40,
  warning: 30,
  info: 20,
  debug: 10,
  trace: 10,
};

export function logrusSeverity(level: LogrusLevel): number {
  return LOGRUS_SEVERITY[level];
}

/**
 * Parse a `level` filter value. Accepts the names of every vocabulary, case-insensitively: logrus (`warn`, `fatal`,
 * `panic`), MAAS (`WARNING`, `CRITICAL`) and `audit`, which selects the audit trail instead of a minimum.
 */
export function parseLevelFilter(value: string): { audit: true } | { min: number } | undefined {
  const v = value.toLowerCase();
  if (v === 'audit') return { audit: true };
  switch (v) {
    case 'trace':
    case 'debug':
    case 'dbug':
      return { min: 10 };
    case 'info':
      return { min: 20 };
    case 'warn':
    case 'warning':
      return { min: 30 };
    case 'error':
    case 'eror':
      return { min: 40 };
    case 'critical':
    case 'crit':
    case 'fatal':
    case 'panic':
      return { min: 50 };
    default:
      return undefined;
  }
}
