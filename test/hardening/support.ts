/**
 * Helpers shared by the hardening tests: a raw HTTP client that keeps the SSE
 * wire text, checks for OpenAI's error shape, and bounded waits.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { createServer } from 'node:net';
import { expect } from 'vitest';

export interface OpenAIErrorJson {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** Asserts that `value` is exactly `{"error":{"message","type","param","code"}}` and returns it typed. */
export function expectOpenAIError(value: unknown, label = 'error body'): OpenAIErrorJson {
  expect(value, label).toBeTypeOf('object');
  expect(value, label).not.toBeNull();
  expect(Object.keys(value as object), label).toEqual(['error']);
  const error = (value as { error: Record<string, unknown> }).error;
  expect(Object.keys(error).sort(), label).toEqual(['code', 'message', 'param', 'type']);
  expect(error.message, label).toBeTypeOf('string');
  expect(error.message, label).not.toBe('');
  expect(error.type, label).toBeTypeOf('string');
  expect(error.param === null || typeof error.param === 'string', `${label}: param is a string or null`).toBe(true);
  expect(error.code === null || typeof error.code === 'string', `${label}: code is a string or null`).toBe(true);
  return value as OpenAIErrorJson;
}

/** Parses a body as JSON, failing the test with the raw text when it is not JSON. */
export function parseJson(text: string, label = 'body'): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new Error(`${label} is not JSON: ${text.slice(0, 300)}`);
  }
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** How the body stopped: a clean end, an abnormal close, the client's own abort or the time limit. */
  endedBy: 'end' | 'aborted' | 'client_aborted' | 'timed_out';
  /** Milliseconds from sending the request to the end of the body. */
  elapsedMs: number;
  /** Milliseconds from sending the request to the response headers, or undefined without headers. */
  headersAfterMs: number | undefined;
}

export interface RawPostOptions {
  /** POST unless given. */
  method?: string;
  headers?: Record<string, string>;
  /** Give up and close the connection after this many milliseconds. */
  timeoutMs?: number;
  /** Called with the body text so far after each read; returning true closes the connection at once. */
  abortWhen?: (textSoFar: string) => boolean;
}

/**
 * Sends a request (POST unless `options.method` sets another method) over
 * node:http on a fresh connection and reads the whole response. Resolves also on an abnormal close and on the time limit, so a
 * hanging proxy shows up as `endedBy: 'timed_out'` instead of a stuck test.
 */
export function rawPost(url: string, body: string | Buffer, options: RawPostOptions = {}): Promise<RawResponse> {
  const payload = typeof body === 'string' ? Buffer.from(body) : body;
  const startedAt = performance.now();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let status = 0;
    let headers: IncomingHttpHeaders = {};
    let headersAfterMs: number | undefined;
    let settled = false;

    const finish = (endedBy: RawResponse['endedBy']) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({
        status,
        headers,
        text: Buffer.concat(chunks).toString('utf8'),
        endedBy,
        elapsedMs: performance.now() - startedAt,
        headersAfterMs,
      });
    };

    const request = httpRequest(
      url,
      {
        method: options.method ?? 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': String(payload.length), ...options.headers },
      },
      (response) => {
        status = response.statusCode ?? 0;
        headers = response.headers;
        headersAfterMs = performance.now() - startedAt;
        response.on('data', (chunk: Buffer) => {
          if (settled) return;
          chunks.push(chunk);
          if (options.abortWhen?.(Buffer.concat(chunks).toString('utf8')) === true) {
            request.destroy();
            finish('client_aborted');
          }
        });
        response.on('end', () => finish('end'));
        response.on('error', () => finish('aborted'));
        response.on('close', () => finish(response.complete ? 'end' : 'aborted'));
      },
    );
    const timer = setTimeout(() => {
      request.destroy();
      finish('timed_out');
    }, options.timeoutMs ?? 15_000);
    request.on('error', (error) => {
      if (status !== 0) {
        finish('aborted');
      } else if (!settled) {
        settled = true;
        clearTimeout(timer);
        reject(error);
      }
    });
    request.end(payload);
  });
}

/** Returns the `data:` payloads of an SSE body in order, one per event (multi-line data joined with `\n`). */
export function sseData(text: string): string[] {
  const events: string[] = [];
  for (const block of text.replace(/\r\n?/g, '\n').split('\n\n')) {
    const lines = block.split('\n').filter((line) => line.startsWith('data:'));
    if (lines.length === 0) continue;
    events.push(lines.map((line) => line.slice(5).replace(/^ /, '')).join('\n'));
  }
  return events;
}

/** Returns every finish_reason that is not null in the chunks of an SSE body. */
export function finishReasons(text: string): string[] {
  const reasons: string[] = [];
  for (const data of sseData(text)) {
    if (data === '[DONE]') continue;
    const chunk = JSON.parse(data) as { choices?: { finish_reason?: string | null }[] };
    for (const choice of chunk.choices ?? []) {
      if (choice.finish_reason !== null && choice.finish_reason !== undefined) reasons.push(choice.finish_reason);
    }
  }
  return reasons;
}

/** Concatenates the `delta.content` of every chunk in an SSE body. */
export function streamedContent(text: string): string {
  let content = '';
  for (const data of sseData(text)) {
    if (data === '[DONE]') continue;
    const chunk = JSON.parse(data) as { choices?: { delta?: { content?: string | null } }[] };
    for (const choice of chunk.choices ?? []) content += choice.delta?.content ?? '';
  }
  return content;
}

/** Polls `check` every `intervalMs` until it returns true or `timeoutMs` passes; returns the last result. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 3000, intervalMs = 20): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (performance.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Returns a port on 127.0.0.1 that had nothing listening on it a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Builds a minimal chat request body. */
export function chatBody(model: string, content = '你好', extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ model, messages: [{ role: 'user', content }], ...extra });
}
