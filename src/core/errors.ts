/** @module Error codes as the contract: every HERALD_ERR_* with its HTTP status, and one error class per failure. */

export const ERROR_CODES = {
  HERALD_ERR_BAD_JSON: { status: 400, summary: 'request body is not valid JSON' },
  HERALD_ERR_VALIDATION: { status: 400, summary: 'event failed validation' },
  HERALD_ERR_BAD_QUERY: { status: 400, summary: 'query parameter is invalid' },
  HERALD_ERR_BAD_REQUEST: { status: 400, summary: 'request is malformed' },
  HERALD_ERR_UNAUTHORIZED: { status: 401, summary: 'authentication required' },
  HERALD_ERR_FORBIDDEN: { status: 403, summary: 'not allowed' },
  HERALD_ERR_NOT_FOUND: { status: 404, summary: 'not found' },
  HERALD_ERR_METHOD: { status: 405, summary: 'method not allowed' },
  HERALD_ERR_GONE: { status: 410, summary: 'requested point is older than retention' },
  HERALD_ERR_TOO_LARGE: { status: 413, summary: 'request body too large' },
  HERALD_ERR_UNSUPPORTED_MEDIA: { status: 415, summary: 'unsupported content type' },
  HERALD_ERR_RATE_LIMITED: { status: 429, summary: 'too many requests' },
  HERALD_ERR_INTERNAL: { status: 500, summary: 'internal error' },
  HERALD_ERR_UNAVAILABLE: { status: 503, summary: 'server is not available' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** One problem in one event of a publish: which event, which field, why. */
export interface FieldIssue {
  readonly index: number;
  readonly field: string;
  readonly reason: string;
}

export class HeraldError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.details = details;
  }
}

export class BadJsonError extends HeraldError {
  constructor(reason: string) {
    super('HERALD_ERR_BAD_JSON', `Request body is not valid JSON: ${reason}`);
  }
}

export class ValidationError extends HeraldError {
  readonly issues: readonly FieldIssue[];
  constructor(issues: readonly FieldIssue[]) {
    const first = issues[0];
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
    super(
      'HERALD_ERR_VALIDATION',
      first ? `event ${first.index}: ${first.field}: ${first.reason}${more}` : 'invalid event',
      { errors: issues },
    );
    this.issues = issues;
  }
}

export class QueryError extends HeraldError {
  readonly field: string;
  /** `verbatim` keeps a message that LXD clients know word for word (no `field: ` prefix). */
  constructor(field: string, reason: string, opts: { verbatim?: boolean } = {}) {
    super('HERALD_ERR_BAD_QUERY', opts.verbatim ? reason : `${field}: ${reason}`, { field, reason });
    this.field = field;
  }
}

export class NotFoundError extends HeraldError {
  constructor(what: string) {
    super('HERALD_ERR_NOT_FOUND', `${what} not found`);
  }
}

export class ForbiddenError extends HeraldError {
  constructor(message = 'Forbidden') {
    super('HERALD_ERR_FORBIDDEN', message);
  }
}

export class TooLargeError extends HeraldError {
  constructor(message: string) {
    super('HERALD_ERR_TOO_LARGE', message);
  }
}

export class UnavailableError extends HeraldError {
  constructor(message: string) {
    super('HERALD_ERR_UNAVAILABLE', message);
  }
}

export function toHeraldError(err: unknown): HeraldError {
  if (err instanceof HeraldError) return err;
  return new HeraldError('HERALD_ERR_INTERNAL', err instanceof Error ? err.message : String(err));
}
