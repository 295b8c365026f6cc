import { afterEach, describe, expect, it } from 'vitest';
import { chunkedAnswer, completion, jsonAnswer, sseChunk, startUpstream, type TestUpstream, type UpstreamHandler } from '../helpers/upstream.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { chatBody, expectOpenAIError, freePort, parseJson, rawPost, type RawResponse } from './support.js';

let upstream: TestUpstream | undefined;
let proxy: TestProxy | undefined;

afterEach(async () => {
  await proxy?.close();
  await upstream?.close();
  proxy = undefined;
  upstream = undefined;
});

const PROXY_KEYS = ['sk-proxy-alpha-1111', 'sk-proxy-beta-2222'];
const UPSTREAM_KEY = 'sk-upstream-SECRET-9f8e7d6c';
const NO_RETRY = { maxRetries: 0 };

interface SetUpOptions {
  upstreamKey?: string;
  config?: Record<string, unknown>;
  env?: Record<string, string>;
  handler?: UpstreamHandler;
}

async function setUp(options: SetUpOptions = {}) {
  upstream = await startUpstream(options.handler ?? jsonAnswer(completion('好')));
  const defaultUpstream: Record<string, unknown> = { baseUrl: upstream.baseUrl, retry: NO_RETRY };
  if (options.upstreamKey !== undefined) defaultUpstream.apiKey = options.upstreamKey;
  proxy = await startProxy({
    config: { upstreams: { default: defaultUpstream }, aliases: { hero: { model: 'm' } }, ...options.config },
    env: options.env ?? {},
  });
  return { upstream, proxy };
}

function chat(headers: Record<string, string> = {}, body = chatBody('hero')) {
  return rawPost(`${proxy!.baseUrl}/chat/completions`, body, { headers });
}

function get(pathname: string, headers: Record<string, string> = {}) {
  return rawPost(`${proxy!.url}${pathname}`, '', { method: 'GET', headers });
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describe('proxy keys', () => {
  it('answers 401 missing_api_key without a key', async () => {
    const { upstream } = await setUp({ upstreamKey: UPSTREAM_KEY, config: { auth: { apiKeys: PROXY_KEYS } } });
    const response = await chat();
    expect(response.status).toBe(401);
    const body = expectOpenAIError(parseJson(response.text));
    expect(body.error.code).toBe('missing_api_key');
    expect(upstream.requests).toHaveLength(0);
  });

  it('answers 401 invalid_api_key for a wrong key', async () => {
    const { upstream } = await setUp({ upstreamKey: UPSTREAM_KEY, config: { auth: { apiKeys: PROXY_KEYS } } });
    for (const headers of [bearer('sk-proxy-alpha-111'), bearer(`${PROXY_KEYS[0]}x`), { 'x-api-key': 'sk-wrong' }, bearer(UPSTREAM_KEY)]) {
      const label = JSON.stringify(headers);
      const response = await chat(headers);
      expect(response.status, label).toBe(401);
      expect(expectOpenAIError(parseJson(response.text), label).error.code, label).toBe('invalid_api_key');
    }
    expect(upstream.requests).toHaveLength(0);
  });

  it('sends the upstream key, never the proxy key', async () => {
    const { upstream } = await setUp({ upstreamKey: UPSTREAM_KEY, config: { auth: { apiKeys: PROXY_KEYS } } });
    expect((await chat(bearer(PROXY_KEYS[1]!))).status).toBe(200);
    expect((await chat({ 'x-api-key': PROXY_KEYS[0]! })).status).toBe(200);
    for (const request of upstream.requests) {
      expect(request.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
      expect(request.headers['x-api-key']).toBeUndefined();
      expect(JSON.stringify(request.headers)).not.toContain('sk-proxy-');
    }
  });

  it('sends no key when the upstream has none', async () => {
    const { upstream } = await setUp({ upstreamKey: '', config: { auth: { apiKeys: PROXY_KEYS } } });
    expect((await chat(bearer(PROXY_KEYS[0]!))).status).toBe(200);
    expect((await chat({ 'x-api-key': PROXY_KEYS[1]! })).status).toBe(200);
    for (const request of upstream.requests) {
      expect(request.headers.authorization).toBeUndefined();
      expect(request.headers['x-api-key']).toBeUndefined();
    }
  });

  it('reads keys from MICROTUNE_API_KEYS', async () => {
    const { upstream } = await setUp({
      upstreamKey: UPSTREAM_KEY,
      config: { auth: { apiKeys: [PROXY_KEYS[0]] } },
      env: { MICROTUNE_API_KEYS: 'sk-env-one, sk-env-two,,' },
    });
    for (const key of [PROXY_KEYS[0]!, 'sk-env-one', 'sk-env-two']) {
      expect((await chat(bearer(key))).status, key).toBe(200);
    }
    expect((await chat(bearer('sk-env-three'))).status).toBe(401);
    expect((await chat(bearer(''))).status).toBe(401);
    expect(upstream.requests).toHaveLength(3);
  });

  it('forwards the client key when keys are off and the upstream has none', async () => {
    const { upstream } = await setUp({ upstreamKey: '' });
    expect((await chat(bearer('sk-client-own-key'))).status).toBe(200);
    expect(upstream.requests[0]?.headers.authorization).toBe('Bearer sk-client-own-key');
  });

  it('replaces the client key when keys are off and the upstream has one', async () => {
    const { upstream } = await setUp({ upstreamKey: UPSTREAM_KEY });
    expect((await chat(bearer('sk-client-own-key'))).status).toBe(200);
    expect(upstream.requests[0]?.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
  });

  it('keeps /healthz open and guards the model list', async () => {
    await setUp({ upstreamKey: UPSTREAM_KEY, config: { auth: { apiKeys: PROXY_KEYS } } });
    expect((await get('/healthz')).status).toBe(200);
    const models = await get('/v1/models');
    expect(models.status).toBe(401);
    expectOpenAIError(parseJson(models.text));
    expect((await get('/v1/models', bearer(PROXY_KEYS[0]!))).status).toBe(200);
  });
});

describe('secrets', () => {
  function expectNoSecret(response: RawResponse, label: string) {
    const text = `${JSON.stringify(response.headers)}\n${response.text}`;
    expect(text, label).not.toContain(UPSTREAM_KEY);
    expect(text, label).not.toContain(PROXY_KEYS[0]);
  }

  it('keeps keys out of responses and logs', async () => {
    let mode = 'json';
    const handler: UpstreamHandler = (request, response) => {
      if (mode === 'json') return jsonAnswer(completion('好'))(request, response);
      if (mode === 'stream') return chunkedAnswer([sseChunk({ content: '好' }), sseChunk({}, { finishReason: 'stop' }), 'data: [DONE]\n\n'])(request, response);
      if (mode === 'reset') return chunkedAnswer([sseChunk({ content: '好' })], { end: 'reset' })(request, response);
      return jsonAnswer({ error: { message: 'Incorrect API key provided: sk-up***', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } }, 401)(request, response);
    };
    const { proxy } = await setUp({ handler, upstreamKey: UPSTREAM_KEY, config: { auth: { apiKeys: PROXY_KEYS } } });

    const key = bearer(PROXY_KEYS[0]!);
    const responses: [string, RawResponse][] = [];
    for (const item of ['json', 'stream', 'reset', 'upstream401']) {
      mode = item;
      responses.push([item, await chat(key, chatBody('hero', '你好', { stream: item === 'stream' || item === 'reset' }))]);
    }
    responses.push(['no key', await chat()]);
    responses.push(['wrong key', await chat(bearer('sk-proxy-alpha-1112'))]);
    responses.push(['invalid body', await chat(key, '{"model":')]);
    responses.push(['models', await get('/v1/models', key)]);
    responses.push(['readyz', await get('/readyz')]);
    responses.push(['metrics', await get('/metrics')]);
    for (const [label, response] of responses) expectNoSecret(response, label);

    const logs = proxy.rawLogs.join('\n');
    expect(logs).not.toContain(UPSTREAM_KEY);
    expect(logs).not.toContain(PROXY_KEYS[0]);
    expect(logs).not.toContain('sk-proxy-alpha-1112');
  });

  it('keeps the upstream key out of a 502', async () => {
    const port = await freePort();
    proxy = await startProxy({
      config: {
        upstreams: {
          default: { baseUrl: `http://127.0.0.1:${port}/v1`, apiKey: UPSTREAM_KEY, retry: NO_RETRY },
        },
        aliases: { hero: { model: 'm' } },
      },
    });
    const unreachable = await chat();
    expect(unreachable.status).toBe(502);
    expect(unreachable.text).not.toContain(UPSTREAM_KEY);
    expect(proxy.rawLogs.join('\n')).not.toContain(UPSTREAM_KEY);
  });
});

describe('CORS', () => {
  const PREFLIGHT = {
    origin: 'https://chat.example',
    'access-control-request-method': 'POST',
    'access-control-request-headers': 'authorization, content-type',
  };

  function preflight(headers: Record<string, string> = PREFLIGHT) {
    return rawPost(`${proxy!.baseUrl}/chat/completions`, '', { method: 'OPTIONS', headers });
  }

  const corsConfig = { cors: { origins: ['https://chat.example'] }, auth: { apiKeys: PROXY_KEYS } };

  it('answers a preflight from an allowed origin', async () => {
    const { upstream } = await setUp({ config: corsConfig });
    const response = await preflight();
    expect(response.status).toBeGreaterThanOrEqual(200);
    expect(response.status).toBeLessThan(300);
    expect(response.headers['access-control-allow-origin']).toBe('https://chat.example');
    const allowed = String(response.headers['access-control-allow-headers']).toLowerCase().split(/\s*,\s*/);
    expect(allowed).toContain('authorization');
    expect(allowed).toContain('content-type');
    expect(String(response.headers['access-control-allow-methods'])).toContain('POST');
    expect(String(response.headers.vary).toLowerCase()).toContain('origin');
    expect(upstream.requests).toHaveLength(0);
  });

  it('gives no allow-origin to another origin', async () => {
    await setUp({ config: corsConfig });
    const response = await preflight({ ...PREFLIGHT, origin: 'https://evil.example' });
    expect(response.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('adds CORS headers to answers and errors', async () => {
    await setUp({ config: corsConfig, handler: chunkedAnswer([sseChunk({ content: '好' }), sseChunk({}, { finishReason: 'stop' }), 'data: [DONE]\n\n']) });
    const origin = { origin: 'https://chat.example' };
    const stream = await chat({ ...origin, ...bearer(PROXY_KEYS[0]!) }, chatBody('hero', '你好', { stream: true }));
    expect(stream.status).toBe(200);
    expect(stream.headers['access-control-allow-origin']).toBe('https://chat.example');
    expect(String(stream.headers['access-control-expose-headers'])).toContain('x-request-id');

    const unauthorized = await chat(origin);
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.headers['access-control-allow-origin']).toBe('https://chat.example');
  });

  it('sends no CORS headers without origins', async () => {
    await setUp();
    const response = await preflight();
    expect(Object.keys(response.headers).filter((name) => name.startsWith('access-control-'))).toEqual([]);
    const post = await chat({ origin: 'https://chat.example' });
    expect(post.status).toBe(200);
    expect(Object.keys(post.headers).filter((name) => name.startsWith('access-control-'))).toEqual([]);
  });
});

describe('rate limit', () => {
  it('answers 429 after max requests per key', async () => {
    const { upstream } = await setUp({ config: { auth: { apiKeys: PROXY_KEYS }, rateLimit: { max: 3, windowMs: 60_000 } } });
    const alpha = bearer(PROXY_KEYS[0]!);
    for (let index = 0; index < 3; index += 1) expect((await chat(alpha)).status, `request ${index + 1}`).toBe(200);
    const limited = await chat(alpha);
    expect(limited.status).toBe(429);
    const body = expectOpenAIError(parseJson(limited.text));
    expect(body.error.type).toBe('rate_limit_error');
    expect(body.error.code).toBe('rate_limit_exceeded');
    expect(limited.headers['retry-after']).toBeDefined();
    expect(upstream.requests).toHaveLength(3);

    expect((await chat(bearer(PROXY_KEYS[1]!))).status).toBe(200);
    for (let index = 0; index < 5; index += 1) expect((await get('/healthz')).status).toBe(200);
  });
});
