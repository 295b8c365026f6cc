import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { Reloader, type ReloadResult } from '../../src/runtime/reloader.js';
import { completion, jsonAnswer, sleep, sseChunk, startUpstream, type TestUpstream, type UpstreamHandler } from '../helpers/upstream.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { chatBody, expectOpenAIError, parseJson, rawPost, sseData, streamedContent, waitFor } from './support.js';

let upstream: TestUpstream | undefined;
let proxy: TestProxy | undefined;
let reloader: Reloader | undefined;

afterEach(async () => {
  reloader?.stop();
  await proxy?.close();
  await upstream?.close();
  reloader = undefined;
  proxy = undefined;
  upstream = undefined;
});

function heroPack(preamble: string) {
  return {
    name: 'hero',
    title: '测试英雄',
    preamble,
    examples: [{ user: '城门外是谁？', thinking: '先看清来人。', answer: '*按剑* “报上名来。”' }],
  };
}

function baseConfig(upstreamUrl: string, upstreamExtra: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  return {
    packsDir: '../packs',
    upstreams: { default: { baseUrl: upstreamUrl, retry: { maxRetries: 0 }, ...upstreamExtra } },
    aliases: { hero: { pack: 'hero', model: 'm' } },
    ...extra,
  };
}

async function setUp(handler: UpstreamHandler, upstreamExtra: Record<string, unknown> = {}) {
  upstream = await startUpstream(handler);
  proxy = await startProxy({
    config: baseConfig(upstream.baseUrl, upstreamExtra),
    packs: { 'hero.yaml': heroPack('版本一：你是守城的老兵。') },
  });
  reloader = new Reloader({ state: proxy.state, logger: proxy.app.log, env: {}, debounceMs: 50 });
  return { upstream, proxy, reloader };
}

function packFile(): string {
  return path.join(proxy!.folder, 'packs', 'hero.yaml');
}

function configFile(): string {
  return path.join(proxy!.folder, 'config', 'microtune.yaml');
}

function writePack(content: unknown): void {
  writeFileSync(packFile(), typeof content === 'string' ? content : toYaml(content));
}

/** Returns the pack text the upstream received in request `index`, which is the first (system) message. */
function systemText(index: number): string {
  const message = upstream!.requests[index]?.json?.messages?.[0];
  return typeof message?.content === 'string' ? message.content : '';
}

async function ask(stream = false) {
  return rawPost(`${proxy!.baseUrl}/chat/completions`, chatBody('hero', '你好', { stream }), { timeoutMs: 10_000 });
}

describe('pack reload', () => {
  it('serves a valid pack edit without restart', async () => {
    const { reloader } = await setUp(jsonAnswer(completion('好')));
    expect((await ask()).status).toBe(200);
    writePack(heroPack('版本二：你是新来的哨兵。'));
    expect(reloader.reload('test')).toBe('applied');
    expect((await ask()).status).toBe(200);
    expect(systemText(0)).toContain('版本一');
    expect(systemText(1)).toContain('版本二');
  });

  it('picks up a pack edit from the file watcher', async () => {
    const results: ReloadResult[] = [];
    upstream = await startUpstream(jsonAnswer(completion('好')));
    proxy = await startProxy({ config: baseConfig(upstream.baseUrl), packs: { 'hero.yaml': heroPack('版本一：你是守城的老兵。') } });
    reloader = new Reloader({ state: proxy.state, logger: proxy.app.log, env: {}, debounceMs: 50, onReload: (result) => results.push(result) });
    reloader.start();
    const before = proxy.state.snapshot.packSet.hash;
    writePack(heroPack('版本二：你是新来的哨兵。'));
    expect(await waitFor(() => proxy!.state.snapshot.packSet.hash !== before, 3000), 'the watcher reloaded').toBe(true);
    expect(results).toContain('applied');
    expect((await ask()).status).toBe(200);
    expect(systemText(0)).toContain('版本二');
  });

  it('keeps the last good pack after a broken edit', async () => {
    const { proxy, reloader } = await setUp(jsonAnswer(completion('好')));
    writePack({ ...heroPack('坏版本'), examples: [{ user: '', thinking: '想', answer: '答' }] });
    reloader.reload('test');

    const line = proxy.logs.find((entry) => entry.msg === 'pack change rejected; the last good version keeps serving');
    expect(line, 'rejection logged').toBeDefined();
    expect(line?.level).toBe(50);
    expect(line?.file).toBe(packFile());
    expect(String(line?.problem)).toContain('examples[0].user');

    const response = await ask();
    expect(response.status).toBe(200);
    expect(systemText(0)).toContain('版本一');
    expect(systemText(0)).not.toContain('坏版本');
  });

  it('serves a fixed pack after a broken edit', async () => {
    const { reloader } = await setUp(jsonAnswer(completion('好')));
    writePack('name: hero\nexamples: [unclosed');
    reloader.reload('test');
    expect((await ask()).status).toBe(200);
    writePack(heroPack('版本三：修好了。'));
    expect(reloader.reload('test')).toBe('applied');
    expect((await ask()).status).toBe(200);
    expect(systemText(0)).toContain('版本一');
    expect(systemText(1)).toContain('版本三');
  });

  it('returns a pack broken at start to service', async () => {
    upstream = await startUpstream(jsonAnswer(completion('好')));
    proxy = await startProxy({
      config: baseConfig(upstream.baseUrl),
      packs: { 'hero.yaml': { ...heroPack('坏的'), examples: [{ user: '问', thinking: '', answer: '' }] } },
    });
    reloader = new Reloader({ state: proxy.state, logger: proxy.app.log, env: {} });
    const broken = await ask();
    expect(broken.status).toBe(503);
    expect(expectOpenAIError(parseJson(broken.text)).error.code).toBe('pack_unavailable');

    writePack(heroPack('版本四：终于能用了。'));
    expect(reloader.reload('test')).toBe('applied');
    expect((await ask()).status).toBe(200);
    expect(systemText(0)).toContain('版本四');
  });
});

describe('config reload', () => {
  it('rejects an invalid config edit', async () => {
    const { proxy, reloader } = await setUp(jsonAnswer(completion('好')));
    const before = proxy.state.snapshot;
    writeFileSync(configFile(), toYaml(baseConfig('not a url')));
    expect(reloader.reload('test')).toBe('rejected');

    const line = proxy.logs.find((entry) => entry.msg === 'config change rejected; the last good version keeps serving');
    expect(line, 'rejection logged').toBeDefined();
    expect(line?.file).toBe(configFile());
    expect(line?.field).toBe('upstreams.default.baseUrl');
    expect(proxy.state.snapshot).toBe(before);
    expect((await ask()).status).toBe(200);
  });

  it('rejects a config edit that is not YAML', async () => {
    const { proxy, reloader } = await setUp(jsonAnswer(completion('好')));
    writeFileSync(configFile(), 'upstreams: {default: [');
    expect(reloader.reload('test')).toBe('rejected');
    expect(proxy.logs.some((entry) => entry.msg === 'config change rejected; the last good version keeps serving')).toBe(true);
    expect((await ask()).status).toBe(200);
  });

  it('applies a valid config edit', async () => {
    const { proxy, reloader, upstream } = await setUp(jsonAnswer(completion('好')));
    const config = baseConfig(upstream.baseUrl, {}, {});
    writeFileSync(configFile(), toYaml({ ...config, aliases: { ...config.aliases, villain: { pack: 'hero', model: 'villain-model' } } }));
    expect(reloader.reload('test')).toBe('applied');
    const response = await rawPost(`${proxy.baseUrl}/chat/completions`, chatBody('villain'));
    expect(response.status).toBe(200);
    expect(upstream.requests[0]?.json.model).toBe('villain-model');
  });
});

describe('reload with requests in flight', () => {
  /** Streams ten content chunks 100 ms apart. */
  const slowStream: UpstreamHandler = async (_request, response) => {
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    response.write(sseChunk({ role: 'assistant', content: '' }));
    for (let index = 0; index < 10 && !response.destroyed; index += 1) {
      response.write(sseChunk({ content: `${index}` }));
      await sleep(100);
    }
    if (response.destroyed) return;
    response.write(sseChunk({}, { finishReason: 'stop' }));
    response.end('data: [DONE]\n\n');
  };

  it('finishes an in-flight stream with the old version', async () => {
    const { upstream, reloader } = await setUp(slowStream, { timeouts: { idleMs: 5000 } });
    const pending = ask(true);
    expect(await waitFor(() => upstream.requests.length === 1, 2000)).toBe(true);
    await sleep(150);

    // A new pack and new upstream timeouts: the reload makes a new upstream pool and closes the old one.
    writePack(heroPack('版本二：你是新来的哨兵。'));
    writeFileSync(configFile(), toYaml(baseConfig(upstream.baseUrl, { timeouts: { idleMs: 6000 } })));
    expect(reloader.reload('test')).toBe('applied');

    const response = await pending;
    expect(response.status).toBe(200);
    expect(response.endedBy).toBe('end');
    expect(streamedContent(response.text)).toBe('0123456789');
    expect(sseData(response.text).at(-1)).toBe('[DONE]');
    expect(systemText(0)).toContain('版本一');

    expect((await ask(true)).status).toBe(200);
    expect(systemText(1)).toContain('版本二');
  });

  /** Responds 503 to the first request and 200 to every later one. */
  function failsOnce(): UpstreamHandler {
    let calls = 0;
    return (request, response) => {
      calls += 1;
      if (calls === 1) {
        jsonAnswer({ error: { message: 'overloaded', type: 'server_error', param: null, code: null } }, 503)(request, response);
      } else {
        jsonAnswer(completion('重试成功'))(request, response);
      }
    };
  }
  const SLOW_RETRY = { maxRetries: 1, baseDelayMs: 600, maxDelayMs: 600, maxRetryAfterMs: 0 };

  it('retries with the old pack after a reload', async () => {
    const { upstream, reloader } = await setUp(failsOnce(), { retry: SLOW_RETRY });
    const pending = ask();
    expect(await waitFor(() => upstream.requests.length === 1, 2000)).toBe(true);
    writePack(heroPack('版本二：你是新来的哨兵。'));
    expect(reloader.reload('test')).toBe('applied');

    const response = await pending;
    expect(response.status, response.text).toBe(200);
    expect(upstream.requests).toHaveLength(2);
    expect(systemText(0)).toContain('版本一');
    expect(systemText(1)).toContain('版本一');
  });

  it('retries after a reload replaced the upstream pool', async () => {
    const { upstream, reloader } = await setUp(failsOnce(), { retry: SLOW_RETRY });
    const pending = ask();
    expect(await waitFor(() => upstream.requests.length === 1, 2000)).toBe(true);
    writeFileSync(configFile(), toYaml(baseConfig(upstream.baseUrl, { retry: SLOW_RETRY, timeouts: { idleMs: 6000 } })));
    expect(reloader.reload('test')).toBe('applied');

    const response = await pending;
    expect(response.status, response.text).toBe(200);
    expect(upstream.requests).toHaveLength(2);
  });

  it('serves traffic during reloads without errors', async () => {
    let calls = 0;
    const mixed: UpstreamHandler = async (request, response) => {
      calls += 1;
      await sleep(5 + (calls % 4) * 10);
      if (response.destroyed) return;
      if (request.json?.stream === true) {
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        response.write(sseChunk({ role: 'assistant', content: '好' }));
        await sleep(10);
        response.write(sseChunk({}, { finishReason: 'stop' }));
        response.end('data: [DONE]\n\n');
      } else {
        jsonAnswer(completion('好'))(request, response);
      }
    };
    const { upstream, proxy, reloader } = await setUp(mixed);

    const versions = ['版本一：你是守城的老兵。'];
    const reloads = (async () => {
      for (let index = 0; index < 20; index += 1) {
        await sleep(25);
        const preamble = `版本${index + 2}：第${index}次重载。`;
        versions.push(preamble);
        writePack(heroPack(preamble));
        // Every third reload also changes the upstream settings, which replaces its pool.
        if (index % 3 === 0) {
          writeFileSync(configFile(), toYaml(baseConfig(upstream.baseUrl, { timeouts: { idleMs: 5000 + index } })));
        }
        reloader.reload('test');
      }
    })();

    const failures: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < 200) {
        const index = next;
        next += 1;
        const stream = index % 2 === 0;
        const response = await ask(stream);
        const complete = stream ? sseData(response.text).at(-1) === '[DONE]' : response.status === 200;
        if (response.status !== 200 || !complete) failures.push(`request ${index}: ${response.status} ${response.text.slice(0, 200)}`);
      }
    };
    await Promise.all([reloads, ...Array.from({ length: 8 }, () => worker())]);

    expect(failures).toEqual([]);
    expect(upstream.requests).toHaveLength(200);
    const seen = new Set(upstream.requests.map((_request, index) => versions.find((preamble) => systemText(index).includes(preamble))));
    expect(seen.has(undefined), 'every upstream request carried a known pack version').toBe(false);
    expect(seen.size, 'requests saw several versions').toBeGreaterThan(1);
    const errors = proxy.logs.filter((entry) => (entry.level as number) >= 50);
    expect(errors).toEqual([]);
  });
});
