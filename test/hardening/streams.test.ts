import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import OpenAI, { APIError, APIUserAbortError } from 'openai';
import { Agent, fetch as undiciFetch } from 'undici';
import { chunkedAnswer, sleep, sseChunk, startUpstream, type TestUpstream, type UpstreamHandler } from '../helpers/upstream.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { chatBody, expectOpenAIError, finishReasons, parseJson, rawPost, sseData, streamedContent, waitFor } from './support.js';

let upstream: TestUpstream | undefined;
let proxy: TestProxy | undefined;

afterEach(async () => {
  await proxy?.close();
  await upstream?.close();
  proxy = undefined;
  upstream = undefined;
});

/** Retries stay on, so a test that expects one upstream request shows that none happened. */
const FAST_RETRY = { maxRetries: 2, baseDelayMs: 10, maxDelayMs: 20, maxRetryAfterMs: 100 };

async function setUp(handler: UpstreamHandler) {
  upstream = await startUpstream(handler);
  proxy = await startProxy({
    config: { upstreams: { default: { baseUrl: upstream.baseUrl, retry: FAST_RETRY } }, aliases: { hero: { model: 'm' } } },
  });
  return { upstream, proxy };
}

function streamRequest() {
  return chatBody('hero', '讲个故事', { stream: true });
}

/** Asserts the SSE body of a failed stream and returns its error: last event an OpenAI error, no [DONE], no finish_reason. */
function expectFailedStream(text: string) {
  const events = sseData(text);
  expect(events.length, text).toBeGreaterThan(0);
  expect(events, 'no [DONE] after a failure').not.toContain('[DONE]');
  expect(finishReasons(text), 'no invented finish_reason').toEqual([]);
  return expectOpenAIError(parseJson(events.at(-1)!, 'last SSE event'), 'last SSE event').error;
}

const PARTIAL = [sseChunk({ role: 'assistant', content: '' }), sseChunk({ content: '从前' }), sseChunk({ content: '有座山' })];

/**
 * Builds a long upstream stream (a chunk every 50 ms for up to 10 s) that
 * records which responses are still open, so a test can see the proxy cut them.
 */
function trackedLongStream() {
  const open = new Set<ServerResponse>();
  let completed = 0;
  const handler: UpstreamHandler = async (_request, response) => {
    open.add(response);
    response.on('close', () => open.delete(response));
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    response.write(sseChunk({ role: 'assistant', content: '' }));
    for (let index = 0; index < 200 && !response.destroyed; index += 1) {
      response.write(sseChunk({ content: `${index} ` }));
      await sleep(50);
    }
    if (response.destroyed) return;
    response.end('data: [DONE]\n\n');
    completed += 1;
  };
  return { handler, open, completed: () => completed };
}

describe('mid-stream upstream failure', () => {
  it('ends with an error event after a reset', async () => {
    const { proxy } = await setUp(chunkedAnswer(PARTIAL, { end: 'reset' }));
    const response = await rawPost(`${proxy.baseUrl}/chat/completions`, streamRequest(), { timeoutMs: 5000 });
    expect(response.status).toBe(200);
    expect(response.endedBy).toBe('end');
    expect(streamedContent(response.text)).toBe('从前有座山');
    const error = expectFailedStream(response.text);
    expect(error.code).toBe('upstream_stream_error');
    expect(response.elapsedMs).toBeLessThan(2000);
  });

  it('does not retry after the first byte', async () => {
    const { proxy, upstream } = await setUp(chunkedAnswer(PARTIAL, { end: 'reset' }));
    await rawPost(`${proxy.baseUrl}/chat/completions`, streamRequest(), { timeoutMs: 5000 });
    await sleep(200);
    expect(upstream.requests).toHaveLength(1);
  });

  it('does not retry a reset right after the headers', async () => {
    const { proxy, upstream } = await setUp(chunkedAnswer([], { end: 'reset' }));
    const response = await rawPost(`${proxy.baseUrl}/chat/completions`, streamRequest(), { timeoutMs: 5000 });
    expect(response.status).toBe(200);
    expect(response.endedBy).toBe('end');
    expectFailedStream(response.text);
    await sleep(200);
    expect(upstream.requests).toHaveLength(1);
  });

  it('reports an upstream end without finish_reason', async () => {
    const { proxy } = await setUp(chunkedAnswer(PARTIAL));
    const response = await rawPost(`${proxy.baseUrl}/chat/completions`, streamRequest(), { timeoutMs: 5000 });
    expect(response.endedBy).toBe('end');
    expect(streamedContent(response.text)).toBe('从前有座山');
    expect(expectFailedStream(response.text).code).toBe('upstream_incomplete');
  });

  it('makes the SDK throw instead of hanging', async () => {
    const { proxy } = await setUp(chunkedAnswer(PARTIAL, { end: 'reset' }));
    const stream = await proxy.client().chat.completions.create({
      model: 'hero',
      messages: [{ role: 'user', content: '讲个故事' }],
      stream: true,
    });
    let content = '';
    const iterate = async () => {
      for await (const chunk of stream) content += chunk.choices[0]?.delta.content ?? '';
    };
    const outcome = await Promise.race([
      iterate().then(
        () => 'finished',
        (error: unknown) => error,
      ),
      sleep(5000).then(() => 'hung'),
    ]);
    expect(outcome).toBeInstanceOf(APIError);
    expect((outcome as APIError).message).toContain('Upstream stream failed');
    expect(content).toBe('从前有座山');
  });
});

describe('client disconnects', () => {
  it('aborts the upstream stream at once', async () => {
    const tracked = trackedLongStream();
    const { proxy, upstream } = await setUp(tracked.handler);
    let abortedAt = 0;
    const response = await rawPost(`${proxy.baseUrl}/chat/completions`, streamRequest(), {
      abortWhen: (text) => {
        if (!text.includes('"3 "')) return false;
        abortedAt = performance.now();
        return true;
      },
    });
    expect(response.endedBy).toBe('client_aborted');
    expect(await waitFor(() => tracked.open.size === 0, 1000, 5)).toBe(true);
    expect(performance.now() - abortedAt).toBeLessThan(500);
    expect(upstream.requests).toHaveLength(1);
    expect(await waitFor(() => proxy.state.inFlight.size === 0, 1000)).toBe(true);
    const line = proxy.logs.find((entry) => entry.msg === 'chat request completed' || entry.msg === 'chat request failed');
    expect(line?.clientAborted).toBe(true);
  });

  it('aborts the upstream while waiting for headers', async () => {
    const open = new Set<ServerResponse>();
    const { proxy, upstream } = await setUp(async (_request, response) => {
      open.add(response);
      response.on('close', () => open.delete(response));
      await sleep(5000);
      if (!response.destroyed) response.end();
    });
    const pending = rawPost(`${proxy.baseUrl}/chat/completions`, streamRequest(), { timeoutMs: 300 });
    expect(await waitFor(() => upstream.requests.length === 1, 2000)).toBe(true);
    const response = await pending;
    expect(response.endedBy).toBe('timed_out');
    expect(await waitFor(() => open.size === 0, 1000, 5), 'upstream request still open').toBe(true);
    expect(await waitFor(() => proxy.state.inFlight.size === 0, 1000)).toBe(true);
  });

  it('leaves nothing open after 50 aborted streams', async () => {
    const tracked = trackedLongStream();
    const { proxy, upstream } = await setUp(tracked.handler);
    // A dedicated pool, so the sockets the SDK opens can be closed at the end:
    // after an abort, fetch opens spare connections that never send a request.
    const dispatcher = new Agent();
    const client = new OpenAI({
      baseURL: proxy.baseUrl,
      apiKey: 'sk-client-test',
      maxRetries: 0,
      timeout: 15_000,
      fetch: undiciFetch as unknown as typeof fetch,
      fetchOptions: { dispatcher },
    });

    const abortWithSdk = async () => {
      const controller = new AbortController();
      const stream = await client.chat.completions.create(
        { model: 'hero', messages: [{ role: 'user', content: '讲个故事' }], stream: true },
        { signal: controller.signal },
      );
      // The SDK ends the loop quietly or throws APIUserAbortError, depending on where the abort lands.
      try {
        for await (const chunk of stream) {
          if ((chunk.choices[0]?.delta.content ?? '') !== '') controller.abort();
        }
      } catch (error) {
        if (!(error instanceof APIUserAbortError)) return error;
      }
      return controller.signal.aborted ? 'aborted' : 'finished';
    };
    const abortWithSocket = async () => {
      const response = await rawPost(`${proxy.baseUrl}/chat/completions`, streamRequest(), {
        timeoutMs: 5000,
        abortWhen: (text) => text.includes('"1 "'),
      });
      return response.endedBy === 'client_aborted' ? 'aborted' : response.endedBy;
    };

    let outcomes: unknown[];
    try {
      outcomes = await Promise.all([
        ...Array.from({ length: 25 }, () => abortWithSdk()),
        ...Array.from({ length: 25 }, () => abortWithSocket()),
      ]);
    } finally {
      await dispatcher.destroy();
    }
    expect(outcomes.filter((outcome) => outcome !== 'aborted')).toEqual([]);
    expect(upstream.requests).toHaveLength(50);

    // Keep-alive sockets may stay open, but no upstream response may still be in progress.
    expect(await waitFor(() => tracked.open.size === 0, 2000), `${tracked.open.size} upstream responses still open`).toBe(true);
    expect(tracked.completed()).toBe(0);
    expect(await waitFor(() => proxy.state.inFlight.size === 0, 2000)).toBe(true);
    const aborted = proxy.logs.filter((entry) => entry.clientAborted === true);
    expect(aborted).toHaveLength(50);
  });
});
