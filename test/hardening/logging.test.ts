import { afterEach, describe, expect, it } from 'vitest';
import { chunkedAnswer, completion, jsonAnswer, sseChunk, startUpstream, type TestUpstream, type UpstreamHandler } from '../helpers/upstream.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { chatBody, rawPost } from './support.js';

let upstream: TestUpstream | undefined;
let proxy: TestProxy | undefined;

afterEach(async () => {
  await proxy?.close();
  await upstream?.close();
  proxy = undefined;
  upstream = undefined;
});

const PACK = { name: 'hero', title: '英雄', preamble: '你是守城的老兵。' };
const STREAM_USAGE = { prompt_tokens: 30, completion_tokens: 2, total_tokens: 32 };

/** Responds with JSON to non-stream requests. Streams get a short reply, plus a usage chunk when include_usage is set. */
const answerBoth: UpstreamHandler = (request, response) => {
  if (request.json?.stream !== true) return jsonAnswer(completion('好'))(request, response);
  const chunks = [sseChunk({ role: 'assistant', content: '好' }), sseChunk({}, { finishReason: 'stop' })];
  if (request.json.stream_options?.include_usage === true) {
    chunks.push(`data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: STREAM_USAGE })}\n\n`);
  }
  chunks.push('data: [DONE]\n\n');
  return chunkedAnswer(chunks)(request, response);
};

async function setUp(handler: UpstreamHandler = answerBoth, extra: Record<string, unknown> = {}) {
  upstream = await startUpstream(handler);
  proxy = await startProxy({
    config: {
      upstreams: { default: { baseUrl: upstream.baseUrl, apiKey: 'sk-upstream-SYNTH-5150', retry: { maxRetries: 0 } } },
      aliases: { hero: { pack: 'hero', model: 'real-model-7b' } },
      ...extra,
    },
    packs: { 'hero.yaml': PACK },
  });
  return { upstream, proxy };
}

function linesFor(requestId: string) {
  return proxy!.logs.filter((entry) => entry.reqId === requestId);
}

function requestLine(requestId: string) {
  const lines = linesFor(requestId).filter((entry) => entry.msg === 'chat request completed' || entry.msg === 'chat request failed');
  expect(lines, `one request line for ${requestId}`).toHaveLength(1);
  return lines[0]!;
}

describe('request log line', () => {
  it('writes one line per JSON request with usage', async () => {
    const { proxy } = await setUp();
    const response = await rawPost(`${proxy.baseUrl}/chat/completions`, chatBody('hero'), { headers: { 'x-request-id': 'req-json-1' } });
    expect(response.status).toBe(200);
    const line = requestLine('req-json-1');
    expect(line.level).toBe(30);
    expect(line).toMatchObject({
      alias: 'hero',
      pack: 'hero',
      upstream: 'default',
      model: 'real-model-7b',
      status: 200,
      tokensIn: 10,
      tokensOut: 5,
    });
    expect(line.durationMs).toBeTypeOf('number');
    expect(line.ttfbMs).toBeTypeOf('number');
    expect(line.ttfbMs as number).toBeLessThanOrEqual(line.durationMs as number);
    expect(linesFor('req-json-1').filter((entry) => (entry.level as number) >= 30)).toHaveLength(1);
  });

  it('takes stream usage from the usage chunk', async () => {
    const { proxy } = await setUp();
    const body = chatBody('hero', '你好', { stream: true, stream_options: { include_usage: true } });
    const response = await rawPost(`${proxy.baseUrl}/chat/completions`, body, { headers: { 'x-request-id': 'req-stream-1' } });
    expect(response.status).toBe(200);
    const line = requestLine('req-stream-1');
    expect(line).toMatchObject({ alias: 'hero', pack: 'hero', upstream: 'default', model: 'real-model-7b', status: 200, stream: true });
    expect(line.tokensIn).toBe(STREAM_USAGE.prompt_tokens);
    expect(line.tokensOut).toBe(STREAM_USAGE.completion_tokens);
    expect(line.ttfbMs).toBeTypeOf('number');
    expect(line.durationMs).toBeTypeOf('number');
  });

  it('leaves tokens out when no usage came', async () => {
    const { proxy } = await setUp();
    await rawPost(`${proxy.baseUrl}/chat/completions`, chatBody('hero', '你好', { stream: true }), { headers: { 'x-request-id': 'req-stream-2' } });
    const line = requestLine('req-stream-2');
    expect(line.tokensIn).toBeUndefined();
    expect(line.tokensOut).toBeUndefined();
  });

  it('logs an upstream failure at error level', async () => {
    const { proxy } = await setUp((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<html>oops</html>');
    });
    const response = await rawPost(`${proxy.baseUrl}/chat/completions`, chatBody('hero'), { headers: { 'x-request-id': 'req-bad-1' } });
    expect(response.status).toBe(502);
    const line = requestLine('req-bad-1');
    expect(line.level).toBe(50);
    expect(line).toMatchObject({ alias: 'hero', upstream: 'default', status: 502 });
  });

  it('writes one line for each of many requests', async () => {
    const { proxy } = await setUp();
    const ids = Array.from({ length: 10 }, (_, index) => `req-many-${index}`);
    await Promise.all(
      ids.map((id, index) =>
        rawPost(`${proxy.baseUrl}/chat/completions`, chatBody('hero', '你好', { stream: index % 2 === 0 }), { headers: { 'x-request-id': id } }),
      ),
    );
    for (const id of ids) requestLine(id);
  });
});

describe('request id', () => {
  it('echoes an offered x-request-id', async () => {
    const { proxy } = await setUp();
    for (const stream of [false, true]) {
      const id = `trace-${stream ? 'stream' : 'json'}-abc.123`;
      const response = await rawPost(`${proxy.baseUrl}/chat/completions`, chatBody('hero', '你好', { stream }), { headers: { 'x-request-id': id } });
      expect(response.headers['x-request-id'], `stream ${stream}`).toBe(id);
      expect(requestLine(id).reqId).toBe(id);
    }
  });

  it('replaces an unusable x-request-id', async () => {
    const { proxy } = await setUp();
    for (const offered of ['has spaces in it', 'x'.repeat(200), 'semi;colon']) {
      const response = await rawPost(`${proxy.baseUrl}/chat/completions`, chatBody('hero'), { headers: { 'x-request-id': offered } });
      const echoed = String(response.headers['x-request-id']);
      expect(echoed, offered).toMatch(/^[0-9a-f-]{36}$/);
      requestLine(echoed);
    }
  });

  it('sets a request id when none is offered', async () => {
    const { proxy } = await setUp();
    const response = await rawPost(`${proxy.baseUrl}/chat/completions`, chatBody('hero'));
    const id = String(response.headers['x-request-id']);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    requestLine(id);
  });
});

describe('log content', () => {
  it('keeps a synthetic key and prompt out of the log', async () => {
    const clientKey = 'sk-client-SYNTH-7a3b9c';
    const prompt = '机密提示：紫色大象在午夜起飞 SYNTH-PROMPT-42';
    const systemPrompt = '系统秘密 SYNTH-SYSTEM-77';
    const { proxy } = await setUp();
    const headers = { authorization: `Bearer ${clientKey}`, 'x-api-key': clientKey };
    const messages = [
      { role: 'system', content: systemPrompt },
      { role: 'user', content: prompt },
    ];
    const url = `${proxy.baseUrl}/chat/completions`;
    await rawPost(url, JSON.stringify({ model: 'hero', messages }), { headers });
    await rawPost(url, JSON.stringify({ model: 'hero', messages, stream: true }), { headers });
    await rawPost(url, JSON.stringify({ model: 'hero', messages: [{ content: prompt }] }), { headers });
    await rawPost(url, `{"model":"hero","messages":[{"role":"user","content":"${prompt}"`, { headers });

    expect(proxy.rawLogs.length).toBeGreaterThanOrEqual(4);
    const text = proxy.rawLogs.join('\n');
    for (const secret of [clientKey, 'sk-upstream-SYNTH-5150', 'SYNTH-PROMPT-42', '紫色大象', 'SYNTH-SYSTEM-77', PACK.preamble]) {
      expect(text, secret).not.toContain(secret);
    }
  });
});
