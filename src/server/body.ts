/** @module Request bodies: content-type checks and JSON parsing that refuses prototype-polluting keys. */
import sjson from 'secure-json-parse';
import { BadJsonError, HeraldError } from '../core/errors.js';

export function parseJsonBody(body: unknown, contentType: string | undefined): unknown {
  if (contentType && !/^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(contentType)) {
    throw new HeraldError(
      'HERALD_ERR_UNSUPPORTED_MEDIA',
      `Content-Type must be application/json, not "${contentType}"`,
    );
  }
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : '');
  if (buf.length === 0) throw new BadJsonError('body is empty');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    throw new BadJsonError('body is not valid UTF-8');
  }
  try {
    return sjson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (err) {
    throw new BadJsonError(err instanceof RangeError ? 'nested too deeply' : (err as Error).message);
  }
}
