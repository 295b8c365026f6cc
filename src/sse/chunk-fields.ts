/** Field helpers shared by the stream and the non-stream chat-completion transforms. */

export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Returns the reasoning text of a delta or message, or null when it has none.
 * Upstreams name the field either `reasoning_content` or `reasoning`. When both are strings,
 * `reasoning_content` wins and `reasoning` is ignored, so text sent under both names counts once.
 */
export function readReasoningText(fields: JsonObject): string | null {
  if (typeof fields.reasoning_content === 'string') {
    return fields.reasoning_content;
  }
  if (typeof fields.reasoning === 'string') {
    return fields.reasoning;
  }
  return null;
}
