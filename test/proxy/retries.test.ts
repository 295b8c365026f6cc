import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { completion, jsonAnswer, startUpstream, type TestUpstream, type UpstreamHandler } from '../helpers/upstream.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';

let upstreams: TestUpstream[] = [];
let proxy: TestProxy | undefined;

afterEach(async () => {
  await proxy?.close();
  for (const upstream of upstreams) await upstream.close();
  upstreams = [];
  proxy = undefined;
});

const FAST_RETRY = { maxRetries: 2, baseDelayMs: 10, maxDelayMs: 50, maxRetryAfterMs: 2000 };

/** Answers with each handler in turn, then repeats the last one. */
function sequence(...handlers: UpstreamHandler[]): UpstreamHandler {
  let calls = 0;
  return (request, response) => {
    const handler = handlers[Math.min(calls, handlers.length - 1)]!;
    calls += 1;
    return handler(request, response);
  };
}

async function upstream(handler: UpstreamHandler) {
  const started = await startUpstream(handler);
  upstreams.push(started);
  return started;
}

/** A port on 127.0.0.1 with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function post(model = 'hero') {
  return fetch(`${proxy!.baseUrl}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: '你好' }] }),
  });
}

const overloaded = jsonAnswer({ error: { message: 'overloaded', type: 'server_error', code: null } }, 503);

describe('retries', () => {
  it('retries 503 and returns the later success', async () => {
    const main = await upstream(sequence(overloaded, overloaded, jsonAnswer(completion('第三次成功'))));
    proxy = await startProxy({
      config: { upstreams: { default: { baseUrl: main.baseUrl, retry: FAST_RETRY } }, aliases: { hero: { model: 'm' } } },
    });
    const response = await post();
    expect(response.status).toBe(200);
    const body = (await response.json()) as { choices: { message: { content: string } }[] };
    expect(body.choices[0]?.message.content).toBe('第三次成功');
    expect(main.requests).toHaveLength(3);
  });

  it('relays the last status, body and retry-after once retries run out', async () => {
    const limited = jsonAnswer({ error: { message: 'Rate limit: max RPM 3', type: 'rate_limit', code: 'rate_limit' } }, 429, {
      'retry-after': '0',
    });
    const main = await upstream(limited);
    proxy = await startProxy({
      config: { upstreams: { default: { baseUrl: main.baseUrl, retry: FAST_RETRY } }, aliases: { hero: { model: 'm' } } },
    });
    const response = await post();
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('0');
    const body = (await response.json()) as { error: { message: string } };
    expect(body.error.message).toContain('max RPM 3');
    expect(main.requests).toHaveLength(3);
  });

  it('honours retry-after before retrying', async () => {
    const first = jsonAnswer({ error: { message: 'slow down' } }, 429, { 'retry-after': '1' });
    const main = await upstream(sequence(first, jsonAnswer(completion('好'))));
    proxy = await startProxy({
      config: { upstreams: { default: { baseUrl: main.baseUrl, retry: FAST_RETRY } }, aliases: { hero: { model: 'm' } } },
    });
    const started = Date.now();
    const response = await post();
    expect(response.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('does not wait for a retry-after above the cap', async () => {
    const main = await upstream(jsonAnswer({ error: { message: 'come back tomorrow' } }, 429, { 'retry-after': '3600' }));
    proxy = await startProxy({
      config: { upstreams: { default: { baseUrl: main.baseUrl, retry: FAST_RETRY } }, aliases: { hero: { model: 'm' } } },
    });
    const response = await post();
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('3600');
    expect(main.requests).toHaveLength(1);
  });

  it('does not retry a 429 for spent quota', async () => {
    const quota = jsonAnswer({ error: { message: 'You exceeded your current quota', type: 'insufficient_quota', code: 'insufficient_quota' } }, 429);
    const main = await upstream(quota);
    proxy = await startProxy({
      config: { upstreams: { default: { baseUrl: main.baseUrl, retry: FAST_RETRY } }, aliases: { hero: { model: 'm' } } },
    });
    const response = await post();
    expect(response.status).toBe(429);
    expect(main.requests).toHaveLength(1);
  });

  it('does not retry a 400', async () => {
    const main = await upstream(jsonAnswer({ error: { message: 'bad temperature' } }, 400));
    proxy = await startProxy({
      config: { upstreams: { default: { baseUrl: main.baseUrl, retry: FAST_RETRY } }, aliases: { hero: { model: 'm' } } },
    });
    expect((await post()).status).toBe(400);
    expect(main.requests).toHaveLength(1);
  });

  it('answers 502 when the upstream refuses connections', async () => {
    const port = await closedPort();
    proxy = await startProxy({
      config: {
        upstreams: { default: { baseUrl: `http://127.0.0.1:${port}/v1`, retry: FAST_RETRY } },
        aliases: { hero: { model: 'm' } },
      },
    });
    const response = await post();
    expect(response.status).toBe(502);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('upstream_unreachable');
    expect(body.error.message).toContain('ECONNREFUSED');
    const retried = proxy.logs.filter((line) => line.msg === 'upstream request failed; retrying');
    expect(retried).toHaveLength(2);
  });
});

describe('fallbacks', () => {
  it('moves to the fallback after retries and names it in a header', async () => {
    const port = await closedPort();
    const backup = await upstream(jsonAnswer(completion('备用线路的回答')));
    proxy = await startProxy({
      config: {
        upstreams: {
          default: { baseUrl: `http://127.0.0.1:${port}/v1`, retry: FAST_RETRY },
          backup: { baseUrl: backup.baseUrl, retry: FAST_RETRY },
        },
        aliases: { hero: { model: 'main-model', fallbacks: [{ upstream: 'backup', model: 'backup-model' }] } },
      },
    });
    const response = await post();
    expect(response.status).toBe(200);
    expect(response.headers.get('x-microtune-upstream')).toBe('backup');
    expect(backup.requests[0]?.json.model).toBe('backup-model');
    const line = proxy.logs.find((entry) => entry.msg === 'chat request completed');
    expect(line?.upstream).toBe('backup');
    expect(line?.fallback).toBe(1);
  });

  it('keeps the primary when it answers', async () => {
    const main = await upstream(jsonAnswer(completion('主线路')));
    const backup = await upstream(jsonAnswer(completion('备用')));
    proxy = await startProxy({
      config: {
        upstreams: { default: { baseUrl: main.baseUrl }, backup: { baseUrl: backup.baseUrl } },
        aliases: { hero: { model: 'm', fallbacks: [{ upstream: 'backup' }] } },
      },
    });
    const response = await post();
    expect(response.headers.get('x-microtune-upstream')).toBe('default');
    expect(backup.requests).toHaveLength(0);
  });

  it('relays the last fallback failure', async () => {
    const main = await upstream(overloaded);
    const backup = await upstream(jsonAnswer({ error: { message: 'backup is down too' } }, 502));
    proxy = await startProxy({
      config: {
        upstreams: {
          default: { baseUrl: main.baseUrl, retry: { ...FAST_RETRY, maxRetries: 0 } },
          backup: { baseUrl: backup.baseUrl, retry: { ...FAST_RETRY, maxRetries: 1 } },
        },
        aliases: { hero: { model: 'm', fallbacks: [{ upstream: 'backup' }] } },
      },
    });
    const response = await post();
    expect(response.status).toBe(502);
    expect(((await response.json()) as { error: { message: string } }).error.message).toBe('backup is down too');
    expect(main.requests).toHaveLength(1);
    expect(backup.requests).toHaveLength(2);
  });
});
