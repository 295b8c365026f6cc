/** Reads what an OpenAI-SDK client got from the proxy, JSON or streamed, into one shape. */
import type OpenAI from 'openai';

/** Everything a client saw of one answer. */
export interface ClientView {
  content: string;
  /** Concatenated `reasoning_content`, or undefined when no message or delta had it as a string. */
  reasoning_content: string | undefined;
  /** Concatenated `reasoning`, or undefined when no message or delta had it as a string. */
  reasoning: string | undefined;
  /** Every message or delta key that held a non-null value at least once. */
  keys: Set<string>;
  /** `model` of the body, or of every chunk. */
  models: Set<string>;
  usage: Record<string, unknown> | undefined;
  finishReason: string | null;
}

function emptyView(): ClientView {
  return { content: '', reasoning_content: undefined, reasoning: undefined, keys: new Set(), models: new Set(), usage: undefined, finishReason: null };
}

function addFields(view: ClientView, fields: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(fields)) {
    if (value !== null && value !== undefined) view.keys.add(key);
  }
  if (typeof fields.content === 'string') view.content += fields.content;
  if (typeof fields.reasoning_content === 'string') view.reasoning_content = (view.reasoning_content ?? '') + fields.reasoning_content;
  if (typeof fields.reasoning === 'string') view.reasoning = (view.reasoning ?? '') + fields.reasoning;
}

export function viewOfCompletion(completion: OpenAI.Chat.Completions.ChatCompletion): ClientView {
  const view = emptyView();
  view.models.add(completion.model);
  const choice = completion.choices[0];
  if (choice !== undefined) {
    addFields(view, choice.message as unknown as Record<string, unknown>);
    view.finishReason = choice.finish_reason;
  }
  view.usage = completion.usage as unknown as Record<string, unknown> | undefined;
  return view;
}

export async function viewOfStream(stream: AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>): Promise<ClientView> {
  const view = emptyView();
  for await (const chunk of stream) {
    view.models.add(chunk.model);
    if (chunk.usage !== null && chunk.usage !== undefined) view.usage = chunk.usage as unknown as Record<string, unknown>;
    const choice = chunk.choices[0];
    if (choice === undefined) continue;
    addFields(view, choice.delta as unknown as Record<string, unknown>);
    if (choice.finish_reason !== null) view.finishReason = choice.finish_reason;
  }
  return view;
}
