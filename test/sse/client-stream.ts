/**
 * Test helpers: build upstream SSE streams, run them through ChatStreamTransform and read
 * the client output back the way an OpenAI client does.
 */
import { createParser } from 'eventsource-parser';

import { ChatStreamTransform, type ChatStreamTransformOptions } from '../../src/sse/chat-stream-transform.js';

export const UPSTREAM_MODEL = 'upstream/model-7b';

type Json = Record<string, unknown>;

/** Returns a chat.completion.chunk with the given choices, as JSON text. */
export function chunkJson(choices: Json[], extra: Json = {}): string {
  return JSON.stringify({
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    model: UPSTREAM_MODEL,
    choices,
    ...extra,
  });
}

/** Returns a chunk with a single choice at index 0, as JSON text. */
export function deltaJson(delta: Json, finishReason: string | null = null): string {
  return chunkJson([{ index: 0, delta, finish_reason: finishReason }]);
}

export function usageJson(): string {
  return chunkJson([], { usage: { prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 } });
}

/** Joins `data:` events with the given line break, each followed by a blank line. */
export function sseText(datas: readonly string[], lineBreak = '\n'): string {
  return datas.map((data) => `data: ${data}${lineBreak}${lineBreak}`).join('');
}

/** What an OpenAI client sees in the transform's output. Keys of the records are choice indexes. */
export interface ClientView {
  content: Record<number, string>;
  reasoningContent: Record<number, string>;
  reasoning: Record<number, string>;
  finishReasons: Record<number, string>;
  roles: Record<number, string>;
  toolCalls: Record<number, unknown[]>;
  usage: unknown;
  errors: unknown[];
  models: string[];
  comments: string[];
  nonJsonData: string[];
  doneCount: number;
  eventsAfterDone: number;
  dataEventCount: number;
}

function appendText(record: Record<number, string>, index: number, text: unknown): void {
  if (typeof text === 'string') {
    record[index] = (record[index] ?? '') + text;
  }
}

/** Parses the client output with eventsource-parser and collects what each choice received. */
export function readClientStream(text: string): ClientView {
  const view: ClientView = {
    content: {},
    reasoningContent: {},
    reasoning: {},
    finishReasons: {},
    roles: {},
    toolCalls: {},
    usage: null,
    errors: [],
    models: [],
    comments: [],
    nonJsonData: [],
    doneCount: 0,
    eventsAfterDone: 0,
    dataEventCount: 0,
  };

  const parser = createParser({
    onComment: (comment) => view.comments.push(comment),
    onEvent: (event) => {
      view.dataEventCount++;
      if (view.doneCount > 0) {
        view.eventsAfterDone++;
      }
      if (event.data === '[DONE]') {
        view.doneCount++;
        return;
      }
      let parsed: Json;
      try {
        parsed = JSON.parse(event.data) as Json;
      } catch {
        view.nonJsonData.push(event.data);
        return;
      }
      if ('error' in parsed) {
        view.errors.push(parsed.error);
        return;
      }
      if (typeof parsed.model === 'string') {
        view.models.push(parsed.model);
      }
      if (parsed.usage !== undefined && parsed.usage !== null) {
        view.usage = parsed.usage;
      }
      for (const choice of (parsed.choices ?? []) as Json[]) {
        const index = choice.index as number;
        const delta = (choice.delta ?? {}) as Json;
        appendText(view.content, index, delta.content);
        appendText(view.reasoningContent, index, delta.reasoning_content);
        appendText(view.reasoning, index, delta.reasoning);
        appendText(view.roles, index, delta.role);
        if (Array.isArray(delta.tool_calls)) {
          view.toolCalls[index] = [...(view.toolCalls[index] ?? []), ...(delta.tool_calls as unknown[])];
        }
        if (typeof choice.finish_reason === 'string') {
          view.finishReasons[index] = choice.finish_reason;
        }
      }
    },
  });
  parser.feed(text);
  return view;
}

/** Pushes each part, then calls end(), and returns the concatenated client output. */
export function runTransform(parts: readonly (Uint8Array | string)[], options: ChatStreamTransformOptions): string {
  const transform = new ChatStreamTransform(options);
  let output = '';
  for (const part of parts) {
    output += transform.push(part);
  }
  return output + transform.end();
}

/** Splits `bytes` into two reads at `index`. */
export function splitInTwo(bytes: Uint8Array, index: number): Uint8Array[] {
  return [bytes.subarray(0, index), bytes.subarray(index)];
}

/** Splits `bytes` at the given indexes, which need not be sorted or unique. */
export function splitAt(bytes: Uint8Array, indexes: readonly number[]): Uint8Array[] {
  const cuts = [...new Set(indexes.map((index) => Math.min(Math.max(index, 0), bytes.length)))].sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  let start = 0;
  for (const cut of cuts) {
    parts.push(bytes.subarray(start, cut));
    start = cut;
  }
  parts.push(bytes.subarray(start));
  return parts;
}

export function splitIntoBytes(bytes: Uint8Array): Uint8Array[] {
  const parts: Uint8Array[] = [];
  for (let index = 0; index < bytes.length; index++) {
    parts.push(bytes.subarray(index, index + 1));
  }
  return parts;
}

export const utf8 = new TextEncoder();
