/**
 * LangChain's ChatOpenAI (@langchain/openai 1.5.8) against keeper aliases. It keeps a
 * `reasoning_content` field of the message or delta in `additional_kwargs`, and ignores
 * a `reasoning` field.
 */
import { AIMessageChunk } from '@langchain/core/messages';
import { ChatOpenAI } from '@langchain/openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TestProxy } from '../helpers/proxy.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { deepseek, dialectUpstream, ollama, openrouter, type Dialect } from './support/dialects.js';
import { ANSWER, MONOLOGUE, USER_QUESTION, keeperAlias, startKeeperProxy, startsWithKeeperPack, type ThinkingMode } from './support/keeper.js';
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
  // @langchain/core fetches tiktoken tables to estimate token counts when usage is missing.
  expect(guard.blocked).toEqual([]);
});

async function setUp(dialect: Dialect, mode: ThinkingMode) {
  upstream = await startUpstream(dialectUpstream(dialect));
  proxy = await startKeeperProxy(upstream.baseUrl, { model: dialect.model });
  const model = new ChatOpenAI({
    model: keeperAlias(mode),
    apiKey: 'sk-client-test',
    configuration: { baseURL: proxy.baseUrl },
    maxRetries: 0,
    timeout: 15_000,
  });
  return { upstream, proxy, model };
}

async function streamAll(model: ChatOpenAI): Promise<AIMessageChunk> {
  let merged: AIMessageChunk | undefined;
  for await (const chunk of await model.stream(USER_QUESTION)) {
    merged = merged === undefined ? chunk : merged.concat(chunk);
  }
  if (merged === undefined) throw new Error('the stream had no chunks');
  return merged;
}

describe('LangChain ChatOpenAI invoke', () => {
  it('strip mode returns the answer only', async () => {
    const { model, upstream } = await setUp(deepseek, 'strip');
    const message = await model.invoke(USER_QUESTION);

    expect(startsWithKeeperPack(upstream.requests[0]!)).toBe(true);
    expect(message.content).toBe(ANSWER);
    expect(message.additional_kwargs.reasoning_content).toBeUndefined();
    expect(message.response_metadata.model_name).toBe(keeperAlias('strip'));
    expect(message.usage_metadata?.input_tokens).toBe(deepseek.usage.prompt_tokens);
  });

  it('separate mode fills reasoning_content', async () => {
    const { model } = await setUp(ollama, 'separate');
    const message = await model.invoke(USER_QUESTION);

    expect(message.content).toBe(ANSWER);
    expect(message.additional_kwargs.reasoning_content).toBe(MONOLOGUE);
  });

  it('keep mode drops the OpenRouter reasoning field', async () => {
    // ChatOpenAI reads reasoning_content only, so separate mode is how its users see
    // OpenRouter's reasoning.
    const { model } = await setUp(openrouter, 'keep');
    const message = await model.invoke(USER_QUESTION);

    expect(message.content).toBe(ANSWER);
    expect(message.additional_kwargs.reasoning_content).toBeUndefined();
    expect(message.additional_kwargs.reasoning).toBeUndefined();
  });
});

describe('LangChain ChatOpenAI stream', () => {
  it('strip mode streams the answer only', async () => {
    const { model, upstream } = await setUp(ollama, 'strip');
    const message = await streamAll(model);

    expect(upstream.requests[0]?.json.stream).toBe(true);
    expect(message.content).toBe(ANSWER);
    expect(message.additional_kwargs.reasoning_content).toBeUndefined();
    expect(message.usage_metadata?.output_tokens).toBe(ollama.usage.completion_tokens);
  });

  it('separate mode streams reasoning_content', async () => {
    const { model } = await setUp(openrouter, 'separate');
    const message = await streamAll(model);

    expect(message.content).toBe(ANSWER);
    expect(message.additional_kwargs.reasoning_content).toBe(MONOLOGUE);
  });
});
