/** @module Request bodies: the content-type check and strict UTF-8 decoding that precede JSON parsing. */
import { isUtf8 } from 'node:buffer';
import { BadJsonError, HeraldError } from '../core/errors.js';

/** The text of a JSON request body: refused unless its content type is JSON (or absent) and it is valid UTF-8. */
export function jsonBodyText(body: unknown, contentType: string | undefined): string {
  if (contentType && !/^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(contentType)) {
    throw new HeraldError(
      'HERALD_ERR_UNSUPPORTED_MEDIA',
      `Content-Type must be application/json, not "${contentType}"`,
    );
  }
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : '');
  if (buf.length === 0) throw new BadJsonError('body is empty');
  if (!isUtf8(buf)) throw new BadJsonError('body is not valid UTF-8');
  // A byte-order mark is allowed before JSON text (RFC 8259 §8.1 lets parsers ignore it) and is not part of it.
  const bom = buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
  return buf.toString('utf8', bom);
}
