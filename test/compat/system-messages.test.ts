/**
 * The per-alias policy for a client's own system messages (`systemMessages: keep | merge |
 * reject`), through the AI SDK's `system` option and the openai SDK.
 */
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { APICallError, generateText } from 'ai';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TestProxy } from '../helpers/proxy.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { dialectUpstream, openai } from './support/dialects.js';
import { ANSWER, KEEPER_PREAMBLE, USER_QUESTION, keeperAlias, startKeeperProxy } from './support/keeper.js';
import { installLoopbackFetch, type LoopbackFetchGuard } from './support/loopback-fetch.js';

const CLIENT_SYSTEM = '回答控制在两句话以内。';

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

async function setUp(systemMessages: 'keep' | 'merge' | 'reject' | undefined) {
  upstream = await startUpstream(dialectUpstream(openai));
  proxy = await startKeeperProxy(upstream.baseUrl, { model: openai.model, ...(systemMessages !== undefined ? { alias: { systemMessages } } : {}) });
  const provider = createOpenAICompatible({ name: 'microtune', baseURL: proxy.baseUrl, apiKey: 'sk-client-test' });
  return { upstream, proxy, model: provider.chatModel(keeperAlias('strip')) };
}

function upstreamMessages(upstream: TestUpstream): { role: string; content: string }[] {
  return upstream.requests[0]?.json.messages;
}

describe('client system messages', () => {
  it('keep puts them after the pack', async () => {
    const { upstream, model } = await setUp(undefined);
    const result = await generateText({ model, system: CLIENT_SYSTEM, prompt: USER_QUESTION, maxRetries: 0 });

    expect(result.text).toBe(ANSWER);
    const messages = upstreamMessages(upstream);
    expect(messages.map((message) => message.role)).toEqual(['system', 'system', 'user']);
    expect(messages[0]?.content.startsWith(KEEPER_PREAMBLE)).toBe(true);
    expect(messages[1]?.content).toBe(CLIENT_SYSTEM);
  });

  it('merge joins them into the pack message', async () => {
    const { upstream, model } = await setUp('merge');
    const result = await generateText({ model, system: CLIENT_SYSTEM, prompt: USER_QUESTION, maxRetries: 0 });

    expect(result.text).toBe(ANSWER);
    const messages = upstreamMessages(upstream);
    expect(messages.map((message) => message.role)).toEqual(['system', 'user']);
    expect(messages[0]?.content.startsWith(KEEPER_PREAMBLE)).toBe(true);
    expect(messages[0]?.content.endsWith(`\n\n${CLIENT_SYSTEM}`)).toBe(true);
  });

  it('merge also takes developer messages', async () => {
    const { upstream, proxy } = await setUp('merge');
    const completion = await proxy.client().chat.completions.create({
      model: keeperAlias('strip'),
      messages: [
        { role: 'developer', content: CLIENT_SYSTEM },
        { role: 'user', content: USER_QUESTION },
      ],
    });

    expect(completion.choices[0]?.message.content).toBe(ANSWER);
    expect(upstreamMessages(upstream).map((message) => message.role)).toEqual(['system', 'user']);
  });

  it('reject answers 400 through the AI SDK', async () => {
    const { upstream, model } = await setUp('reject');
    const failure = await generateText({ model, system: CLIENT_SYSTEM, prompt: USER_QUESTION, maxRetries: 0 }).catch((error: unknown) => error);

    expect(APICallError.isInstance(failure)).toBe(true);
    const error = failure as APICallError;
    expect(error.statusCode).toBe(400);
    expect(error.isRetryable).toBe(false);
    expect(JSON.parse(error.responseBody ?? '{}').error.code).toBe('system_message_rejected');
    expect(upstream.requests).toHaveLength(0);
  });

  it('reject answers 400 through the openai SDK', async () => {
    const { upstream, proxy } = await setUp('reject');
    const failure = await proxy
      .client()
      .chat.completions.create({
        model: keeperAlias('strip'),
        messages: [
          { role: 'system', content: CLIENT_SYSTEM },
          { role: 'user', content: USER_QUESTION },
        ],
      })
      .catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(OpenAI.BadRequestError);
    const error = failure as InstanceType<typeof OpenAI.BadRequestError>;
    expect(error.code).toBe('system_message_rejected');
    expect(error.param).toBe('messages[0].role');
    expect(upstream.requests).toHaveLength(0);
  });

  it('reject lets requests without them through', async () => {
    const { upstream, model } = await setUp('reject');
    const result = await generateText({ model, prompt: USER_QUESTION, maxRetries: 0 });

    expect(result.text).toBe(ANSWER);
    expect(upstreamMessages(upstream).map((message) => message.role)).toEqual(['system', 'user']);
  });
});
