/**
 * Helpers for the scale-out tests: bounded waits, a DeepSeek-like upstream
 * that needs the reasoning of tool-call turns back, and readers for the
 * proxies' metrics and logs.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { TestProxy } from '../helpers/proxy.js';
import { sleep, type RecordedRequest, type UpstreamHandler } from '../helpers/upstream.js';

export type ChatMessage = Record<string, unknown> & { role: string };

/** The warning SharedRedis logs once per outage. */
export const REDIS_DOWN_MESSAGE = 'Redis is unavailable; using local state until it returns';
/** The info line SharedRedis logs when the connection is ready again after an outage. */
export const REDIS_BACK_MESSAGE = 'Redis is reachable again; shared state is back in use';

/** Polls `condition` every `intervalMs` until it holds, failing after `timeoutMs` with `what` in the message. */
export async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<number> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await condition()) return Date.now() - started;
    await sleep(options.intervalMs ?? 50);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export interface ChatResult {
  status: number;
  headers: Headers;
  json: any;
}

/** Posts a chat request; `apiKey` defaults to a new random key, so the request has a rate-limit bucket of its own. */
export async function postChat(proxy: TestProxy, body: Record<string, unknown>, apiKey = `sk-${randomUUID()}`): Promise<ChatResult> {
  const response = await fetch(`${proxy.baseUrl}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.status, headers: response.headers, json };
}

/** Reads one sample of a counter from the proxy's /metrics; 0 when the series does not exist yet. */
export async function metricValue(proxy: TestProxy, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${proxy.url}/metrics`)).text();
  const labelText = Object.entries(labels)
    .map(([key, value]) => `${key}="${value}"`)
    .join(',');
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${name}{${labelText}} `));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** Counts the proxy's log lines with message `message`. */
export function logCount(proxy: TestProxy, message: string): number {
  return proxy.logs.filter((line) => line.msg === message).length;
}

/** Returns the reasoning the DeepSeek-like upstream attaches to tool call `id`. */
export function reasoningFor(id: string): string {
  return `I need the weather tool for this question (${id}).`;
}

function writeJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

function sseEvent(delta: Record<string, unknown>, finishReason: string | null = null): string {
  const chunk = { id: 'chatcmpl-ds', object: 'chat.completion.chunk', created: 1, model: 'deepseek-reasoner', choices: [{ index: 0, delta, finish_reason: finishReason }] };
  return `data: ${JSON.stringify(chunk)}\n\n`;
}

/** Returns the index of the first assistant tool-call message without `reasoning_content`, or -1. */
export function missingReasoningIndex(messages: ChatMessage[]): number {
  return messages.findIndex(
    (message) => message.role === 'assistant' && Array.isArray(message.tool_calls) && typeof message.reasoning_content !== 'string',
  );
}

/**
 * An upstream that behaves like DeepSeek's thinking mode with tools: a
 * request whose assistant tool-call message lacks the `reasoning_content` it
 * was produced with gets 400; a conversation ending in a tool result gets a
 * final reply; any other request gets a tool call with a fresh id and
 * reasoning in `reasoning_content` (as JSON or SSE, as requested).
 */
export function deepSeekLikeUpstream(): UpstreamHandler {
  let calls = 0;
  return (request: RecordedRequest, response: ServerResponse) => {
    const messages = (request.json?.messages ?? []) as ChatMessage[];
    const missing = missingReasoningIndex(messages);
    if (missing >= 0) {
      writeJson(response, 400, {
        error: {
          message: `Missing reasoning_content field in the assistant message at message index ${missing}`,
          type: 'invalid_request_error',
          param: null,
          code: 'invalid_request_error',
        },
      });
      return;
    }

    if (messages.at(-1)?.role === 'tool') {
      writeJson(response, 200, {
        id: 'chatcmpl-ds',
        object: 'chat.completion',
        created: 1,
        model: 'deepseek-reasoner',
        choices: [{ index: 0, message: { role: 'assistant', content: 'It is sunny, 22 °C.', reasoning_content: 'The tool answered.' }, finish_reason: 'stop' }],
      });
      return;
    }

    calls += 1;
    const id = `call_${randomUUID().slice(0, 8)}_${calls}`;
    const toolCall = { id, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Hangzhou"}' } };
    if (request.json?.stream === true) {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write(sseEvent({ role: 'assistant', content: null, reasoning_content: reasoningFor(id) }));
      response.write(sseEvent({ tool_calls: [{ index: 0, ...toolCall }] }));
      response.write(sseEvent({}, 'tool_calls'));
      response.end('data: [DONE]\n\n');
      return;
    }
    writeJson(response, 200, {
      id: 'chatcmpl-ds',
      object: 'chat.completion',
      created: 1,
      model: 'deepseek-reasoner',
      choices: [{ index: 0, message: { role: 'assistant', content: null, reasoning_content: reasoningFor(id), tool_calls: [toolCall] }, finish_reason: 'tool_calls' }],
    });
  };
}

/** The first turn of a tool-call conversation. */
export const WEATHER_QUESTION: ChatMessage = { role: 'user', content: 'What is the weather in Hangzhou?' };

/** Builds the follow-up a client sends after running tool call `id`, without the reasoning it never saw. */
export function toolFollowUp(id: string): ChatMessage[] {
  return [
    WEATHER_QUESTION,
    { role: 'assistant', content: null, tool_calls: [{ id, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Hangzhou"}' } }] },
    { role: 'tool', tool_call_id: id, content: 'sunny, 22 °C' },
  ];
}

/** Reads a streamed answer's text body and returns the id of the first tool call in it. */
export function toolCallIdOfStream(text: string): string | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
    const chunk = JSON.parse(line.slice('data: '.length)) as { choices?: { delta?: { tool_calls?: { id?: string }[] } }[] };
    const id = chunk.choices?.[0]?.delta?.tool_calls?.[0]?.id;
    if (id !== undefined) return id;
  }
  return undefined;
}
