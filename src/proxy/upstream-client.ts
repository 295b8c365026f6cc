import type { IncomingHttpHeaders } from 'node:http';
import { createBrotliDecompress, createGunzip, createInflate, type Gunzip } from 'node:zlib';
import { Agent, errors as undiciErrors, type Dispatcher } from 'undici';
import type { RetryConfig, UpstreamConfig } from '../config/schema.js';
import { ProxyError, upstreamTimeout, upstreamUnreachable } from '../errors/proxy-error.js';
import type { AbortLike } from './request-abort.js';
import { UpstreamBody } from './upstream-body.js';

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
  headers: IncomingHttpHeaders;
  /** The decoded body (gzip, deflate and br are undone here). */
  body: UpstreamBody;
}

export function resolveTimeouts(config: UpstreamConfig): UpstreamTimeouts {
  return { ...DEFAULT_TIMEOUTS, ...config.timeouts };
}

/** One keep-alive connection pool per upstream, with that upstream's timeouts. */
export class UpstreamClient {
  readonly name: string;
  readonly url: string;
  private readonly origin: string;
  private readonly path: string;
  readonly timeouts: UpstreamTimeouts;
  readonly apiKey: string | undefined;
  readonly retry: RetryConfig;
  private readonly agent: Agent;

  constructor(name: string, config: UpstreamConfig) {
    this.name = name;
    this.url = `${config.baseUrl.replace(/\/+$/, '')}/chat/completions`;
    const url = new URL(this.url);
    this.origin = url.origin;
    this.path = `${url.pathname}${url.search}`;
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
    body: string | Buffer;
    signal: AbortLike;
  }): Promise<UpstreamResponse> {
    try {
      return await new Promise<UpstreamResponse>((resolve, reject) => {
        const call = new UpstreamCall(options.signal, resolve, reject);
        this.agent.dispatch(
          { origin: this.origin, path: this.path, method: 'POST', headers: options.headers, body: options.body },
          call,
        );
      });
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

type Decoder = Gunzip;

function createDecoder(encoding: string | string[] | undefined): Decoder | undefined {
  const value = (Array.isArray(encoding) ? encoding.join(',') : (encoding ?? '')).trim().toLowerCase();
  if (value === 'gzip' || value === 'x-gzip') return createGunzip();
  if (value === 'br') return createBrotliDecompress() as unknown as Decoder;
  if (value === 'deflate') return createInflate() as unknown as Decoder;
  return undefined;
}

/**
 * One upstream request as undici dispatch callbacks. It resolves with the status, headers
 * and a push body once the headers arrive, and feeds the body chunk by chunk after that.
 * An abort of `signal` stops the request at any stage.
 */
class UpstreamCall implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private body: UpstreamBody | undefined;
  private decoder: Decoder | undefined;
  private readonly signal: AbortLike;
  private readonly resolve: (response: UpstreamResponse) => void;
  private readonly reject: (error: unknown) => void;
  private readonly onAbort = (): void => {
    this.controller?.abort(abortError(this.signal));
  };

  constructor(signal: AbortLike, resolve: (response: UpstreamResponse) => void, reject: (error: unknown) => void) {
    this.signal = signal;
    this.resolve = resolve;
    this.reject = reject;
    signal.addEventListener('abort', this.onAbort);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.signal.aborted) controller.abort(abortError(this.signal));
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    // 1xx responses (100 Continue, 103 Early Hints) come before the final one.
    if (statusCode < 200) return;
    const decoder = createDecoder(headers['content-encoding']);
    const body = new UpstreamBody((reason) => {
      // The response may have ended already, so the decoder is stopped here too. Otherwise a
      // small compressed body would go on decoding into a body that no consumer reads.
      decoder?.destroy();
      controller.abort(reason instanceof Error ? reason : new Error(String(reason)));
    });
    this.body = body;
    if (decoder === undefined) {
      body.setResume(() => controller.resume());
    } else {
      this.decoder = decoder;
      // Back-pressure has two stages: a paused body pauses the decoder, whose full buffers
      // then stop decompression (zlib waits for reads) and, through write(), the socket.
      body.setResume(() => {
        decoder.resume();
        controller.resume();
      });
      decoder.on('data', (chunk: Buffer) => {
        body.push(chunk);
        if (body.isPaused) decoder.pause();
      });
      decoder.on('drain', () => {
        if (!body.isPaused) controller.resume();
      });
      decoder.on('end', () => body.finish());
      decoder.on('error', (error) => {
        body.fail(error);
        controller.abort(error);
      });
    }
    this.resolve({ status: statusCode, headers, body });
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const body = this.body;
    if (body === undefined) return;
    if (this.decoder === undefined) {
      body.push(chunk);
      if (body.isPaused) controller.pause();
    } else if (!this.decoder.write(chunk) || body.isPaused) {
      controller.pause();
    }
  }

  onResponseEnd(): void {
    this.signal.removeEventListener('abort', this.onAbort);
    if (this.decoder !== undefined) this.decoder.end();
    else this.body?.finish();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.signal.removeEventListener('abort', this.onAbort);
    this.decoder?.destroy();
    if (this.body === undefined) this.reject(error);
    else this.body.fail(error);
  }
}

/** Returns the error of an aborted signal: its reason, or a generic abort error. */
function abortError(signal: AbortLike): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new DOMException('The request was aborted.', 'AbortError');
}
