/** @module LXD's response envelope (`type`, `status`, `status_code`, ...), shared by every JSON route. */
import type { FastifyReply } from 'fastify';
import { ERROR_CODES, type HeraldError } from '../core/errors.js';

export function syncBody(metadata: unknown): Record<string, unknown> {
  return { type: 'sync', status: 'Success', status_code: 200, operation: '', error_code: 0, error: '', metadata };
}

export function errorBody(status: number, message: string, metadata: unknown = null): Record<string, unknown> {
  return { type: 'error', status: '', status_code: 0, operation: '', error_code: status, error: message, metadata };
}

/** A sync response whose metadata is already-encoded JSON (events are encoded once, at publish time). */
export function sendSyncRaw(reply: FastifyReply, metadataJson: string): FastifyReply {
  return reply
    .type('application/json')
    .send(
      `{"type":"sync","status":"Success","status_code":200,"operation":"","error_code":0,"error":"","metadata":${metadataJson}}`,
    );
}

export function sendError(reply: FastifyReply, err: HeraldError): FastifyReply {
  return reply
    .code(err.status)
    .type('application/json')
    .send(errorBody(err.status, err.message, { code: err.code, ...(err.details ?? {}) }));
}

/** The codes table as served at GET /1.0/errors, so clients can rely on codes rather than on message text. */
export function errorTable(): Array<{ code: string; status: number; summary: string }> {
  return Object.entries(ERROR_CODES).map(([code, v]) => ({ code, status: v.status, summary: v.summary }));
}
