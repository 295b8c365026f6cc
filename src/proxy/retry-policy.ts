import type { RetryConfig } from '../config/schema.js';

/** Statuses worth another attempt at the same upstream. */
const RETRYABLE_STATUSES = new Set([429, 502, 503, 504]);

/** Socket and undici error codes that mean the request never got an answer. */
const RETRYABLE_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/** True when an upstream's error body reports that its quota is spent, which no retry can fix. */
export function isQuotaExhausted(body: string): boolean {
  try {
    const parsed = JSON.parse(body) as { error?: { code?: unknown; type?: unknown } };
    return parsed.error?.code === 'insufficient_quota' || parsed.error?.type === 'insufficient_quota';
  } catch {
    return false;
  }
}

export function isRetryableStatus(status: number, body: string): boolean {
  if (!RETRYABLE_STATUSES.has(status)) return false;
  return !(status === 429 && isQuotaExhausted(body));
}

/** Failures after which the next fallback is tried: retryable ones plus 500 and spent quota. */
export function isFallbackStatus(status: number): boolean {
  return status === 500 || RETRYABLE_STATUSES.has(status);
}

export function isRetryableError(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current !== undefined && current !== null; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && RETRYABLE_ERROR_CODES.has(code)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * Parses Retry-After (RFC 9110 section 10.2.3): delay seconds or an HTTP date.
 * Returns milliseconds, or undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text.trim() === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text.trim())) return Math.round(Number(text.trim()) * 1000);
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * Delay before retry number `retry` (0-based): exponential backoff with full
 * jitter, or the upstream's Retry-After when it gave one. Returns undefined
 * when Retry-After requests a longer wait than the cap, so the caller stops retrying
 * and relays the answer instead of holding the client.
 */
export function retryDelay(
  retry: number,
  config: RetryConfig,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): number | undefined {
  if (retryAfterMs !== undefined) {
    return retryAfterMs > config.maxRetryAfterMs ? undefined : retryAfterMs;
  }
  const ceiling = Math.min(config.maxDelayMs, config.baseDelayMs * 2 ** retry);
  return Math.round(ceiling * (0.5 + random() / 2));
}
