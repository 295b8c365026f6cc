/**
 * The Vercel AI SDK (`ai` 6.x with `@ai-sdk/openai-compatible` 2.x) against keeper aliases.
 * The openai-compatible provider reads `reasoning_content`, or `reasoning` when that is
 * missing, into reasoning parts, so separate mode shows up as `reasoningText`.
 */
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { generateText, streamText } from 'ai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TestProxy } from '../helpers/proxy.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { deepseek, dialectUpstream, openai, openrouter, qwen3Vllm, type Dialect } from './support/dialects.js';
import { ANSWER, MONOLOGUE, USER_QUESTION, keeperAlias, startKeeperProxy, startsWithKeeperPack } from './support/keeper.js';
import { installLoopbackFetch, type LoopbackFetchGuard } from './support/loopback-fetch.js';

let guard: LoopbackFetchGuard;
let upstream: TestUpstream | undefined;
let proxy: TestProxy | undefined;

beforeAll(() => {
  guard = installLoopbackFetch();
});

afterAll(() => {
  guard.restore();
});

afterEach(async () => {
  await proxy?.close();
  await upstream?.close();
  proxy = undefined;
  upstream = undefined;
  expect(guard.blocked).toEqual([]);
});

async function setUp(dialect: Dialect) {
  upstream = await startUpstream(dialectUpstream(dialect));
  proxy = await startKeeperProxy(upstream.baseUrl, { model: dialect.model, ...(dialect.alias !== undefined ? { alias: dialect.alias } : {}) });
  const provider = createOpenAICompatible({ name: 'microtune', baseURL: proxy.baseUrl, apiKey: 'sk-client-test', includeUsage: true });
  return { upstream, proxy, provider };
}

describe('AI SDK generateText', () => {
  it('strip mode returns the answer only', async () => {
    const { provider, upstream } = await setUp(deepseek);
    const result = await generateText({ model: provider.chatModel(keeperAlias('strip')), prompt: USER_QUESTION, maxRetries: 0 });

    expect(startsWithKeeperPack(upstream.requests[0]!)).toBe(true);
    expect(result.text).toBe(ANSWER);
    expect(result.reasoningText).toBeUndefined();
    expect(result.finishReason).toBe('stop');
    expect(result.response.modelId).toBe(keeperAlias('strip'));
    expect(result.usage.inputTokens).toBe(deepseek.usage.prompt_tokens);
    expect(result.usage.inputTokenDetails.cacheReadTokens).toBe(384);
  });

  it('separate mode fills reasoningText', async () => {
    const { provider } = await setUp(openai);
    const result = await generateText({ model: provider.chatModel(keeperAlias('separate')), prompt: USER_QUESTION, maxRetries: 0 });

    expect(result.text).toBe(ANSWER);
    expect(result.reasoningText).toBe(MONOLOGUE);
    expect(result.reasoning.map((part) => part.type)).toEqual(['reasoning']);
  });

  it('keep mode reads the OpenRouter reasoning field', async () => {
    const { provider } = await setUp(openrouter);
    const result = await generateText({ model: provider.chatModel(keeperAlias('keep')), prompt: USER_QUESTION, maxRetries: 0 });

    expect(result.text).toBe(ANSWER);
    expect(result.reasoningText).toBe(MONOLOGUE);
  });

  it('keep mode leaves think tags in the text', async () => {
    // The provider does not parse <think> in content; extractReasoningMiddleware or
    // separate mode does that.
    const { provider } = await setUp(qwen3Vllm);
    const result = await generateText({ model: provider.chatModel(keeperAlias('keep')), prompt: USER_QUESTION, maxRetries: 0 });

    expect(result.text).toBe(qwen3Vllm.keep.content);
    expect(result.reasoningText).toBeUndefined();
  });
});

describe('AI SDK streamText', () => {
  it('strip mode streams the answer only', async () => {
    const { provider, upstream } = await setUp(qwen3Vllm);
    const result = streamText({ model: provider.chatModel(keeperAlias('strip')), prompt: USER_QUESTION, maxRetries: 0 });

    let streamed = '';
    for await (const piece of result.textStream) streamed += piece;

    expect(upstream.requests[0]?.json.stream_options).toEqual({ include_usage: true });
    expect(streamed).toBe(ANSWER);
    expect(await result.reasoningText).toBeUndefined();
    expect(await result.finishReason).toBe('stop');
    expect((await result.usage).outputTokens).toBe(qwen3Vllm.usage.completion_tokens);
  });

  it('separate mode streams reasoning parts', async () => {
    const { provider } = await setUp(deepseek);
    const result = streamText({ model: provider.chatModel(keeperAlias('separate')), prompt: USER_QUESTION, maxRetries: 0 });

    const partTypes = new Set<string>();
    let reasoning = '';
    for await (const part of result.fullStream) {
      partTypes.add(part.type);
      if (part.type === 'reasoning-delta') reasoning += part.text;
      if (part.type === 'error') throw part.error;
    }

    expect(reasoning).toBe(MONOLOGUE);
    expect(await result.text).toBe(ANSWER);
    expect(await result.reasoningText).toBe(MONOLOGUE);
    expect(partTypes.has('reasoning-start')).toBe(true);
    expect((await result.usage).inputTokenDetails.cacheReadTokens).toBe(384);
  });
});
