import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { ProxyError } from '../errors/proxy-error.js';

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Returns the key a client presented: `Authorization: Bearer <key>`, or `x-api-key`. */
export function presentedKey(headers: IncomingHttpHeaders): string | undefined {
  const authorization = headers.authorization;
  if (typeof authorization === 'string') {
    const match = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    if (match?.[1] !== undefined) return match[1].trim();
  }
  const apiKey = headers['x-api-key'];
  return typeof apiKey === 'string' && apiKey !== '' ? apiKey : undefined;
}

/**
 * True when `key` equals one of `keys`. Both sides are hashed first so the
 * comparison takes the same time whatever the lengths, and every key is
 * compared, so the time does not tell which key came close.
 */
export function isValidKey(key: string, keys: readonly string[]): boolean {
  const presented = digest(key);
  let matched = false;
  for (const candidate of keys) {
    if (timingSafeEqual(presented, digest(candidate))) matched = true;
  }
  return matched;
}

/** Throws 401 unless the request carries one of the proxy keys. */
export function checkProxyKey(headers: IncomingHttpHeaders, keys: readonly string[]): void {
  const key = presentedKey(headers);
  if (key === undefined) {
    throw new ProxyError('Missing API key. Send "Authorization: Bearer <key>" with a key of this proxy.', {
      status: 401,
      type: 'invalid_request_error',
      code: 'missing_api_key',
    });
  }
  if (!isValidKey(key, keys)) {
    throw new ProxyError('Invalid API key. Use a key listed in the proxy\'s auth.apiKeys or MICROTUNE_API_KEYS.', {
      status: 401,
      type: 'invalid_request_error',
      code: 'invalid_api_key',
    });
  }
}

/** A short, non-reversible label for a key, usable as a rate-limit bucket. */
export function keyLabel(key: string): string {
  return digest(key).toString('hex').slice(0, 16);
}
