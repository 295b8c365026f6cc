import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { shutdown } from '../../src/runtime/shutdown.js';
import { completion, jsonAnswer, sleep, sseChunk, startUpstream, type TestUpstream, type UpstreamHandler } from '../helpers/upstream.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { chatBody, expectOpenAIError, finishReasons, parseJson, rawPost, sseData, streamedContent, waitFor, type RawResponse } from './support.js';

let upstream: TestUpstream | undefined;
let proxy: TestProxy | undefined;

afterEach(async () => {
  // Closing twice is harmless: Fastify and undici both resolve a second close.
  await proxy?.close();
  await upstream?.close();
  proxy = undefined;
  upstream = undefined;
});

/** Streams `count` content chunks `gapMs` apart, then finishes with [DONE]. */
function slowStream(count: number, gapMs: number): UpstreamHandler {
  return async (request, response) => {
    if (request.json?.stream !== true) return jsonAnswer(completion('好'))(request, response);
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    response.write(sseChunk({ role: 'assistant', content: '' }));
    for (let index = 0; index < count && !response.destroyed; index += 1) {
      response.write(sseChunk({ content: `${index},` }));
      await sleep(gapMs);
    }
    if (response.destroyed) return;
    response.write(sseChunk({}, { finishReason: 'stop' }));
    response.end('data: [DONE]\n\n');
  };
}

async function setUp(handler: UpstreamHandler) {
  upstream = await startUpstream(handler);
  proxy = await startProxy({
    config: { upstreams: { default: { baseUrl: upstream.baseUrl, retry: { maxRetries: 0 } } }, aliases: { hero: { model: 'm' } } },
  });
  return { upstream, proxy };
}

/**
 * Starts a stream request and resolves once its first content chunk arrived.
 * The pending response is wrapped in an object, because an async function
 * returning a bare promise would wait for it.
 */
async function startStream(proxy: TestProxy): Promise<{ response: Promise<RawResponse> }> {
  let firstContent = false;
  const pending = rawPost(`${proxy.baseUrl}/chat/completions`, chatBody('hero', '你好', { stream: true }), {
    timeoutMs: 15_000,
    abortWhen: (text) => {
      firstContent ||= text.includes('"0,"');
      return false;
    },
  });
  expect(await waitFor(() => firstContent, 3000), 'first chunk arrived').toBe(true);
  return { response: pending };
}

describe('in-process shutdown', () => {
  it('lets a stream finish within the grace period', async () => {
    const { proxy } = await setUp(slowStream(8, 100));
    const { response: streamPromise } = await startStream(proxy);
    const startedAt = performance.now();
    const stopped = shutdown({ app: proxy.app, state: proxy.state, graceMs: 3000 }).then(() => performance.now() - startedAt);
    const response = await streamPromise;
    const streamEndedAfter = performance.now() - startedAt;
    const shutdownTook = await stopped;

    expect(response.status).toBe(200);
    expect(response.endedBy).toBe('end');
    expect(streamedContent(response.text)).toBe('0,1,2,3,4,5,6,7,');
    expect(sseData(response.text).at(-1)).toBe('[DONE]');
    expect(shutdownTook).toBeGreaterThanOrEqual(streamEndedAfter - 50);
    expect(shutdownTook).toBeLessThan(2000);
    expect(proxy.state.inFlight.size).toBe(0);
  });

  it('ends a long stream with an error event after a short grace', async () => {
    const { proxy } = await setUp(slowStream(100, 100));
    const { response: streamPromise } = await startStream(proxy);
    const startedAt = performance.now();
    await shutdown({ app: proxy.app, state: proxy.state, graceMs: 300 });
    const shutdownTook = performance.now() - startedAt;
    const response = await streamPromise;

    expect(shutdownTook).toBeGreaterThanOrEqual(250);
    expect(shutdownTook).toBeLessThan(1500);
    expect(response.status).toBe(200);
    expect(streamedContent(response.text)).toMatch(/^0,1,/);
    const events = sseData(response.text);
    expect(events).not.toContain('[DONE]');
    expect(finishReasons(response.text)).toEqual([]);
    expectOpenAIError(parseJson(events.at(-1) ?? '', 'last SSE event'), 'last SSE event');
    expect(response.endedBy, 'the body ended cleanly').toBe('end');
  });

  it('answers 503 to a request still waiting for the upstream', async () => {
    const { proxy } = await setUp((_request, response) => {
      const timer = setTimeout(() => jsonAnswer(completion('太晚了'))(_request, response), 5000);
      response.on('close', () => clearTimeout(timer));
    });
    const pending = rawPost(`${proxy.baseUrl}/chat/completions`, chatBody('hero'), { timeoutMs: 10_000 });
    await sleep(100);
    await shutdown({ app: proxy.app, state: proxy.state, graceMs: 200 });
    const response = await pending;

    expect(response.status).toBe(503);
    const body = parseJson(response.text, 'response body') as { error: { code: string; type: string } };
    expectOpenAIError(body, 'response body');
    expect(body.error.code).toBe('shutting_down');
    expect(proxy.logs.some((line) => line.msg === 'chat request failed' && line.status === 503)).toBe(true);
  });

  it('resolves at once with nothing in flight', async () => {
    const { proxy } = await setUp(slowStream(1, 1));
    expect((await rawPost(`${proxy.baseUrl}/chat/completions`, chatBody('hero'))).status).toBe(200);
    const startedAt = performance.now();
    await shutdown({ app: proxy.app, state: proxy.state, graceMs: 5000 });
    expect(performance.now() - startedAt).toBeLessThan(1000);
  });

  it('refuses new connections during the grace period', async () => {
    const { proxy } = await setUp(slowStream(10, 100));
    const { response: streamPromise } = await startStream(proxy);
    const stopped = shutdown({ app: proxy.app, state: proxy.state, graceMs: 3000 });
    await sleep(50);
    await expect(rawPost(`${proxy.baseUrl}/chat/completions`, chatBody('hero'), { timeoutMs: 2000 })).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
    expect((await streamPromise).status).toBe(200);
    await stopped;
  });

  it('rejects a request on an open connection in OpenAI shape', async () => {
    const { proxy } = await setUp(slowStream(6, 100));
    const { port } = new URL(proxy.url);
    const socket = connect(Number(port), '127.0.0.1');
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    const request = (body: string) =>
      `POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

    socket.write(request(chatBody('hero', '你好', { stream: true })));
    expect(await waitFor(() => Buffer.concat(received).toString().includes('"0,"'), 3000)).toBe(true);
    const stopped = shutdown({ app: proxy.app, state: proxy.state, graceMs: 3000 });
    // A second request on the same, busy connection: it was opened before the shutdown.
    socket.write(request(chatBody('hero')));
    const ended = await Promise.race([closed.then(() => true), sleep(5000).then(() => false)]);
    socket.destroy();
    await stopped;
    expect(ended, 'the proxy closed the connection').toBe(true);

    const text = Buffer.concat(received).toString('utf8');
    const second = text.indexOf('HTTP/1.1 ', 1);
    expect(second, text).toBeGreaterThan(0);
    const head = text.slice(second, text.indexOf('\r\n\r\n', second));
    const body = text.slice(text.indexOf('\r\n\r\n', second) + 4);
    expect(head).toMatch(/^HTTP\/1\.1 503 /);
    expectOpenAIError(parseJson(body, '503 body'), '503 body');
  });
});
