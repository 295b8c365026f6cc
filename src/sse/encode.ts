/**
 * Server-sent events encoding for everything the proxy writes to a streaming client.
 * All SSE text leaves through these functions, so the framing rules live in one place.
 */

const LINE_BREAK = /\r\n|\r|\n/;

/** The event that ends an OpenAI chat-completions stream. */
export const DONE_EVENT = 'data: [DONE]\n\n';

/** Body of an OpenAI error response, as sent inside an SSE `data:` field. */
export interface ErrorEventFields {
  message: string;
  type: string;
  code?: string | null;
  param?: string | null;
}

/**
 * Encodes one SSE event. Each line of `data` becomes its own `data:` line, so a client
 * that joins them with `\n` gets `data` back unchanged.
 * Throws when `event` contains a line break, because that would start a new field.
 */
export function encodeEvent(data: string, event?: string): string {
  let text = '';
  if (event !== undefined) {
    if (LINE_BREAK.test(event)) {
      throw new Error(`invalid SSE event name ${JSON.stringify(event)}: it must not contain a line break`);
    }
    text += `event: ${event}\n`;
  }

  // Most chunks are one line of JSON, which needs no split.
  if (!data.includes('\n') && !data.includes('\r')) {
    return `${text}data: ${data}\n\n`;
  }
  for (const line of data.split(LINE_BREAK)) {
    text += `data: ${line}\n`;
  }
  return `${text}\n`;
}

/**
 * Encodes an SSE comment, which clients ignore and which keeps idle connections open.
 * Each line of `text` becomes its own comment line.
 */
export function encodeComment(text: string): string {
  let encoded = '';
  for (const line of text.split(LINE_BREAK)) {
    encoded += line === '' ? ':\n' : `: ${line}\n`;
  }
  return `${encoded}\n`;
}

/**
 * Encodes an error as `data: {"error":{...}}`, the form in which OpenAI reports an error
 * inside a stream that already started with status 200. `param` and `code` default to null.
 */
export function encodeErrorEvent(fields: ErrorEventFields): string {
  const error = {
    message: fields.message,
    type: fields.type,
    param: fields.param ?? null,
    code: fields.code ?? null,
  };
  return encodeEvent(JSON.stringify({ error }));
}
