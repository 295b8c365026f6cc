/**
 * DeepSeek thinking mode with tools. DeepSeek returns 400 when an assistant message with
 * `tool_calls` comes back without the `reasoning_content` it was produced with, so a
 * client that never saw the reasoning (strip mode) depends on the proxy re-attaching it.
 * In keep mode the client gets the reasoning and sends it back itself.
 */
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { generateText, stepCountIs, tool } from 'ai';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { TestProxy } from '../helpers/proxy.js';
import { startUpstream, type RecordedRequest, type TestUpstream, type UpstreamHandler } from '../helpers/upstream.js';
import { deepseekChunk, deepseekJson, splitText, writeSse } from './support/dialects.js';
import { ANSWER, MONOLOGUE, OUT_OF_CHARACTER, USER_QUESTION, keeperAlias, startKeeperProxy, startsWithKeeperPack } from './support/keeper.js';
import { installLoopbackFetch, type LoopbackFetchGuard } from './support/loopback-fetch.js';

const TOOL_REASONING = '他问灯的事，可今晚要涨大潮。我得先查一下石浦港的潮汐表，再决定怎么回答。';
const TOOL_CALL_ID = 'call_00_Zt8mKq3VbN1xR5wLp7Yc2Hd4';
const TIDE_RESULT = '{"harbor":"石浦","high_tide":"23:10","height_m":4.6}';

const TOOLS: OpenAI.Chat.Completions.ChatCompletionTool[] = [
  {
    type: 'function',
    function: {
      name: 'get_tide',
      description: '查询港口今晚的潮汐',
      parameters: { type: 'object', properties: { harbor: { type: 'string' } }, required: ['harbor'] },
    },
  },
];

type Message = Record<string, unknown> & { role: string };

/** DeepSeek's 400 for a tool-call message that lost its reasoning, worded as the API words it. */
function missingReasoning(index: number) {
  return {
    error: {
      message: `Missing \`reasoning_content\` field in the assistant message at message index ${index}. For more information, please refer to https://api-docs.deepseek.com/guides/thinking_mode#tool-calls`,
      type: 'invalid_request_error',
      param: null,
      code: 'invalid_request_error',
    },
  };
}

/** Index of the first assistant tool-call message whose reasoning_content is not the one produced, or -1. */
function findLostReasoning(messages: Message[], produced: ReadonlyMap<string, string>): number {
  return messages.findIndex((message) => {
    if (message.role !== 'assistant' || !Array.isArray(message.tool_calls) || message.tool_calls.length === 0) return false;
    const id = (message.tool_calls[0] as { id?: string }).id ?? '';
    return message.reasoning_content !== produced.get(id);
  });
}

function toolCallTurn(request: RecordedRequest, response: Parameters<UpstreamHandler>[1]) {
  const call = { index: 0, id: TOOL_CALL_ID, type: 'function', function: { name: 'get_tide', arguments: '{"harbor":"石浦"}' } };
  if (request.json.stream !== true) {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(deepseekJson({ content: '', reasoning_content: TOOL_REASONING, tool_calls: [call] }, 'tool_calls')));
    return Promise.resolve();
  }
  const events = [`data: ${JSON.stringify(deepseekChunk({ role: 'assistant', content: null, reasoning_content: '' }))}\n\n`];
  for (const piece of splitText(TOOL_REASONING, 3)) {
    events.push(`data: ${JSON.stringify(deepseekChunk({ content: null, reasoning_content: piece }))}\n\n`);
  }
  events.push(`data: ${JSON.stringify(deepseekChunk({ tool_calls: [{ ...call, function: { name: 'get_tide', arguments: '' } }] }))}\n\n`);
  for (const piece of splitText(call.function.arguments, 5)) {
    events.push(`data: ${JSON.stringify(deepseekChunk({ tool_calls: [{ index: 0, function: { arguments: piece } }] }))}\n\n`);
  }
  events.push(`data: ${JSON.stringify(deepseekChunk({ content: '', reasoning_content: null }, 'tool_calls', { prompt_tokens: 520, completion_tokens: 61, total_tokens: 581 }))}\n\n`);
  events.push('data: [DONE]\n\n');
  return writeSse(response, events);
}

function answerTurn(request: RecordedRequest, response: Parameters<UpstreamHandler>[1]) {
  const content = startsWithKeeperPack(request) ? ANSWER : OUT_OF_CHARACTER;
  if (request.json.stream !== true) {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(deepseekJson({ content, reasoning_content: MONOLOGUE })));
    return Promise.resolve();
  }
  return writeSse(response, [
    `data: ${JSON.stringify(deepseekChunk({ role: 'assistant', content: null, reasoning_content: MONOLOGUE }))}\n\n`,
    `data: ${JSON.stringify(deepseekChunk({ content, reasoning_content: null }))}\n\n`,
    `data: ${JSON.stringify(deepseekChunk({ content: '', reasoning_content: null }, 'stop', { prompt_tokens: 640, completion_tokens: 80, total_tokens: 720 }))}\n\n`,
    'data: [DONE]\n\n',
  ]);
}

/** Builds a DeepSeek thinking-mode upstream: a tool call first, the answer once a tool result is in, 400 on lost reasoning. */
function strictDeepseek(): UpstreamHandler {
  const produced = new Map<string, string>([[TOOL_CALL_ID, TOOL_REASONING]]);
  return async (request, response) => {
    const messages = request.json.messages as Message[];
    const lost = findLostReasoning(messages, produced);
    if (lost !== -1) {
      response.writeHead(400, { 'content-type': 'application/json' });
      response.end(JSON.stringify(missingReasoning(lost)));
      return;
    }
    if (messages.some((message) => message.role === 'tool')) await answerTurn(request, response);
    else await toolCallTurn(request, response);
  };
}

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

async function setUp() {
  upstream = await startUpstream(strictDeepseek());
  proxy = await startKeeperProxy(upstream.baseUrl, { model: 'deepseek-reasoner' });
  return { upstream, proxy, client: proxy.client() };
}

function assistantSentUpstream(request: RecordedRequest | undefined): Message | undefined {
  return (request?.json.messages as Message[] | undefined)?.find((message) => message.role === 'assistant');
}

const question = { role: 'user' as const, content: USER_QUESTION };

function toolResult(): OpenAI.Chat.Completions.ChatCompletionToolMessageParam {
  return { role: 'tool', tool_call_id: TOOL_CALL_ID, content: TIDE_RESULT };
}

describe('tool-call reasoning with DeepSeek', () => {
  it('strip mode re-attaches it, JSON', async () => {
    const { upstream, client } = await setUp();

    const first = await client.chat.completions.create({ model: keeperAlias('strip'), messages: [question], tools: TOOLS });
    const assistant = first.choices[0]!.message;
    expect(first.choices[0]?.finish_reason).toBe('tool_calls');
    expect(assistant.tool_calls?.[0]?.id).toBe(TOOL_CALL_ID);
    expect((assistant as unknown as Message).reasoning_content).toBeUndefined();

    const second = await client.chat.completions.create({
      model: keeperAlias('strip'),
      messages: [question, assistant, toolResult()],
      tools: TOOLS,
    });

    expect(second.choices[0]?.message.content).toBe(ANSWER);
    expect((second.choices[0]?.message as unknown as Message).reasoning_content).toBeUndefined();
    expect(assistantSentUpstream(upstream.requests[1])?.reasoning_content).toBe(TOOL_REASONING);
  });

  it('strip mode re-attaches it, stream', async () => {
    const { upstream, client } = await setUp();

    const runner = client.chat.completions.stream({ model: keeperAlias('strip'), messages: [question], tools: TOOLS });
    const assistant = await runner.finalMessage();
    const call = assistant.tool_calls?.[0];
    expect(call?.id).toBe(TOOL_CALL_ID);
    expect(call?.type).toBe('function');
    expect(call?.type === 'function' ? call.function.arguments : undefined).toBe('{"harbor":"石浦"}');
    expect((assistant as unknown as Message).reasoning_content).toBeUndefined();

    const second = await client.chat.completions.stream({
      model: keeperAlias('strip'),
      messages: [question, assistant, toolResult()],
      tools: TOOLS,
    });
    expect((await second.finalMessage()).content).toBe(ANSWER);
    expect(assistantSentUpstream(upstream.requests[1])?.reasoning_content).toBe(TOOL_REASONING);
  });

  it('separate mode repairs the stream helper message', async () => {
    // The SDK's stream helper leaves reasoning_content at the last delta's value, which
    // is DeepSeek's null, so the message it builds would get the 400. The proxy stashed
    // the reasoning and puts it back in place of the null.
    const { upstream, client } = await setUp();

    const assistant = await client.chat.completions
      .stream({ model: keeperAlias('separate'), messages: [question], tools: TOOLS })
      .finalMessage();
    expect((assistant as unknown as Message).reasoning_content).toBeNull();

    const second = await client.chat.completions.create({
      model: keeperAlias('separate'),
      messages: [question, assistant, toolResult()],
      tools: TOOLS,
    });
    expect(second.choices[0]?.message.content).toBe(ANSWER);
    expect(assistantSentUpstream(upstream.requests[1])?.reasoning_content).toBe(TOOL_REASONING);
  });

  it('keep mode hands the reasoning to the client', async () => {
    const { upstream, client } = await setUp();

    const first = await client.chat.completions.create({ model: keeperAlias('keep'), messages: [question], tools: TOOLS });
    const assistant = first.choices[0]!.message;
    expect((assistant as unknown as Message).reasoning_content).toBe(TOOL_REASONING);

    const second = await client.chat.completions.create({
      model: keeperAlias('keep'),
      messages: [question, assistant, toolResult()],
      tools: TOOLS,
    });

    expect(second.choices[0]?.message.content).toBe(ANSWER);
    expect((second.choices[0]?.message as unknown as Message).reasoning_content).toBe(MONOLOGUE);
    expect(assistantSentUpstream(upstream.requests[1])?.reasoning_content).toBe(TOOL_REASONING);
  });

  it('keep mode restores reasoning the client dropped', async () => {
    // The proxy stashes tool-call reasoning in keep mode too, because some
    // clients (the openai SDK's stream helper) lose it on the way.
    const { upstream, client } = await setUp();

    const first = await client.chat.completions.create({ model: keeperAlias('keep'), messages: [question], tools: TOOLS });
    const { reasoning_content: _dropped, ...assistant } = first.choices[0]!.message as unknown as Message;
    const second = await client.chat.completions.create({
      model: keeperAlias('keep'),
      messages: [question, assistant as never, toolResult()],
      tools: TOOLS,
    });

    expect(second.choices[0]?.message.content).toBe(ANSWER);
    expect(upstream.requests).toHaveLength(2);
    const produced = (first.choices[0]!.message as unknown as Message).reasoning_content;
    const sent = upstream.requests[1]?.json.messages[2] as Message;
    expect(typeof produced).toBe('string');
    expect(sent.reasoning_content).toBe(produced);
  });

  it('AI SDK tool loop works in strip mode', async () => {
    const { upstream, proxy } = await setUp();
    const provider = createOpenAICompatible({ name: 'microtune', baseURL: proxy.baseUrl, apiKey: 'sk-client-test' });
    const harbors: string[] = [];

    const result = await generateText({
      model: provider.chatModel(keeperAlias('strip')),
      prompt: USER_QUESTION,
      tools: {
        get_tide: tool({
          description: '查询港口今晚的潮汐',
          inputSchema: z.object({ harbor: z.string() }),
          execute: async ({ harbor }) => {
            harbors.push(harbor);
            return JSON.parse(TIDE_RESULT) as unknown;
          },
        }),
      },
      stopWhen: stepCountIs(3),
      maxRetries: 0,
    });

    expect(harbors).toEqual(['石浦']);
    expect(result.steps).toHaveLength(2);
    expect(result.text).toBe(ANSWER);
    expect(result.reasoningText).toBeUndefined();
    expect(assistantSentUpstream(upstream.requests[1])?.reasoning_content).toBe(TOOL_REASONING);
  });
});
