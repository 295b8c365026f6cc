/**
 * Scripted upstreams that reply the way real OpenAI-compatible services do, in JSON and
 * in SSE. The payload shapes follow each service's public API reference and the bodies
 * those services return: field names, the chunk that carries `usage`, SSE comments, ids
 * and `system_fingerprint` values. The numbers and texts are made up.
 *
 * Every dialect answers in character (MONOLOGUE then ANSWER) only when the request starts
 * with the keeper pack, and with OUT_OF_CHARACTER otherwise.
 */
import type { ServerResponse } from 'node:http';
import type { RecordedRequest, UpstreamHandler } from '../../helpers/upstream.js';
import { ANSWER, MONOLOGUE, OUT_OF_CHARACTER, startsWithKeeperPack } from './keeper.js';

/** One answer as a service sends it: the text of `content` and of the service's reasoning field. */
export interface ScriptedTurn {
  content: string;
  reasoning?: string;
}

/** What a client sees in keep mode, where the proxy changes nothing but `model`. */
export interface KeepView {
  content: string;
  reasoning_content?: string;
  reasoning?: string;
}

export interface Dialect {
  name: string;
  /** The model name a client would configure for this service. */
  model: string;
  /** The in-character answer in this service's fields. */
  turn: ScriptedTurn;
  /** What keep mode shows the client. */
  keep: KeepView;
  /** The `usage` object the service reports, in JSON and in its stream. */
  usage: Record<string, unknown>;
  /** Alias fields this service needs, e.g. `implicitThinkOpen`. */
  alias?: Record<string, unknown>;
  json: (turn: ScriptedTurn, request: RecordedRequest) => Record<string, unknown>;
  /** SSE text, one string per socket write: events, comments and `data: [DONE]`. */
  sse: (turn: ScriptedTurn, request: RecordedRequest) => string[];
}

const CREATED = 1_764_820_800;

/** Splits text into pieces of at most `size` code points, the way token streams cut it. */
export function splitText(text: string, size: number): string[] {
  const points = Array.from(text);
  const pieces: string[] = [];
  for (let start = 0; start < points.length; start += size) {
    pieces.push(points.slice(start, start + size).join(''));
  }
  return pieces;
}

/** Splits text at the given tags first, so each tag is one piece as Ollama and vLLM stream them. */
function splitKeepingTags(text: string, tags: string[], size: number): string[] {
  const pattern = new RegExp(`(${tags.map((tag) => tag.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|')})`);
  return text
    .split(pattern)
    .filter((part) => part !== '')
    .flatMap((part) => (tags.includes(part) ? [part] : splitText(part, size)));
}

function data(value: unknown): string {
  return `data: ${JSON.stringify(value)}\n\n`;
}

const DONE = 'data: [DONE]\n\n';

function includeUsage(request: RecordedRequest): boolean {
  return request.json?.stream_options?.include_usage === true;
}

// OpenAI, gpt-4o-mini. The pack requests the monologue in a ```thinking fence, and a
// model without a reasoning field writes it into content. With include_usage, every
// chunk carries "usage": null and one last chunk with empty choices carries the counts.
const OPENAI_USAGE = {
  prompt_tokens: 412,
  completion_tokens: 61,
  total_tokens: 473,
  prompt_tokens_details: { cached_tokens: 384, audio_tokens: 0 },
  completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
};

export const openai: Dialect = {
  name: 'OpenAI',
  model: 'gpt-4o-mini',
  turn: { content: `\`\`\`thinking\n${MONOLOGUE}\n\`\`\`\n${ANSWER}` },
  keep: { content: `\`\`\`thinking\n${MONOLOGUE}\n\`\`\`\n${ANSWER}` },
  usage: OPENAI_USAGE,
  json: (turn) => ({
    id: 'chatcmpl-CKxQ3kT1pZr8mVd2nL0aF6uYcHs9E',
    object: 'chat.completion',
    created: CREATED,
    model: 'gpt-4o-mini-2024-07-18',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: turn.content, refusal: null, annotations: [] },
        logprobs: null,
        finish_reason: 'stop',
      },
    ],
    usage: OPENAI_USAGE,
    service_tier: 'default',
    system_fingerprint: 'fp_560af6e559',
  }),
  sse: (turn, request) => {
    const withUsage = includeUsage(request);
    const chunk = (delta: Record<string, unknown>, finishReason: string | null, obfuscation: string) => ({
      id: 'chatcmpl-CKxQ3kT1pZr8mVd2nL0aF6uYcHs9E',
      object: 'chat.completion.chunk',
      created: CREATED,
      model: 'gpt-4o-mini-2024-07-18',
      service_tier: 'default',
      system_fingerprint: 'fp_560af6e559',
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      ...(withUsage ? { usage: null } : {}),
      obfuscation,
    });
    const events = [data(chunk({ role: 'assistant', content: '', refusal: null }, null, 'Qm8x'))];
    for (const piece of splitText(turn.content, 3)) events.push(data(chunk({ content: piece }, null, 'aZ')));
    events.push(data(chunk({}, 'stop', 'vK1')));
    if (withUsage) {
      events.push(
        data({
          id: 'chatcmpl-CKxQ3kT1pZr8mVd2nL0aF6uYcHs9E',
          object: 'chat.completion.chunk',
          created: CREATED,
          model: 'gpt-4o-mini-2024-07-18',
          service_tier: 'default',
          system_fingerprint: 'fp_560af6e559',
          choices: [],
          usage: OPENAI_USAGE,
          obfuscation: 'p0',
        }),
      );
    }
    events.push(DONE);
    return events;
  },
};

// DeepSeek, deepseek-reasoner. The reasoning arrives in `reasoning_content`, first with
// content null, then content with reasoning_content null, and usage has the prompt-cache
// counters. With include_usage, the API reference promises "usage": null on every chunk
// and a last chunk with empty choices. DeepSeek sends `: keep-alive` comments while a
// request waits to be scheduled. Ids are UUIDs.
// NOTE: without include_usage the script puts usage on the finishing chunk, as streams
// quoted in client bug reports show. The API reference does not describe that case.
export const DEEPSEEK_USAGE = {
  prompt_tokens: 431,
  completion_tokens: 118,
  total_tokens: 549,
  prompt_tokens_details: { cached_tokens: 384 },
  completion_tokens_details: { reasoning_tokens: 64 },
  prompt_cache_hit_tokens: 384,
  prompt_cache_miss_tokens: 47,
};

const DEEPSEEK_ID = '3f2b9c1e-8a4d-4f6b-9e2c-7d1a5b0c4e98';
const DEEPSEEK_FINGERPRINT = 'fp_ffc7281d48_prod0820_fp8_kvcache';

export function deepseekJson(message: Record<string, unknown>, finishReason = 'stop', usage: unknown = DEEPSEEK_USAGE) {
  return {
    id: DEEPSEEK_ID,
    object: 'chat.completion',
    created: CREATED,
    model: 'deepseek-reasoner',
    choices: [{ index: 0, message: { role: 'assistant', ...message }, logprobs: null, finish_reason: finishReason }],
    usage,
    system_fingerprint: DEEPSEEK_FINGERPRINT,
  };
}

/** Builds one DeepSeek stream chunk. `usage` undefined leaves the field out, and null writes `"usage": null`. */
export function deepseekChunk(delta: Record<string, unknown>, finishReason: string | null = null, usage?: unknown) {
  return {
    id: DEEPSEEK_ID,
    object: 'chat.completion.chunk',
    created: CREATED,
    model: 'deepseek-reasoner',
    system_fingerprint: DEEPSEEK_FINGERPRINT,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    ...(usage !== undefined ? { usage } : {}),
  };
}

export const deepseek: Dialect = {
  name: 'DeepSeek',
  model: 'deepseek-reasoner',
  turn: { content: ANSWER, reasoning: MONOLOGUE },
  keep: { content: ANSWER, reasoning_content: MONOLOGUE },
  usage: DEEPSEEK_USAGE,
  json: (turn) =>
    deepseekJson(turn.reasoning === undefined ? { content: turn.content } : { content: turn.content, reasoning_content: turn.reasoning }),
  sse: (turn, request) => {
    const withUsage = includeUsage(request);
    const perChunkUsage = withUsage ? null : undefined;
    const events = [': keep-alive\n\n', data(deepseekChunk({ role: 'assistant', content: null, reasoning_content: '' }, null, perChunkUsage))];
    for (const piece of splitText(turn.reasoning ?? '', 2)) {
      events.push(data(deepseekChunk({ content: null, reasoning_content: piece }, null, perChunkUsage)));
    }
    for (const piece of splitText(turn.content, 2)) {
      events.push(data(deepseekChunk({ content: piece, reasoning_content: null }, null, perChunkUsage)));
    }
    if (withUsage) {
      events.push(data(deepseekChunk({ content: '', reasoning_content: null }, 'stop', null)));
      events.push(data({ ...deepseekChunk({}), choices: [], usage: DEEPSEEK_USAGE }));
    } else {
      events.push(data(deepseekChunk({ content: '', reasoning_content: null }, 'stop', DEEPSEEK_USAGE)));
    }
    events.push(DONE);
    return events;
  },
};

// vLLM serving Qwen without a reasoning parser: the monologue stays in content between
// <think> tags. vLLM adds `stop_reason` to choices, `reasoning_content: null` and
// `tool_calls: []` to messages, and with include_usage a last chunk with empty choices.
const VLLM_USAGE = { prompt_tokens: 445, total_tokens: 602, completion_tokens: 157, prompt_tokens_details: null };

function vllmDialect(name: string, model: string, content: string, alias?: Record<string, unknown>): Dialect {
  const id = 'chatcmpl-7d3c2b1a9e8f4a6b8c0d1e2f3a4b5c6d';
  return {
    name,
    model,
    turn: { content },
    keep: { content },
    usage: VLLM_USAGE,
    ...(alias !== undefined ? { alias } : {}),
    json: (turn) => ({
      id,
      object: 'chat.completion',
      created: CREATED,
      model,
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            reasoning_content: null,
            content: turn.content,
            refusal: null,
            annotations: null,
            audio: null,
            function_call: null,
            tool_calls: [],
          },
          logprobs: null,
          finish_reason: 'stop',
          stop_reason: null,
        },
      ],
      service_tier: null,
      system_fingerprint: null,
      usage: VLLM_USAGE,
      prompt_logprobs: null,
      kv_transfer_params: null,
    }),
    sse: (turn, request) => {
      const chunk = (delta: Record<string, unknown>, finishReason: string | null) => ({
        id,
        object: 'chat.completion.chunk',
        created: CREATED,
        model,
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason, ...(finishReason !== null ? { stop_reason: null } : {}) }],
      });
      const events = [data(chunk({ role: 'assistant', content: '' }, null))];
      for (const piece of splitKeepingTags(turn.content, ['<think>', '</think>'], 5)) events.push(data(chunk({ content: piece }, null)));
      events.push(data(chunk({ content: '' }, 'stop')));
      if (includeUsage(request)) {
        events.push(data({ id, object: 'chat.completion.chunk', created: CREATED, model, choices: [], usage: VLLM_USAGE }));
      }
      events.push(DONE);
      return events;
    },
  };
}

/** Qwen3 on vLLM without `--reasoning-parser`: `<think>…</think>` at the start of content. */
export const qwen3Vllm = vllmDialect('Qwen3 on vLLM', 'Qwen/Qwen3-8B', `<think>\n${MONOLOGUE}\n</think>\n\n${ANSWER}`);

/**
 * QwQ-32B on vLLM: its chat template ends the prompt with `<think>\n`, so the answer has
 * only the closing tag. Qwen3 *-Thinking-2507 models do the same.
 */
export const qwqVllm = vllmDialect('QwQ on vLLM', 'Qwen/QwQ-32B', `${MONOLOGUE}\n</think>\n\n${ANSWER}`, { implicitThinkOpen: true });

// OpenRouter: the reasoning comes in `reasoning` plus a structured `reasoning_details`
// array, choices carry `native_finish_reason`, the body names the `provider`, and usage
// has `cost`. Streams open with `: OPENROUTER PROCESSING` comments and end with a usage
// chunk whose choices are empty.
const OPENROUTER_USAGE = {
  prompt_tokens: 438,
  completion_tokens: 131,
  total_tokens: 569,
  cost: 0.000392,
  is_byok: false,
  prompt_tokens_details: { cached_tokens: 0 },
  completion_tokens_details: { reasoning_tokens: 70 },
};

const OPENROUTER_ID = 'gen-1764820800-Xq2LbT9vNcR4sWdE7yHk';

function reasoningDetails(text: string) {
  return [{ type: 'reasoning.text', text, format: 'unknown', index: 0 }];
}

export const openrouter: Dialect = {
  name: 'OpenRouter',
  model: 'deepseek/deepseek-r1',
  turn: { content: ANSWER, reasoning: MONOLOGUE },
  keep: { content: ANSWER, reasoning: MONOLOGUE },
  usage: OPENROUTER_USAGE,
  json: (turn) => ({
    id: OPENROUTER_ID,
    provider: 'DeepInfra',
    model: 'deepseek/deepseek-r1',
    object: 'chat.completion',
    created: CREATED,
    choices: [
      {
        logprobs: null,
        finish_reason: 'stop',
        native_finish_reason: 'stop',
        index: 0,
        message: {
          role: 'assistant',
          content: turn.content,
          refusal: null,
          reasoning: turn.reasoning ?? null,
          ...(turn.reasoning !== undefined ? { reasoning_details: reasoningDetails(turn.reasoning) } : {}),
        },
      },
    ],
    usage: OPENROUTER_USAGE,
  }),
  sse: (turn) => {
    const chunk = (delta: Record<string, unknown>, finishReason: string | null) => ({
      id: OPENROUTER_ID,
      provider: 'DeepInfra',
      model: 'deepseek/deepseek-r1',
      object: 'chat.completion.chunk',
      created: CREATED,
      choices: [{ index: 0, delta, finish_reason: finishReason, native_finish_reason: finishReason, logprobs: null }],
    });
    const events = [': OPENROUTER PROCESSING\n\n', ': OPENROUTER PROCESSING\n\n'];
    for (const piece of splitText(turn.reasoning ?? '', 4)) {
      events.push(data(chunk({ role: 'assistant', content: '', reasoning: piece, reasoning_details: reasoningDetails(piece) }, null)));
    }
    for (const piece of splitText(turn.content, 4)) {
      events.push(data(chunk({ role: 'assistant', content: piece, reasoning: null }, null)));
    }
    events.push(data(chunk({ role: 'assistant', content: '', reasoning: null }, 'stop')));
    events.push(
      data({
        id: OPENROUTER_ID,
        provider: 'DeepInfra',
        model: 'deepseek/deepseek-r1',
        object: 'chat.completion.chunk',
        created: CREATED,
        choices: [],
        usage: OPENROUTER_USAGE,
      }),
    );
    events.push(DONE);
    return events;
  },
};

// Ollama's OpenAI-compatible /v1 with qwen3: `<think>` and `</think>` arrive as tokens of
// their own in content, every body has `system_fingerprint: "fp_ollama"`, the closing
// chunk repeats `role` with empty content, and include_usage adds a chunk with empty
// choices. Ids are short (`chatcmpl-245`).
const OLLAMA_USAGE = { prompt_tokens: 452, completion_tokens: 140, total_tokens: 592 };

export const ollama: Dialect = {
  name: 'Ollama',
  model: 'qwen3:8b',
  turn: { content: `<think>\n${MONOLOGUE}\n</think>\n\n${ANSWER}` },
  keep: { content: `<think>\n${MONOLOGUE}\n</think>\n\n${ANSWER}` },
  usage: OLLAMA_USAGE,
  json: (turn) => ({
    id: 'chatcmpl-245',
    object: 'chat.completion',
    created: CREATED,
    model: 'qwen3:8b',
    system_fingerprint: 'fp_ollama',
    choices: [{ index: 0, message: { role: 'assistant', content: turn.content }, finish_reason: 'stop' }],
    usage: OLLAMA_USAGE,
  }),
  sse: (turn, request) => {
    const chunk = (delta: Record<string, unknown>, finishReason: string | null) => ({
      id: 'chatcmpl-245',
      object: 'chat.completion.chunk',
      created: CREATED,
      model: 'qwen3:8b',
      system_fingerprint: 'fp_ollama',
      choices: [{ index: 0, delta, finish_reason: finishReason }],
    });
    const events: string[] = [];
    for (const piece of splitKeepingTags(turn.content, ['<think>', '</think>', '\n\n'], 2)) {
      events.push(data(chunk({ role: 'assistant', content: piece }, null)));
    }
    events.push(data(chunk({ role: 'assistant', content: '' }, 'stop')));
    if (includeUsage(request)) {
      events.push(
        data({ id: 'chatcmpl-245', object: 'chat.completion.chunk', created: CREATED, model: 'qwen3:8b', system_fingerprint: 'fp_ollama', choices: [], usage: OLLAMA_USAGE }),
      );
    }
    events.push(DONE);
    return events;
  },
};

// llama.cpp's llama-server started with `--jinja`, whose reasoning parser puts the
// monologue of a thinking model in `reasoning_content`. `system_fingerprint` names the
// build and `model` is the `--alias`. The finishing chunk has an empty delta, include_usage
// adds a chunk with empty choices, and the last body or chunk carries `timings`
// (llama.cpp source: tools/server/server-task.cpp, `to_json_oaicompat_chat_stream`).
const LLAMA_CPP_USAGE = { completion_tokens: 126, prompt_tokens: 449, total_tokens: 575 };
const LLAMA_CPP_TIMINGS = {
  prompt_n: 449,
  prompt_ms: 211.4,
  prompt_per_token_ms: 0.47,
  prompt_per_second: 2123.9,
  predicted_n: 126,
  predicted_ms: 2480.2,
  predicted_per_token_ms: 19.68,
  predicted_per_second: 50.8,
};

export const llamaCpp: Dialect = {
  name: 'llama.cpp',
  model: 'qwen3-8b',
  turn: { content: ANSWER, reasoning: MONOLOGUE },
  keep: { content: ANSWER, reasoning_content: MONOLOGUE },
  usage: LLAMA_CPP_USAGE,
  json: (turn) => ({
    choices: [
      {
        finish_reason: 'stop',
        index: 0,
        message: { role: 'assistant', ...(turn.reasoning !== undefined ? { reasoning_content: turn.reasoning } : {}), content: turn.content },
      },
    ],
    created: CREATED,
    model: 'qwen3-8b',
    system_fingerprint: 'b6380-4f2a5c1d',
    object: 'chat.completion',
    usage: LLAMA_CPP_USAGE,
    id: 'chatcmpl-qN4v8rT2xY6bK1mZ9wJ3pL7sD5fH0gA',
    timings: LLAMA_CPP_TIMINGS,
  }),
  sse: (turn, request) => {
    const chunk = (delta: Record<string, unknown>, finishReason: string | null, extra: Record<string, unknown> = {}) => ({
      choices: [{ finish_reason: finishReason, index: 0, delta }],
      created: CREATED,
      id: 'chatcmpl-qN4v8rT2xY6bK1mZ9wJ3pL7sD5fH0gA',
      model: 'qwen3-8b',
      system_fingerprint: 'b6380-4f2a5c1d',
      object: 'chat.completion.chunk',
      ...extra,
    });
    const events = [data(chunk({ role: 'assistant', content: null }, null))];
    for (const piece of splitText(turn.reasoning ?? '', 3)) events.push(data(chunk({ reasoning_content: piece }, null)));
    for (const piece of splitText(turn.content, 3)) events.push(data(chunk({ content: piece }, null)));
    if (includeUsage(request)) {
      events.push(data(chunk({}, 'stop')));
      events.push(data({ ...chunk({}, null), choices: [], usage: LLAMA_CPP_USAGE, timings: LLAMA_CPP_TIMINGS }));
    } else {
      events.push(data(chunk({}, 'stop', { timings: LLAMA_CPP_TIMINGS })));
    }
    events.push(DONE);
    return events;
  },
};

export const DIALECTS: readonly Dialect[] = [openai, deepseek, qwen3Vllm, qwqVllm, openrouter, ollama, llamaCpp];

/** Writes SSE text one piece per socket write, stopping early if the proxy went away. */
export async function writeSse(response: ServerResponse, events: string[]): Promise<void> {
  response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
  response.flushHeaders();
  for (const event of events) {
    if (response.destroyed) return;
    response.write(event);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  response.end();
}

/** Builds a handler that replies like `dialect`: JSON or SSE as the request sets, in character only after the pack. */
export function dialectUpstream(dialect: Dialect): UpstreamHandler {
  return async (request, response) => {
    const turn = startsWithKeeperPack(request) ? dialect.turn : { content: OUT_OF_CHARACTER };
    if (request.json?.stream === true) {
      await writeSse(response, dialect.sse(turn, request));
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(dialect.json(turn, request)));
  };
}
