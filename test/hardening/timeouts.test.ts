import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from 'undici';
import { DEFAULT_TIMEOUTS, resolveTimeouts, UpstreamClient } from '../../src/proxy/upstream-client.js';
import { completion, jsonAnswer, sleep, sseChunk, startUpstream, type TestUpstream, type UpstreamHandler } from '../helpers/upstream.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { chatBody, expectOpenAIError, finishReasons, parseJson, rawPost, sseData, streamedContent } from './support.js';

let upstreams: TestUpstream[] = [];
let proxies: TestProxy[] = [];

afterEach(async () => {
  for (const proxy of proxies) await proxy.close();
  for (const upstream of upstreams) await upstream.close();
  proxies = [];
  upstreams = [];
});

const NO_RETRY = { maxRetries: 0, baseDelayMs: 10, maxDelayMs: 10, maxRetryAfterMs: 0 };

/** undici 7 keeps an Agent's constructor options under a private symbol named "options". */
function agentOptions(client: UpstreamClient): Record<string, unknown> {
  const agent = (client as unknown as { agent: Agent }).agent;
  expect(agent).toBeInstanceOf(Agent);
  const symbol = Object.getOwnPropertySymbols(agent).find((candidate) => candidate.description === 'options');
  expect(symbol, 'undici Agent options symbol').toBeDefined();
  return (agent as unknown as Record<symbol, Record<string, unknown>>)[symbol!]!;
}

async function setUp(handler: UpstreamHandler, timeouts: Record<string, number>, retry: Record<string, number> = NO_RETRY) {
  const upstream = await startUpstream(handler);
  upstreams.push(upstream);
  const proxy = await startProxy({
    config: { upstreams: { default: { baseUrl: upstream.baseUrl, retry, timeouts } }, aliases: { hero: { model: 'm' } } },
  });
  proxies.push(proxy);
  return { upstream, proxy };
}

/** Sends the response headers after `delayMs`, then a JSON completion. */
function headersAfter(delayMs: number): UpstreamHandler {
  return async (request, response) => {
    await sleep(delayMs);
    if (!response.destroyed) jsonAnswer(completion('终于到了'))(request, response);
  };
}

/** Streams one role chunk and two content chunks, stalls for `stallMs`, then finishes. */
function stallingStream(stallMs: number): UpstreamHandler {
  return async (_request, response) => {
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    response.write(sseChunk({ role: 'assistant', content: '' }));
    response.write(sseChunk({ content: '一' }));
    await sleep(50);
    response.write(sseChunk({ content: '二' }));
    await sleep(stallMs);
    if (response.destroyed) return;
    response.write(sseChunk({ content: '三' }));
    response.write(sseChunk({}, { finishReason: 'stop' }));
    response.end('data: [DONE]\n\n');
  };
}

/** Asserts the SSE body of a failed stream: last event an OpenAI error, no [DONE], no finish_reason. */
function expectFailedStream(text: string): { message: string; code: string | null } {
  const events = sseData(text);
  expect(events.length, text).toBeGreaterThan(0);
  expect(events, 'no [DONE] after a failure').not.toContain('[DONE]');
  expect(finishReasons(text), 'no invented finish_reason').toEqual([]);
  const last = expectOpenAIError(parseJson(events.at(-1)!, 'last SSE event'), 'last SSE event');
  return last.error;
}

describe('timeout defaults', () => {
  it('keeps the first-byte default above 300 s', () => {
    expect(DEFAULT_TIMEOUTS.firstByteMs).toBeGreaterThan(300_000);
    const resolved = resolveTimeouts({ baseUrl: 'http://127.0.0.1:9/v1', retry: NO_RETRY });
    expect(resolved.firstByteMs).toBe(DEFAULT_TIMEOUTS.firstByteMs);
  });

  it('passes the defaults to the undici Agent', async () => {
    const client = new UpstreamClient('default', { baseUrl: 'http://127.0.0.1:9/v1', retry: NO_RETRY });
    try {
      const options = agentOptions(client);
      // undici's own headersTimeout and bodyTimeout default to 300 s.
      expect(options.headersTimeout).toBe(DEFAULT_TIMEOUTS.firstByteMs);
      expect(options.headersTimeout as number).toBeGreaterThan(300_000);
      expect(options.bodyTimeout).toBe(DEFAULT_TIMEOUTS.idleMs);
    } finally {
      await client.destroy();
    }
  });

  it('applies the defaults to a config without timeouts', async () => {
    const { proxy } = await setUp(jsonAnswer(completion('好')), {});
    const client = proxy.state.snapshot.upstreams.get('default')!;
    expect(client.timeouts).toEqual(DEFAULT_TIMEOUTS);
    expect(agentOptions(client).headersTimeout).toBe(DEFAULT_TIMEOUTS.firstByteMs);
  });
});

describe('first-byte timeout', () => {
  it('answers 504 at the configured first-byte time', async () => {
    const { proxy } = await setUp(headersAfter(5000), { firstByteMs: 2000 });
    const [json, stream] = await Promise.all([
      rawPost(`${proxy.baseUrl}/chat/completions`, chatBody('hero')),
      rawPost(`${proxy.baseUrl}/chat/completions`, chatBody('hero', '你好', { stream: true })),
    ]);
    for (const [label, response] of [['json', json], ['stream', stream]] as const) {
      expect(response.status, label).toBe(504);
      expect(expectOpenAIError(parseJson(response.text), label).error.code, label).toBe('upstream_timeout');
      expect(response.elapsedMs, label).toBeGreaterThanOrEqual(1900);
      // undici checks timeouts of a second or more on a coarse timer.
      expect(response.elapsedMs, label).toBeLessThan(3500);
    }
  });

  it('waits for a slow upstream within the limit', async () => {
    const { proxy } = await setUp(headersAfter(1500), { firstByteMs: 3000 });
    const response = await rawPost(`${proxy.baseUrl}/chat/completions`, chatBody('hero'));
    expect(response.status, response.text).toBe(200);
    expect((parseJson(response.text) as { choices: { message: { content: string } }[] }).choices[0]?.message.content).toBe('终于到了');
    expect(response.elapsedMs).toBeGreaterThanOrEqual(1400);
  });
});

describe('idle timeout', () => {
  it('ends a stalled stream with an error event', async () => {
    const { proxy, upstream } = await setUp(stallingStream(3000), { idleMs: 500 });
    const response = await rawPost(`${proxy.baseUrl}/chat/completions`, chatBody('hero', '你好', { stream: true }), { timeoutMs: 5000 });
    expect(response.status).toBe(200);
    expect(response.endedBy).toBe('end');
    expect(streamedContent(response.text)).toBe('一二');
    const error = expectFailedStream(response.text);
    expect(error.message).toContain('500 ms without data');
    expect(response.elapsedMs).toBeGreaterThanOrEqual(500);
    expect(response.elapsedMs).toBeLessThan(2000);
    expect(upstream.requests).toHaveLength(1);
  });

  it('ends a stalled JSON body with 504', async () => {
    const { proxy } = await setUp(async (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"id":"chatcmpl-1","object":"chat.completion",');
      await sleep(3000);
      if (!response.destroyed) response.end('"choices":[]}');
    }, { idleMs: 500 });
    const response = await rawPost(`${proxy.baseUrl}/chat/completions`, chatBody('hero'), { timeoutMs: 5000 });
    expect(response.status).toBe(504);
    expect(expectOpenAIError(parseJson(response.text)).error.code).toBe('upstream_timeout');
    expect(response.elapsedMs).toBeLessThan(2000);
  });
});

describe('total timeout', () => {
  it('answers 504 when no header came within totalMs', async () => {
    const { proxy } = await setUp(headersAfter(3000), { totalMs: 600, firstByteMs: 10_000 });
    const response = await rawPost(`${proxy.baseUrl}/chat/completions`, chatBody('hero'), { timeoutMs: 5000 });
    expect(response.status).toBe(504);
    const error = expectOpenAIError(parseJson(response.text)).error;
    expect(error.code).toBe('upstream_timeout');
    expect(error.message).toContain('total limit');
    expect(response.elapsedMs).toBeLessThan(1500);
  });

  it('ends a long stream at totalMs with an error event', async () => {
    const { proxy } = await setUp(async (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write(sseChunk({ role: 'assistant', content: '' }));
      for (let index = 0; index < 30 && !response.destroyed; index += 1) {
        response.write(sseChunk({ content: `${index},` }));
        await sleep(100);
      }
      if (!response.destroyed) response.end('data: [DONE]\n\n');
    }, { totalMs: 800 });
    const response = await rawPost(`${proxy.baseUrl}/chat/completions`, chatBody('hero', '你好', { stream: true }), { timeoutMs: 5000 });
    expect(response.status).toBe(200);
    expect(response.endedBy).toBe('end');
    expect(streamedContent(response.text)).toMatch(/^0,1,/);
    expect(expectFailedStream(response.text).message).toContain('total limit');
    expect(response.elapsedMs).toBeLessThan(2000);
  });

  it('answers 504 when totalMs passes during a retry wait', async () => {
    const { proxy, upstream } = await setUp(
      jsonAnswer({ error: { message: 'overloaded', type: 'server_error', param: null, code: null } }, 503, { 'retry-after': '2' }),
      { totalMs: 500 },
      { maxRetries: 2, baseDelayMs: 10, maxDelayMs: 10, maxRetryAfterMs: 5000 },
    );
    const response = await rawPost(`${proxy.baseUrl}/chat/completions`, chatBody('hero'), { timeoutMs: 5000 });
    expect(upstream.requests).toHaveLength(1);
    expect(response.status, response.text).toBe(504);
    expect(expectOpenAIError(parseJson(response.text)).error.code).toBe('upstream_timeout');
    expect(response.elapsedMs).toBeLessThan(1500);
  });
});
