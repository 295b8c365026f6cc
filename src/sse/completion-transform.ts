/** Rewrites a non-stream chat.completion JSON body for the client. */
import { filterCompleteText, type ThinkingFilterOptions } from '../thinking/filter.js';
import { isJsonObject, readReasoningText, type JsonObject } from './chunk-fields.js';

export interface CompletionTransformOptions extends ThinkingFilterOptions {
  /** Model name that replaces the body's `model` field when it has one, usually the alias the client requested. */
  responseModel?: string;
  /** Rewrite `body` itself instead of a copy, for a caller that owns it (a body it just parsed). Default false. */
  inPlace?: boolean;
}

export interface CompletionTransformResult {
  body: unknown;
  /** Indexes of the choices whose empty answer was replaced with fallback text. */
  fallbackIndexes: number[];
}

/**
 * Rewrites `model` and runs each choice's message through the thinking filter.
 * Keep mode leaves the reasoning fields as they are, strip mode deletes `reasoning_content`,
 * `reasoning` and `reasoning_details`, and separate mode writes the reasoning to
 * `reasoning_content` only.
 * A `null` content stays null unless the empty-answer fallback fills it. Unknown fields pass
 * through, and a body that is not an object is returned as it is. The input is not modified
 * unless `inPlace` is set.
 */
export function transformCompletion(body: unknown, options: CompletionTransformOptions): CompletionTransformResult {
  if (!isJsonObject(body)) {
    return { body, fallbackIndexes: [] };
  }

  const output = options.inPlace === true ? body : structuredClone(body);
  if (options.responseModel !== undefined && 'model' in output) {
    output.model = options.responseModel;
  }

  const fallbackIndexes: number[] = [];
  if (Array.isArray(output.choices)) {
    for (let position = 0; position < output.choices.length; position++) {
      const choice: unknown = output.choices[position];
      if (!isJsonObject(choice) || !isJsonObject(choice.message)) {
        continue;
      }
      const index = typeof choice.index === 'number' ? choice.index : position;
      const finishReason = typeof choice.finish_reason === 'string' ? choice.finish_reason : null;
      if (transformMessage(choice.message, finishReason, options)) {
        fallbackIndexes.push(index);
      }
    }
  }
  return { body: output, fallbackIndexes };
}

/** Filters one message in place and returns whether the empty-answer fallback was used. */
function transformMessage(message: JsonObject, finishReason: string | null, options: ThinkingFilterOptions): boolean {
  const content = typeof message.content === 'string' ? message.content : null;
  const result = filterCompleteText(
    { content, reasoning: readReasoningText(message), finishReason },
    { mode: options.mode, implicitThinkOpen: options.implicitThinkOpen, emptyAnswerFallback: options.emptyAnswerFallback },
  );

  if (content !== null || result.content !== '') {
    message.content = result.content;
  }

  if (options.mode === 'strip') {
    delete message.reasoning_content;
    delete message.reasoning;
    delete message.reasoning_details;
  } else if (options.mode === 'separate') {
    // OpenRouter's reasoning_details repeats the reasoning text in structured form.
    delete message.reasoning;
    delete message.reasoning_details;
    if (result.reasoning !== '') {
      message.reasoning_content = result.reasoning;
    } else {
      delete message.reasoning_content;
    }
  }
  return result.fallbackUsed;
}
