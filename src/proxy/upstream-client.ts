import type { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { Agent, errors as undiciErrors, request } from 'undici';
import type { RetryConfig, UpstreamConfig } from '../config/schema.js';
import { ProxyError, upstreamTimeout, upstreamUnreachable } from '../errors/proxy-error.js';

/**
 * Default timeouts. The first-byte default is ten minutes because a reasoning
 * model answering without streaming sends no header until it has finished,
 * which can take well over undici's own 300-second headers timeout.
 */
export const DEFAULT_TIMEOUTS = {
  connectMs: 10_000,
  firstByteMs: 600_000,
  idleMs: 300_000,
  totalMs: 0,
} as const;

export interface UpstreamTimeouts {
  connectMs: number;
  firstByteMs: number;
  idleMs: number;
  /** 0 means no total limit. */
  totalMs: number;
}

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The decoded body (gzip, deflate and br are undone here). */
  body: Readable;
}

export function resolveTimeouts(config: UpstreamConfig): UpstreamTimeouts {
  return { ...DEFAULT_TIMEOUTS, ...config.timeouts };
}

/** One keep-alive connection pool per upstream, with that upstream's timeouts. */
export class UpstreamClient {
  readonly name: string;
  readonly url: string;
  readonly timeouts: UpstreamTimeouts;
  readonly apiKey: string | undefined;
  readonly retry: RetryConfig;
  private readonly agent: Agent;

  constructor(name: string, config: UpstreamConfig) {
    this.name = name;
    this.url = `${config.baseUrl.replace(/\/+$/, '')}/chat/completions`;
    this.timeouts = resolveTimeouts(config);
    this.apiKey = config.apiKey !== undefined && config.apiKey !== '' ? config.apiKey : undefined;
    this.retry = config.retry;
    this.agent = new Agent({
      connect: { timeout: this.timeouts.connectMs },
      headersTimeout: this.timeouts.firstByteMs,
      bodyTimeout: this.timeouts.idleMs,
      keepAliveTimeout: 30_000,
      // No cap: with HTTP/1.1 every open stream uses its own upstream connection, and a cap
      // would queue the requests above it until a whole stream ends.
      connections: null,
      pipelining: 1,
    });
  }

  async send(options: {
    headers: Record<string, string | string[]>;
    body: string;
    signal: AbortSignal;
  }): Promise<UpstreamResponse> {
    try {
      const response = await request(this.url, {
        method: 'POST',
        headers: options.headers,
        body: options.body,
        signal: options.signal,
        dispatcher: this.agent,
      });
      return {
        status: response.statusCode,
        headers: response.headers,
        body: decodeBody(response.body, response.headers['content-encoding']),
      };
    } catch (error) {
      throw this.describeError(error, 'before the response headers arrived');
    }
  }

  /** Maps an undici or socket error to a ProxyError with the right status. */
  describeError(error: unknown, phase: string): ProxyError {
    if (error instanceof ProxyError) return error;
    if (error instanceof undiciErrors.ConnectTimeoutError) return upstreamTimeout(this.name, 'while connecting');
    if (error instanceof undiciErrors.HeadersTimeoutError) {
      return upstreamTimeout(this.name, `after ${this.timeouts.firstByteMs} ms without response headers`);
    }
    if (error instanceof undiciErrors.BodyTimeoutError) {
      return upstreamTimeout(this.name, `after ${this.timeouts.idleMs} ms without data`);
    }
    if (error instanceof DOMException && error.name === 'TimeoutError') {
      return upstreamTimeout(this.name, `after the total limit of ${this.timeouts.totalMs} ms`);
    }
    const code = (error as { code?: string }).code;
    const detail = error instanceof Error ? error.message : String(error);
    return upstreamUnreachable(this.name, `${code ?? 'error'} ${phase} (${detail})`, error);
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  destroy(): Promise<void> {
    return this.agent.destroy();
  }
}

function decodeBody(body: Readable, encoding: string | string[] | undefined): Readable {
  const value = (Array.isArray(encoding) ? encoding.join(',') : (encoding ?? '')).trim().toLowerCase();
  let decoder: NodeJS.ReadWriteStream | undefined;
  if (value === 'gzip' || value === 'x-gzip') decoder = createGunzip();
  else if (value === 'br') decoder = createBrotliDecompress();
  else if (value === 'deflate') decoder = createInflate();
  if (decoder === undefined) return body;

  body.on('error', (error) => (decoder as unknown as Readable).destroy(error));
  return body.pipe(decoder) as unknown as Readable;
}
