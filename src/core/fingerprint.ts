/** @module Certificate fingerprints as LXD writes them: lower-case hex SHA-256 of the certificate's DER. */
import { createHash, X509Certificate } from 'node:crypto';

export function certificateFingerprint(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex');
}

export function pemFingerprint(pem: string): string {
  return certificateFingerprint(new X509Certificate(pem).raw);
}
