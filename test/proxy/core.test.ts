import { afterEach, describe, expect, it } from 'vitest';
import {
  chunkedAnswer,
  completion,
  jsonAnswer,
  sleep,
  sseChunk,
  startUpstream,
  type TestUpstream,
} from '../helpers/upstream.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { renderPack } from '../../src/packs/render.js';

function rawPost(url: string, headers: Record<string, string>, body: string) {
  return new Promise<{ status: number; headers: IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const request = httpRequest(url, { method: 'POST', headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    request.on('error', reject);
    request.end(body);
  });
}

const HERO_PACK = {
  name: 'hero',
  title: '测试角色',
  preamble: '你是测试角色阿青。始终用中文回答。',
  examples: [{ user: '雨夜里你在城门口等谁？', thinking: '她问起我等的人，我得先稳住。', answer: '*抬头* “等一位老朋友。”' }],
};

let upstream: TestUpstream | undefined;
let proxy: TestProxy | undefined;

afterEach(async () => {
  await proxy?.close();
  await upstream?.close();
  proxy = undefined;
  upstream = undefined;
});

async function setUp(handler: Parameters<typeof startUpstream>[0], extra: Record<string, unknown> = {}) {
  upstream = await startUpstream(handler);
  proxy = await startProxy({
    config: {
      upstreams: { default: { baseUrl: upstream.baseUrl, apiKey: 'sk-upstream-secret' } },
      aliases: { 'hero-chat': { pack: 'hero', upstream: 'default', model: 'real-model-7b', thinking: 'keep' } },
      ...extra,
    },
    packs: { 'hero.yaml': HERO_PACK },
  });
  return { upstream, proxy };
}

describe('proxy core, non-streaming', () => {
  it('injects the rendered pack first and forwards the rest', async () => {
    const { upstream, proxy } = await setUp(jsonAnswer(completion('城门外下着雨。', {}, 'real-model-7b')));
    const answer = await proxy.client().chat.completions.create({
      model: 'hero-chat',
      messages: [
        { role: 'system', content: '客户端自己的系统提示' },
        { role: 'user', content: '你好' },
      ],
      temperature: 0.3,
      // Vendor fields are not in the SDK's types but must pass through.
      ...({ enable_thinking: false } as object),
    });

    expect(answer.choices[0]?.message.content).toBe('城门外下着雨。');
    expect(answer.model).toBe('hero-chat');

    const seen = upstream.requests[0];
    expect(seen?.url).toBe('/v1/chat/completions');
    expect(seen?.json.model).toBe('real-model-7b');
    expect(seen?.json.messages).toEqual([
      { role: 'system', content: renderPack({ ...HERO_PACK, examples: HERO_PACK.examples }) },
      { role: 'system', content: '客户端自己的系统提示' },
      { role: 'user', content: '你好' },
    ]);
    expect(seen?.json.temperature).toBe(0.3);
    expect(seen?.json.enable_thinking).toBe(false);
    expect(seen?.headers.authorization).toBe('Bearer sk-upstream-secret');
    expect(seen?.headers['content-length']).toBe(String(Buffer.byteLength(seen?.body ?? '')));
    expect(seen?.headers.host).toBe(new URL(upstream.baseUrl).host);
  });

  it('forwards the client key when the upstream has none', async () => {
    upstream = await startUpstream(jsonAnswer(completion('好')));
    proxy = await startProxy({
      config: { upstreams: { default: { baseUrl: upstream.baseUrl, apiKey: '' } } },
    });
    await proxy.client({ apiKey: 'sk-bring-your-own' }).chat.completions.create({
      model: 'some-upstream-model',
      messages: [{ role: 'user', content: '你好' }],
    });
    expect(upstream.requests[0]?.headers.authorization).toBe('Bearer sk-bring-your-own');
    expect(upstream.requests[0]?.json.model).toBe('some-upstream-model');
    expect(upstream.requests[0]?.json.messages).toHaveLength(1);
  });

  it('passes response headers back and drops hop-by-hop ones', async () => {
    const { proxy, upstream } = await setUp(
      jsonAnswer(completion('好'), 200, { 'x-ratelimit-remaining-requests': '41', 'retry-after': '3' }),
    );
    // fetch() refuses to send a Connection header, so this request uses node:http.
    const response = await rawPost(`${proxy.baseUrl}/chat/completions`, {
      'content-type': 'application/json',
      connection: 'keep-alive, x-hop',
      'x-hop': 'secret-hop',
      'x-custom-trace': 'trace-1',
      'accept-encoding': 'identity',
    }, JSON.stringify({ model: 'hero-chat', messages: [{ role: 'user', content: '你好' }] }));
    expect(response.status).toBe(200);
    expect(response.headers['x-ratelimit-remaining-requests']).toBe('41');
    expect(response.headers['retry-after']).toBe('3');
    const seen = upstream.requests[0];
    expect(seen?.headers['x-custom-trace']).toBe('trace-1');
    expect(seen?.headers['x-hop']).toBeUndefined();
    expect(seen?.headers['accept-encoding']).not.toBe('identity');
  });

  it('relays an upstream error with its status', async () => {
    const { proxy } = await setUp(
      jsonAnswer({ error: { message: 'Rate limit reached: max RPM 3', type: 'rate_limit', code: 'rate_limit' } }, 429, {
        'retry-after': '0',
      }),
    );
    const response = await fetch(`${proxy.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'hero-chat', messages: [{ role: 'user', content: '你好' }] }),
    });
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('0');
    const body = (await response.json()) as { error: { message: string } };
    expect(body.error.message).toContain('max RPM');
  });
});

describe('proxy core, streaming', () => {
  it('re-streams events as they arrive, with the alias as model', async () => {
    const chunks = [
      sseChunk({ role: 'assistant', content: '' }, { model: 'real-model-7b' }),
      sseChunk({ content: '雨' }, { model: 'real-model-7b' }),
      sseChunk({ content: '停了。' }, { model: 'real-model-7b' }),
      sseChunk({}, { model: 'real-model-7b', finishReason: 'stop' }),
      'data: [DONE]\n\n',
    ];
    let lastWrittenAt = 0;
    const { proxy } = await setUp(async (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const chunk of chunks.slice(0, 2)) response.write(chunk);
      await sleep(400);
      for (const chunk of chunks.slice(2)) response.write(chunk);
      lastWrittenAt = Date.now();
      response.end();
    });

    const stream = await proxy.client().chat.completions.create({
      model: 'hero-chat',
      messages: [{ role: 'user', content: '你好' }],
      stream: true,
    });
    let content = '';
    let firstContentAt = 0;
    const models = new Set<string>();
    for await (const chunk of stream) {
      models.add(chunk.model);
      const text = chunk.choices[0]?.delta.content ?? '';
      if (text !== '' && firstContentAt === 0) firstContentAt = Date.now();
      content += text;
    }
    expect(content).toBe('雨停了。');
    expect([...models]).toEqual(['hero-chat']);
    expect(firstContentAt).toBeGreaterThan(0);
    expect(firstContentAt).toBeLessThan(lastWrittenAt);
  });

  it('delivers the usage chunk with empty choices', async () => {
    const usage = { prompt_tokens: 30, completion_tokens: 2, total_tokens: 32 };
    const { proxy, upstream } = await setUp(
      chunkedAnswer([
        sseChunk({ role: 'assistant', content: '好' }),
        sseChunk({}, { finishReason: 'stop' }),
        `data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage })}\n\n`,
        'data: [DONE]\n\n',
      ]),
    );
    const stream = await proxy.client().chat.completions.create({
      model: 'hero-chat',
      messages: [{ role: 'user', content: '你好' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let seenUsage: unknown;
    for await (const chunk of stream) {
      if (chunk.choices.length === 0) seenUsage = chunk.usage;
    }
    expect(seenUsage).toEqual(usage);
    expect(upstream.requests[0]?.json.stream_options).toEqual({ include_usage: true });
  });
});

describe('proxy core, routes', () => {
  it('lists aliases and answers health checks', async () => {
    const { proxy } = await setUp(jsonAnswer(completion('好')));
    const models = await proxy.client().models.list();
    expect(models.data.map((model) => model.id)).toEqual(['hero-chat']);
    const health = await fetch(`${proxy.url}/healthz`);
    expect(health.status).toBe(200);
  });

  it('answers 503 for an alias whose pack is broken', async () => {
    upstream = await startUpstream(jsonAnswer(completion('好')));
    proxy = await startProxy({
      config: {
        upstreams: { default: { baseUrl: upstream.baseUrl } },
        aliases: { broken: { pack: 'broken', model: 'm' }, fine: { pack: 'hero', model: 'm' } },
      },
      packs: { 'hero.yaml': HERO_PACK, 'broken.yaml': { name: 'broken', examples: [{ user: '', thinking: 'x', answer: 'y' }] } },
    });
    const bad = await fetch(`${proxy.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'broken', messages: [{ role: 'user', content: '你好' }] }),
    });
    expect(bad.status).toBe(503);
    const body = (await bad.json()) as { error: { message: string; code: string } };
    expect(body.error.code).toBe('pack_unavailable');
    expect(body.error.message).toContain('examples[0].user');
    const good = await proxy.client().chat.completions.create({ model: 'fine', messages: [{ role: 'user', content: '你好' }] });
    expect(good.choices[0]?.message.content).toBe('好');
  });

  it('rejects invalid bodies in the OpenAI error shape', async () => {
    const { proxy, upstream } = await setUp(jsonAnswer(completion('好')));
    const cases: [string, number, string][] = [
      ['{not json', 400, 'invalid_json'],
      [JSON.stringify({ model: 'hero-chat' }), 400, 'invalid_request'],
      [JSON.stringify({ model: 'hero-chat', messages: [{ content: 'x' }] }), 400, 'invalid_request'],
      [JSON.stringify({ model: 'hero-chat', messages: [{ role: 'user', content: 'x' }], microtune_thinking: 'hide' }), 400, 'invalid_thinking_mode'],
    ];
    for (const [body, status, code] of cases) {
      const response = await fetch(`${proxy.baseUrl}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      expect(response.status, body).toBe(status);
      const json = (await response.json()) as { error: Record<string, unknown> };
      expect(Object.keys(json.error).sort(), body).toEqual(['code', 'message', 'param', 'type']);
      expect(json.error.code, body).toBe(code);
    }
    expect(upstream.requests).toHaveLength(0);
  });

  it('keeps keys and message text out of the log', async () => {
    const { proxy } = await setUp(jsonAnswer(completion('好')));
    await proxy.client({ apiKey: 'sk-client-very-secret' }).chat.completions.create({
      model: 'hero-chat',
      messages: [{ role: 'user', content: '秘密的悄悄话' }],
    });
    const text = proxy.rawLogs.join('\n');
    expect(text).not.toContain('sk-client-very-secret');
    expect(text).not.toContain('sk-upstream-secret');
    expect(text).not.toContain('秘密的悄悄话');
    const line = proxy.logs.find((entry) => entry.msg === 'chat request completed');
    expect(line?.alias).toBe('hero-chat');
    expect(line?.status).toBe(200);
  });
});

describe('user name placeholder', () => {
  const GREETER = { name: 'greeter', char: '阿青', user: '旅人', preamble: '你是{{char}}，称呼对方为{{user}}。' };

  it('fills {{user}} from the pack, or from x-microtune-user', async () => {
    upstream = await startUpstream(jsonAnswer(completion('好')));
    proxy = await startProxy({
      config: { upstreams: { default: { baseUrl: upstream.baseUrl } }, aliases: { greeter: { pack: 'greeter', model: 'm' } } },
      packs: { 'greeter.yaml': GREETER },
    });
    const messages = [{ role: 'user' as const, content: '你好' }];
    await proxy.client().chat.completions.create({ model: 'greeter', messages });
    await proxy.client({ defaultHeaders: { 'x-microtune-user': encodeURIComponent('小明') } }).chat.completions.create({ model: 'greeter', messages });
    await proxy.client({ defaultHeaders: { 'x-microtune-user': 'Alex' } }).chat.completions.create({ model: 'greeter', messages });

    expect(upstream.requests[0]?.json.messages[0].content).toBe('你是阿青，称呼对方为旅人。');
    expect(upstream.requests[1]?.json.messages[0].content).toBe('你是阿青，称呼对方为小明。');
    expect(upstream.requests[2]?.json.messages[0].content).toBe('你是阿青，称呼对方为Alex。');
    expect(upstream.requests[2]?.headers['x-microtune-user']).toBeUndefined();
  });

  it('rejects a user name with braces', async () => {
    upstream = await startUpstream(jsonAnswer(completion('好')));
    proxy = await startProxy({
      config: { upstreams: { default: { baseUrl: upstream.baseUrl } }, aliases: { greeter: { pack: 'greeter', model: 'm' } } },
      packs: { 'greeter.yaml': GREETER },
    });
    const response = await fetch(`${proxy.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-microtune-user': '{{char}}' },
      body: JSON.stringify({ model: 'greeter', messages: [{ role: 'user', content: '你好' }] }),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('invalid_user_name');
  });
});

describe('compressed upstream answers', () => {
  it('decodes a gzip stream and a br JSON answer', async () => {
    const { createGzip, brotliCompressSync, constants } = await import('node:zlib');
    upstream = await startUpstream((request, response) => {
      if (request.json.stream === true) {
        response.writeHead(200, { 'content-type': 'text/event-stream', 'content-encoding': 'gzip' });
        const gzip = createGzip();
        gzip.pipe(response);
        gzip.write(sseChunk({ role: 'assistant', content: '<think>想一想</think>' }));
        gzip.flush(constants.Z_SYNC_FLUSH, () => {
          gzip.write(sseChunk({ content: '压缩的回答。' }));
          gzip.write(sseChunk({}, { finishReason: 'stop' }));
          gzip.end('data: [DONE]\n\n');
        });
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'br' });
      response.end(brotliCompressSync(JSON.stringify(completion('<think>嗯</think>br 回答。'))));
    });
    proxy = await startProxy({
      config: { upstreams: { default: { baseUrl: upstream.baseUrl } }, aliases: { zip: { model: 'm', thinking: 'strip' } } },
    });

    const json = await fetch(`${proxy.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'accept-encoding': 'identity' },
      body: JSON.stringify({ model: 'zip', messages: [{ role: 'user', content: '你好' }] }),
    });
    expect(json.headers.get('content-encoding')).toBeNull();
    expect(((await json.json()) as { choices: { message: { content: string } }[] }).choices[0]?.message.content).toBe('br 回答。');

    const stream = await proxy.client().chat.completions.create({ model: 'zip', messages: [{ role: 'user', content: '你好' }], stream: true });
    let content = '';
    for await (const chunk of stream) content += chunk.choices[0]?.delta.content ?? '';
    expect(content).toBe('压缩的回答。');
    expect(String(upstream.requests[0]?.headers['accept-encoding'])).toContain('gzip');
    expect(String(upstream.requests[0]?.headers['accept-encoding'])).toContain('br');
  });
});

describe('corrupt compressed upstream answers', () => {
  it('ends a stream with an error event', async () => {
    const { gzipSync } = await import('node:zlib');
    upstream = await startUpstream((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream', 'content-encoding': 'gzip' });
      // A valid gzip start, then bytes that are not deflate data.
      const good = gzipSync(sseChunk({ role: 'assistant', content: '开头' }));
      response.end(Buffer.concat([good.subarray(0, 20), Buffer.from('this is not deflate data at all')]));
    });
    proxy = await startProxy({
      config: { upstreams: { default: { baseUrl: upstream.baseUrl } }, aliases: { zip: { model: 'm' } } },
    });

    const response = await fetch(`${proxy.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'zip', stream: true, messages: [{ role: 'user', content: '你好' }] }),
    });
    const text = await response.text();
    expect(response.status).toBe(200);
    expect(text).toContain('"code":"upstream_stream_error"');
    expect(text).not.toContain('[DONE]');
  });

  it('answers 502 for a JSON answer', async () => {
    upstream = await startUpstream((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'br' });
      response.end(Buffer.from('not brotli at all, just text'));
    });
    proxy = await startProxy({
      config: { upstreams: { default: { baseUrl: upstream.baseUrl } }, aliases: { zip: { model: 'm' } } },
    });

    const response = await fetch(`${proxy.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'zip', messages: [{ role: 'user', content: '你好' }] }),
    });
    expect(response.status).toBe(502);
    const body = (await response.json()) as { error: { type: string; code: string } };
    expect(body.error.type).toBe('upstream_error');
  });
});

describe('an upstream that keeps its stream open after [DONE]', () => {
  it('ends the client response at [DONE]', async () => {
    upstream = await startUpstream((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write(sseChunk({ role: 'assistant', content: '说完了' }));
      response.write(sseChunk({}, { finishReason: 'stop' }));
      response.write('data: [DONE]\n\n');
      // The response is never ended; the proxy has to stop waiting for it.
      const timer = setTimeout(() => response.end(), 10_000);
      response.on('close', () => clearTimeout(timer));
    });
    proxy = await startProxy({
      config: { upstreams: { default: { baseUrl: upstream.baseUrl } }, aliases: { open: { model: 'm' } } },
    });

    const startedAt = performance.now();
    const response = await fetch(`${proxy.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'open', stream: true, messages: [{ role: 'user', content: '你好' }] }),
    });
    const text = await response.text();
    const tookMs = performance.now() - startedAt;

    expect(text).toContain('说完了');
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
    // The upstream keeps its response open for 10 s, and the client got the end long before.
    expect(tookMs).toBeLessThan(5000);
    const closed = await waitForValue(() => upstream!.openSockets() === 0, 5000);
    expect(closed, 'the upstream connection was closed after the grace period').toBe(true);
    expect(proxy.logs.some((line) => line.msg === 'chat request completed' && line.outcome === 'done')).toBe(true);
  });
});

async function waitForValue(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return check();
}
