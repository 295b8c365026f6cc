import { afterEach, describe, expect, it } from 'vitest';
import { chunkedAnswer, completion, jsonAnswer, sseChunk, startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';

let upstream: TestUpstream | undefined;
let proxy: TestProxy | undefined;

afterEach(async () => {
  await proxy?.close();
  await upstream?.close();
});

/** Reads one sample's value from Prometheus text, or 0 when the series does not exist yet. */
function sample(text: string, name: string, labels: Record<string, string>): number {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const labelText = line.slice(name.length + 1, line.indexOf('}'));
    const present = labelText.split(',');
    if (wanted.every((pair) => present.includes(pair)) && present.length === wanted.length) {
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return 0;
}

async function scrape(): Promise<string> {
  const response = await fetch(`${proxy!.url}/metrics`);
  expect(response.status).toBe(200);
  return response.text();
}

describe('metrics', () => {
  it('count requests, tokens, cost and upstream errors', async () => {
    let calls = 0;
    upstream = await startUpstream((request, response) => {
      calls += 1;
      if (calls === 3) return jsonAnswer({ error: { message: 'bad request upstream' } }, 400)(request, response);
      if (request.json.stream === true) {
        return chunkedAnswer([
          sseChunk({ role: 'assistant', content: '好' }),
          sseChunk({}, { finishReason: 'stop', usage: { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120 } }),
          'data: [DONE]\n\n',
        ])(request, response);
      }
      return jsonAnswer(completion('好'))(request, response);
    });
    proxy = await startProxy({
      config: {
        upstreams: { default: { baseUrl: upstream.baseUrl, retry: { maxRetries: 0 } } },
        aliases: { hero: { model: 'm', price: { inputPerMillion: 42, outputPerMillion: 126, currency: 'CNY' } } },
      },
    });
    const before = await scrape();
    expect(sample(before, 'microtune_requests_total', { alias: 'hero', status: '200', stream: 'false' })).toBe(0);

    const client = proxy.client();
    await client.chat.completions.create({ model: 'hero', messages: [{ role: 'user', content: '一' }] });
    const stream = await client.chat.completions.create({ model: 'hero', messages: [{ role: 'user', content: '二' }], stream: true });
    for await (const _chunk of stream) {
      // drain
    }
    await expect(client.chat.completions.create({ model: 'hero', messages: [{ role: 'user', content: '三' }] })).rejects.toThrow();
    await client.chat.completions.create({ model: 'passthrough-model', messages: [{ role: 'user', content: '四' }] });

    const after = await scrape();
    expect(sample(after, 'microtune_requests_total', { alias: 'hero', status: '200', stream: 'false' })).toBe(1);
    expect(sample(after, 'microtune_requests_total', { alias: 'hero', status: '200', stream: 'true' })).toBe(1);
    expect(sample(after, 'microtune_requests_total', { alias: 'hero', status: '400', stream: 'false' })).toBe(1);
    expect(sample(after, 'microtune_requests_total', { alias: '(none)', status: '200', stream: 'false' })).toBe(1);
    // 10 + 5 tokens from the JSON answer, 100 + 20 from the stream's usage.
    expect(sample(after, 'microtune_tokens_total', { alias: 'hero', direction: 'in' })).toBe(110);
    expect(sample(after, 'microtune_tokens_total', { alias: 'hero', direction: 'out' })).toBe(25);
    expect(sample(after, 'microtune_estimated_cost_total', { alias: 'hero', currency: 'CNY' })).toBeCloseTo(
      (110 * 42 + 25 * 126) / 1_000_000,
      10,
    );
    expect(sample(after, 'microtune_upstream_errors_total', { upstream: 'default', kind: 'status_400' })).toBe(1);
    expect(sample(after, 'microtune_request_duration_seconds_count', { alias: 'hero', stream: 'true' })).toBe(1);
    expect(after).not.toContain('一');
    expect(after).not.toContain('sk-');
  });

  it('readyz reports the pack set hash', async () => {
    upstream = await startUpstream(jsonAnswer(completion('好')));
    proxy = await startProxy({
      config: { upstreams: { default: { baseUrl: upstream.baseUrl } } },
      packs: { 'solo.yaml': { name: 'solo', preamble: '你是独行侠。' } },
    });
    const response = await fetch(`${proxy.url}/readyz`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { packSetHash: string; packs: string[] };
    expect(body.packs).toEqual(['solo']);
    expect(body.packSetHash).toBe(proxy.state.snapshot.packSet.hash);
    expect(body.packSetHash).toMatch(/^[0-9a-f]{64}$/);
  });
});
