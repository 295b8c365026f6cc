import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyBaseLogger } from 'fastify';
import { ProxyError } from '../errors/proxy-error.js';
import { readBodyText } from './read-body.js';
import { isFallbackStatus, isRetryableError, isRetryableStatus, parseRetryAfter, retryDelay } from './retry-policy.js';
import { toAbortSignal, type AbortLike } from './request-abort.js';
import type { UpstreamClient, UpstreamResponse } from './upstream-client.js';

/** Non-2xx bodies are read whole to decide on a retry; larger ones are cut off. */
const MAX_ERROR_BODY_BYTES = 1024 * 1024;

export interface UpstreamTarget {
  client: UpstreamClient;
  model: string;
}

export interface SendResult {
  target: UpstreamTarget;
  response: UpstreamResponse;
  /** The body of a non-2xx answer, already read. */
  errorText: string | undefined;
  retries: number;
  /** 0 for the alias's own upstream, n for the n-th fallback. */
  fallbackIndex: number;
}

export interface SendOptions {
  targets: UpstreamTarget[];
  build: (target: UpstreamTarget) => { headers: Record<string, string | string[]>; body: string | Buffer };
  signal: AbortLike;
  log: FastifyBaseLogger;
}

/**
 * Returns the error for an aborted request: 504 when the total timeout
 * passed, else the abort's own reason (the client went away).
 */
function abortReason(signal: AbortLike, client: UpstreamClient): unknown {
  const reason: unknown = signal.reason;
  if (reason instanceof DOMException && reason.name === 'TimeoutError') return client.describeError(reason, 'while waiting');
  return reason ?? new Error('request aborted');
}

/** Waits before a retry; an abort during the wait ends the request like an abort during a call. */
async function pause(delayMs: number, signal: AbortLike, client: UpstreamClient): Promise<void> {
  try {
    await sleep(delayMs, undefined, { signal: toAbortSignal(signal) });
  } catch (error) {
    if (signal.aborted) throw abortReason(signal, client);
    throw error;
  }
}

async function readErrorText(response: UpstreamResponse): Promise<string> {
  try {
    return await readBodyText(response.body, MAX_ERROR_BODY_BYTES);
  } catch {
    return '';
  }
}

/**
 * Sends the request, retrying one upstream on connection failures, 429 and
 * 502/503/504, then moving to the alias's fallbacks in order. Nothing has
 * reached the client while this runs, so every retry is safe. Returns the
 * first 2xx answer, or the last failed answer for the caller to relay.
 */
export async function sendWithRetries(options: SendOptions): Promise<SendResult> {
  let retries = 0;
  let lastError: ProxyError | undefined;
  let lastResult: SendResult | undefined;

  for (const [fallbackIndex, target] of options.targets.entries()) {
    const { client } = target;
    const isLastTarget = fallbackIndex === options.targets.length - 1;
    const retry = client.retry;

    for (let attempt = 0; ; attempt += 1) {
      const request = options.build(target);
      let response: UpstreamResponse;
      try {
        response = await client.send({ ...request, signal: options.signal });
      } catch (error) {
        if (options.signal.aborted) throw abortReason(options.signal, client);
        const proxyError = error as ProxyError;
        lastError = proxyError;
        lastResult = undefined;
        const delay = attempt < retry.maxRetries && isRetryableError(proxyError.cause ?? error)
          ? retryDelay(attempt, retry, undefined)
          : undefined;
        if (delay === undefined) break;
        options.log.warn({ upstream: client.name, attempt: attempt + 1, delayMs: delay, code: proxyError.code }, 'upstream request failed; retrying');
        retries += 1;
        await pause(delay, options.signal, client);
        continue;
      }

      if (response.status >= 200 && response.status < 300) {
        return { target, response, errorText: undefined, retries, fallbackIndex };
      }

      const errorText = await readErrorText(response);
      lastResult = { target, response, errorText, retries, fallbackIndex };
      lastError = undefined;
      const delay =
        attempt < retry.maxRetries && isRetryableStatus(response.status, errorText)
          ? retryDelay(attempt, retry, parseRetryAfter(response.headers['retry-after']))
          : undefined;
      if (delay === undefined) {
        if (isLastTarget || !isFallbackStatus(response.status)) return lastResult;
        break;
      }
      options.log.warn({ upstream: client.name, attempt: attempt + 1, delayMs: delay, status: response.status }, 'upstream returned a retryable status; retrying');
      retries += 1;
      await pause(delay, options.signal, client);
    }

    if (!isLastTarget) {
      options.log.warn({ upstream: client.name, next: options.targets[fallbackIndex + 1]?.client.name }, 'upstream failed; trying the next fallback');
    }
  }

  if (lastResult !== undefined) return { ...lastResult, retries };
  throw lastError ?? new Error('no upstream target');
}
