import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { completion, jsonAnswer, sleep, startUpstream, type TestUpstream, type UpstreamHandler } from '../helpers/upstream.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { chatBody, expectOpenAIError, freePort, parseJson, rawPost } from './support.js';

let upstream: TestUpstream | undefined;
let proxy: TestProxy | undefined;

afterEach(async () => {
  await proxy?.close();
  await upstream?.close();
  proxy = undefined;
  upstream = undefined;
});

const NO_RETRY = { maxRetries: 0, baseDelayMs: 10, maxDelayMs: 10, maxRetryAfterMs: 0 };

async function setUp(handler: UpstreamHandler, config: Record<string, unknown> = {}, upstreamExtra: Record<string, unknown> = {}) {
  upstream = await startUpstream(handler);
  proxy = await startProxy({
    config: {
      upstreams: { default: { baseUrl: upstream.baseUrl, retry: NO_RETRY, ...upstreamExtra } },
      aliases: { hero: { model: 'm' } },
      ...config,
    },
  });
  return { upstream, proxy };
}

async function post(body: string | Buffer, headers: Record<string, string> = {}) {
  return rawPost(`${proxy!.baseUrl}/chat/completions`, body, { headers });
}

describe('client errors', () => {
  it('rejects invalid JSON with 400 invalid_json', async () => {
    const { upstream } = await setUp(jsonAnswer(completion('好')));
    const response = await post('{"model": "hero", "messages": [');
    expect(response.status).toBe(400);
    expect(response.headers['content-type']).toMatch(/application\/json/);
    const body = expectOpenAIError(parseJson(response.text));
    expect(body.error.code).toBe('invalid_json');
    expect(body.error.type).toBe('invalid_request_error');
    expect(upstream.requests).toHaveLength(0);
  });

  it('names the invalid field in param and message', async () => {
    const { upstream } = await setUp(jsonAnswer(completion('好')));
    const cases: [unknown, string][] = [
      [{ messages: [{ role: 'user', content: 'x' }] }, 'model'],
      [{ model: '', messages: [{ role: 'user', content: 'x' }] }, 'model'],
      [{ model: 'hero', messages: [] }, 'messages'],
      [{ model: 'hero', messages: 'hello' }, 'messages'],
      [{ model: 'hero', messages: [{ role: 'user', content: 'x' }, { content: 'no role' }] }, 'messages[1].role'],
      [{ model: 'hero', messages: [{ role: 'user', content: 'x' }], stream: 'yes' }, 'stream'],
    ];
    for (const [request, field] of cases) {
      const label = JSON.stringify(request);
      const response = await post(JSON.stringify(request));
      expect(response.status, label).toBe(400);
      const body = expectOpenAIError(parseJson(response.text), label);
      expect(body.error.code, label).toBe('invalid_request');
      expect(body.error.param, label).toBe(field);
      expect(body.error.message, label).toContain(field);
    }
    expect(upstream.requests).toHaveLength(0);
  });

  it('rejects a JSON body that is not an object', async () => {
    await setUp(jsonAnswer(completion('好')));
    for (const text of ['[]', '"hello"', '42', 'null']) {
      const response = await post(text);
      expect(response.status, text).toBe(400);
      expectOpenAIError(parseJson(response.text), text);
    }
  });

  it('rejects other content types in OpenAI shape', async () => {
    await setUp(jsonAnswer(completion('好')));
    const unsupported = await post(chatBody('hero'), { 'content-type': 'application/xml' });
    expect(unsupported.status).toBe(415);
    expect(expectOpenAIError(parseJson(unsupported.text)).error.code).toBe('unsupported_media_type');

    // Fastify parses text/plain as a string, which is then not a JSON object.
    const plain = await post(chatBody('hero'), { 'content-type': 'text/plain' });
    expect(plain.status).toBe(400);
    expectOpenAIError(parseJson(plain.text));
  });

  it('answers unknown routes with 404 in OpenAI shape', async () => {
    await setUp(jsonAnswer(completion('好')));
    const wrongPath = await rawPost(`${proxy!.baseUrl}/completions`, chatBody('hero'));
    expect(wrongPath.status).toBe(404);
    expectOpenAIError(parseJson(wrongPath.text));
    const wrongMethod = await fetch(`${proxy!.baseUrl}/chat/completions`);
    expect(wrongMethod.status).toBe(404);
    expectOpenAIError(await wrongMethod.json());
  });

  it('answers 404 model_not_found without passthrough', async () => {
    const { upstream } = await setUp(jsonAnswer(completion('好')), { passthrough: { enabled: false } });
    for (const model of ['no-such-alias', 'pack:hero/m']) {
      const response = await post(chatBody(model));
      expect(response.status, model).toBe(404);
      const body = expectOpenAIError(parseJson(response.text), model);
      expect(body.error.code, model).toBe('model_not_found');
      expect(body.error.param, model).toBe('model');
      expect(body.error.message, model).toContain(model);
    }
    expect(upstream.requests).toHaveLength(0);
  });
});

describe('body limit', () => {
  it('answers 413 above server.bodyLimitBytes', async () => {
    const { upstream } = await setUp(jsonAnswer(completion('好')), { server: { bodyLimitBytes: 4096 } });
    const response = await post(chatBody('hero', 'x'.repeat(8000)));
    expect(response.status).toBe(413);
    const body = expectOpenAIError(parseJson(response.text));
    expect(body.error.code).toBe('request_too_large');
    expect(upstream.requests).toHaveLength(0);

    const small = await post(chatBody('hero', 'x'.repeat(1000)));
    expect(small.status).toBe(200);
  });

  it('passes a 1.6 MB image and a long Chinese chat by default', async () => {
    const { upstream } = await setUp(jsonAnswer(completion('收到')));
    const image = `data:image/png;base64,${randomBytes(1_200_000).toString('base64')}`;
    const imageBody = JSON.stringify({
      model: 'hero',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: '这张图里有什么？' },
            { type: 'image_url', image_url: { url: image } },
          ],
        },
      ],
    });
    expect(imageBody.length).toBeGreaterThan(1_600_000);
    const imageResponse = await post(imageBody);
    expect(imageResponse.status, imageResponse.text.slice(0, 300)).toBe(200);
    expect(upstream.requests[0]?.json.messages[0].content[1].image_url.url).toBe(image);

    // About 600 KB of UTF-8 over 200 turns, as a long role-play chat grows.
    const turns = Array.from({ length: 200 }, (_, index) => ({
      role: index % 2 === 0 ? 'user' : 'assistant',
      content: `第${index}轮：${'夜色渐深，城门外的风吹过旧旗，守卫低声说着往事。'.repeat(40)}`,
    }));
    const chatText = JSON.stringify({ model: 'hero', messages: turns });
    expect(Buffer.byteLength(chatText)).toBeGreaterThan(500_000);
    const chatResponse = await post(chatText);
    expect(chatResponse.status, chatResponse.text.slice(0, 300)).toBe(200);
    expect(upstream.requests[1]?.json.messages).toEqual(turns);
  });
});

describe('upstream failures', () => {
  it('answers 502 when the upstream is unreachable', async () => {
    const port = await freePort();
    proxy = await startProxy({
      config: { upstreams: { default: { baseUrl: `http://127.0.0.1:${port}/v1`, retry: NO_RETRY } }, aliases: { hero: { model: 'm' } } },
    });
    for (const stream of [false, true]) {
      const response = await post(chatBody('hero', '你好', { stream }));
      expect(response.status, `stream ${stream}`).toBe(502);
      const body = expectOpenAIError(parseJson(response.text), `stream ${stream}`);
      expect(body.error.code).toBe('upstream_unreachable');
    }
  });

  it('answers 502 for a 200 body that is not JSON', async () => {
    const garbage: UpstreamHandler = (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<html><body>502 Bad Gateway (nginx)</body></html>');
    };
    await setUp(garbage);
    const response = await post(chatBody('hero'));
    expect(response.status).toBe(502);
    const body = expectOpenAIError(parseJson(response.text));
    expect(body.error.code).toBe('upstream_bad_response');
    expect(body.error.message).toContain('not JSON');
  });

  it('answers 502 for a truncated JSON body', async () => {
    await setUp(jsonAnswer('{"id":"chatcmpl-1","choices":[{"message":{"content":"半'));
    const response = await post(chatBody('hero'));
    expect(response.status).toBe(502);
    expect(expectOpenAIError(parseJson(response.text)).error.code).toBe('upstream_bad_response');
  });

  it('answers 502 for a 200 JSON null', async () => {
    await setUp(jsonAnswer('null'));
    const response = await post(chatBody('hero'));
    expect(response.status).toBe(502);
    expect(expectOpenAIError(parseJson(response.text)).error.code).toBe('upstream_bad_response');
  });

  it('answers 502 for a 200 JSON non-object', async () => {
    let answer = '[]';
    await setUp((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(answer);
    });
    for (const text of ['[]', '"ok"', '42']) {
      answer = text;
      const response = await post(chatBody('hero'));
      expect(response.status, `upstream body ${text}`).toBe(502);
      expectOpenAIError(parseJson(response.text), `upstream body ${text}`);
    }
  });

  it('answers 502 when a stream request gets a non-SSE 200', async () => {
    await setUp(jsonAnswer(completion('不是流')));
    const response = await post(chatBody('hero', '你好', { stream: true }));
    expect(response.status).toBe(502);
    expect(expectOpenAIError(parseJson(response.text)).error.code).toBe('upstream_bad_response');
  });

  it('answers 504 when the first byte is late', async () => {
    const late: UpstreamHandler = async (_request, response) => {
      await sleep(2000);
      if (!response.destroyed) jsonAnswer(completion('太晚了'))(_request, response);
    };
    await setUp(late, {}, { timeouts: { firstByteMs: 300 } });
    const response = await post(chatBody('hero'));
    expect(response.status).toBe(504);
    const body = expectOpenAIError(parseJson(response.text));
    expect(body.error.code).toBe('upstream_timeout');
    expect(response.elapsedMs).toBeLessThan(1500);
  });

  it('relays upstream 4xx and 5xx with status and body', async () => {
    const cases: { status: number; body: string; contentType: string }[] = [
      { status: 400, body: JSON.stringify({ error: { message: 'temperature too high', type: 'invalid_request_error', param: 'temperature', code: null } }), contentType: 'application/json' },
      { status: 401, body: JSON.stringify({ error: { message: 'Incorrect API key provided', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } }), contentType: 'application/json' },
      { status: 404, body: JSON.stringify({ error: { message: 'The model `m` does not exist', type: 'invalid_request_error', param: null, code: 'model_not_found' } }), contentType: 'application/json' },
      { status: 500, body: JSON.stringify({ error: { message: 'internal failure', type: 'server_error', param: null, code: null } }), contentType: 'application/json' },
      { status: 503, body: JSON.stringify({ error: { message: 'overloaded', type: 'server_error', param: null, code: null } }), contentType: 'application/json' },
    ];
    let current = cases[0]!;
    await setUp((_request, response) => {
      response.writeHead(current.status, { 'content-type': current.contentType });
      response.end(current.body);
    });
    for (const item of cases) {
      current = item;
      for (const stream of [false, true]) {
        const label = `${item.status} stream ${stream}`;
        const response = await post(chatBody('hero', '你好', { stream }));
        expect(response.status, label).toBe(item.status);
        expect(parseJson(response.text, label), label).toEqual(JSON.parse(item.body));
      }
    }
  });

  it('wraps a non-JSON upstream error in OpenAI shape', async () => {
    await setUp((_request, response) => {
      response.writeHead(500, { 'content-type': 'text/plain' });
      response.end('Internal Server Error: CUDA out of memory');
    });
    for (const stream of [false, true]) {
      const response = await post(chatBody('hero', '你好', { stream }));
      expect(response.status, `stream ${stream}`).toBe(500);
      const body = expectOpenAIError(parseJson(response.text), `stream ${stream}`);
      expect(body.error.message).toContain('CUDA out of memory');
    }
  });
});
