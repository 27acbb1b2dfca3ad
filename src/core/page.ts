/** @module Keyset page parameters (`after`, `before`, `limit`) shared by history and exports. */
import { QueryError } from './errors.js';

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;

export interface Page {
  readonly after?: number;
  readonly before?: number;
  readonly limit: number;
}

function int(params: URLSearchParams, key: string, min: number): number | undefined {
  const v = params.get(key);
  if (v === null) return undefined;
  if (!/^\d+$/.test(v)) throw new QueryError(key, `"${v}" is not a non-negative integer`);
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new QueryError(key, `must be an integer of at least ${min}`);
  return n;
}

export function parsePage(params: URLSearchParams): Page {
  const after = int(params, 'after', 0);
  const before = int(params, 'before', 0);
  if (after !== undefined && before !== undefined) throw new QueryError('after', 'cannot be combined with before');
  const limit = int(params, 'limit', 1) ?? DEFAULT_LIMIT;
  if (limit > MAX_LIMIT) throw new QueryError('limit', `must be at most ${MAX_LIMIT}`);
  return { after, before, limit };
}
