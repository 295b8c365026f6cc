/**
 * What chat front-ends (SillyTavern, NextChat, LobeChat, ChatBox) need when microtune is
 * added as an OpenAI-compatible endpoint: the model list in OpenAI's shape, and CORS for
 * the ones that call it from the browser.
 *
 * Browsers send a preflight for the chat POST because of `authorization` and
 * `content-type: application/json`. The openai SDK running in a page (LobeChat's client
 * request mode) adds its `x-stainless-*` headers, and Firefox and Safari also list
 * `user-agent`, because the SDK sets that header and those browsers let a page set it.
 */
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import type { TestProxy } from '../helpers/proxy.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { dialectUpstream, ollama } from './support/dialects.js';
import { ANSWER, THINKING_MODES, USER_QUESTION, keeperAlias, startKeeperProxy } from './support/keeper.js';

const FRONT_END_ORIGIN = 'http://localhost:3210';
const OTHER_ORIGIN = 'http://localhost:4000';
const PROXY_KEY = 'mt-front-end-key';

/** Access-Control-Request-Headers as browsers send them: lower case, sorted, comma-separated. */
const PREFLIGHTS = {
  'plain fetch (NextChat, ChatBox, SillyTavern)': 'authorization,content-type',
  'openai SDK in Chrome (LobeChat)':
    'authorization,content-type,x-stainless-arch,x-stainless-lang,x-stainless-os,x-stainless-package-version,' +
    'x-stainless-retry-count,x-stainless-runtime,x-stainless-runtime-version,x-stainless-timeout',
  'openai SDK in Firefox (LobeChat)':
    'authorization,content-type,user-agent,x-stainless-arch,x-stainless-lang,x-stainless-os,x-stainless-package-version,' +
    'x-stainless-retry-count,x-stainless-runtime,x-stainless-runtime-version,x-stainless-timeout',
};

let upstream: TestUpstream | undefined;
let proxy: TestProxy | undefined;

afterEach(async () => {
  await proxy?.close();
  await upstream?.close();
  proxy = undefined;
  upstream = undefined;
});

async function setUp(config: Record<string, unknown> = {}) {
  upstream = await startUpstream(dialectUpstream(ollama));
  proxy = await startKeeperProxy(upstream.baseUrl, { model: ollama.model, config });
  return { upstream, proxy };
}

function headerList(value: string | string[] | undefined): string[] {
  const text = Array.isArray(value) ? value.join(',') : (value ?? '');
  return text
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '');
}

async function preflight(proxy: TestProxy, origin: string, requestHeaders: string) {
  const response = await request(`${proxy.baseUrl}/chat/completions`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': requestHeaders },
  });
  await response.body.dump();
  return response;
}

describe('model list for front-ends', () => {
  it('has the OpenAI list shape', async () => {
    const { proxy } = await setUp();
    const response = await request(`${proxy.baseUrl}/models`, { headers: { authorization: 'Bearer sk-anything' } });
    const body = (await response.body.json()) as { object: string; data: Record<string, unknown>[] };

    expect(response.statusCode).toBe(200);
    expect(body.object).toBe('list');
    expect(body.data.map((model) => model.id).sort()).toEqual(THINKING_MODES.map(keeperAlias).sort());
    for (const model of body.data) {
      expect(Object.keys(model).sort()).toEqual(['created', 'id', 'object', 'owned_by']);
      expect(model.object).toBe('model');
      expect(Number.isInteger(model.created)).toBe(true);
      expect(model.created as number).toBeGreaterThan(1_600_000_000);
      expect(model.created as number).toBeLessThan(10_000_000_000);
      expect(typeof model.owned_by).toBe('string');
    }
  });

  it('works with the openai SDK list and retrieve', async () => {
    const { proxy } = await setUp();
    const client = proxy.client();
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);

    expect(ids.sort()).toEqual(THINKING_MODES.map(keeperAlias).sort());
    expect((await client.models.retrieve(keeperAlias('strip'))).id).toBe(keeperAlias('strip'));
  });

  it('asks for the proxy key when keys are on', async () => {
    const { proxy } = await setUp({ auth: { apiKeys: [PROXY_KEY] } });
    const without = await request(`${proxy.baseUrl}/models`);
    await without.body.dump();
    const withKey = await request(`${proxy.baseUrl}/models`, { headers: { authorization: `Bearer ${PROXY_KEY}` } });
    await withKey.body.dump();

    expect(without.statusCode).toBe(401);
    expect(withKey.statusCode).toBe(200);
  });
});

describe('CORS for browser front-ends', () => {
  for (const [client, requestHeaders] of Object.entries(PREFLIGHTS)) {
    it(`preflight passes for ${client}`, async () => {
      const { proxy } = await setUp({ cors: { origins: [FRONT_END_ORIGIN] } });
      const response = await preflight(proxy, FRONT_END_ORIGIN, requestHeaders);

      expect(response.statusCode).toBe(204);
      expect(response.headers['access-control-allow-origin']).toBe(FRONT_END_ORIGIN);
      expect(headerList(response.headers['access-control-allow-methods'])).toContain('post');
      const allowed = headerList(response.headers['access-control-allow-headers']);
      const missing = headerList(requestHeaders).filter((name) => !allowed.includes(name));
      expect(missing).toEqual([]);
      expect(Number(response.headers['access-control-max-age'])).toBeGreaterThan(0);
    });
  }

  it('preflight needs no proxy key', async () => {
    const { proxy } = await setUp({ cors: { origins: [FRONT_END_ORIGIN] }, auth: { apiKeys: [PROXY_KEY] } });
    const response = await preflight(proxy, FRONT_END_ORIGIN, PREFLIGHTS['plain fetch (NextChat, ChatBox, SillyTavern)']);

    expect(response.statusCode).toBe(204);
    expect(response.headers['access-control-allow-origin']).toBe(FRONT_END_ORIGIN);
  });

  it('model list carries the allow-origin header', async () => {
    const { proxy } = await setUp({ cors: { origins: [FRONT_END_ORIGIN] } });
    const listed = await request(`${proxy.baseUrl}/models`, { headers: { origin: FRONT_END_ORIGIN } });
    await listed.body.dump();
    const other = await request(`${proxy.baseUrl}/models`, { headers: { origin: OTHER_ORIGIN } });
    await other.body.dump();

    expect(listed.statusCode).toBe(200);
    expect(listed.headers['access-control-allow-origin']).toBe(FRONT_END_ORIGIN);
    expect(headerList(listed.headers.vary)).toContain('origin');
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('streamed chat carries CORS headers', async () => {
    const { proxy } = await setUp({ cors: { origins: [FRONT_END_ORIGIN] } });
    const response = await request(`${proxy.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { origin: FRONT_END_ORIGIN, 'content-type': 'application/json', authorization: 'Bearer sk-anything' },
      body: JSON.stringify({ model: keeperAlias('strip'), stream: true, messages: [{ role: 'user', content: USER_QUESTION }] }),
    });
    const text = await response.body.text();

    expect(response.statusCode).toBe(200);
    expect(response.headers['access-control-allow-origin']).toBe(FRONT_END_ORIGIN);
    expect(headerList(response.headers['access-control-expose-headers'])).toContain('x-request-id');
    const content = text
      .split('\n\n')
      .filter((event) => event.startsWith('data: {'))
      .map((event) => (JSON.parse(event.slice('data: '.length)) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta.content ?? '')
      .join('');
    expect(content).toBe(ANSWER);
  });

  it('a 401 is readable from the page', async () => {
    // Without the allow-origin header the browser hides the error body, and the
    // front-end can only report a network failure instead of "Missing API key".
    const { proxy } = await setUp({ cors: { origins: [FRONT_END_ORIGIN] }, auth: { apiKeys: [PROXY_KEY] } });
    const response = await request(`${proxy.baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { origin: FRONT_END_ORIGIN, 'content-type': 'application/json' },
      body: JSON.stringify({ model: keeperAlias('strip'), messages: [{ role: 'user', content: USER_QUESTION }] }),
    });
    const body = (await response.body.json()) as { error: { code: string } };

    expect(response.statusCode).toBe(401);
    expect(body.error.code).toBe('missing_api_key');
    expect(response.headers['access-control-allow-origin']).toBe(FRONT_END_ORIGIN);
  });
});
