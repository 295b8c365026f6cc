/**
 * Text template of a stream's common chunk: one choice whose delta contains only `content`.
 *
 * Many upstreams send most chunks of a stream as the same JSON text with only the content string
 * changed. A template learned from one parsed chunk splits that text into the part before
 * the content's string literal and the part after it. A later chunk that starts and ends
 * with those parts, with one valid string literal between them, parses to the template's
 * chunk with only the content changed, so ChatStreamTransform can handle it without
 * JSON.parse and forward its text without JSON.stringify.
 */
import { isJsonObject, type JsonObject } from './chunk-fields.js';

export interface ContentChunkTemplate {
  /** Upstream chunk text before the content's string literal. */
  readonly prefix: string;
  /** Upstream chunk text after the content's string literal. */
  readonly suffix: string;
  /** `data: ` and `prefix`, with the client's model in place of the upstream's. */
  readonly eventPrefix: string;
  /** `suffix` with the client's model in place of the upstream's, and the blank line that ends the event. */
  readonly eventSuffix: string;
  /** True when the model is spliced into the text, so a literal containing `"model"` needs the full path. */
  readonly splicesModel: boolean;
  /** Copy of the parsed template chunk, taken before the transform changed it. */
  readonly chunk: JsonObject;
  /** Copy of the chunk's only choice, taken before the transform changed it. */
  readonly choice: JsonObject;
  /** Choice index that the transform files the choice under. */
  readonly index: number;
  /** True when every choice field besides `index` and `delta` is null or absent. */
  readonly choiceFieldsEmpty: boolean;
}

/** Splice of the client's model into chunk text: `:` and the JSON string of each model. */
export interface ModelSplice {
  upstreamValue: string;
  responseValue: string;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const MODEL_TOKEN = '"model"';
const CONTENT_TOKEN = '"content"';

/**
 * Returns a template learned from `data`, or undefined when its text does not split around
 * the content literal. `chunk` must be the untouched result of JSON.parse(data) and `choice`
 * what contentOnlyChoice() returned for it. With `splice`, it also returns undefined unless
 * `data` has exactly one `"model"` token, followed by `splice.upstreamValue` and outside the
 * literal, because ChatStreamTransform splices the model into the text only then.
 */
export function learnContentChunkTemplate(
  data: string,
  chunk: JsonObject,
  choice: JsonObject,
  splice: ModelSplice | undefined,
): ContentChunkTemplate | undefined {
  if (data.includes('\n') || data.includes('\r')) return undefined;
  const content = (choice.delta as JsonObject).content as string;

  const literal = findContentLiteral(data);
  if (literal === undefined) return undefined;
  const prefix = detachedSlice(data, 0, literal.start);
  const suffix = detachedSlice(data, literal.end, data.length);
  if (!probeReachesContent(prefix, suffix, content)) return undefined;

  let eventPrefix = `data: ${prefix}`;
  let eventSuffix = `${suffix}\n\n`;
  if (splice !== undefined) {
    // Exactly one "model" token, outside the literal, so that a chunk with another literal has it once too.
    const at = data.indexOf(MODEL_TOKEN);
    if (at === -1 || data.indexOf(MODEL_TOKEN, at + MODEL_TOKEN.length) !== -1) return undefined;
    const valueStart = at + MODEL_TOKEN.length;
    if (!data.startsWith(splice.upstreamValue, valueStart)) return undefined;
    const valueEnd = valueStart + splice.upstreamValue.length;
    if (valueEnd <= literal.start) {
      eventPrefix = `data: ${prefix.slice(0, valueStart)}${splice.responseValue}${prefix.slice(valueEnd)}`;
    } else if (at >= literal.end) {
      const offset = literal.end;
      eventSuffix = `${suffix.slice(0, valueStart - offset)}${splice.responseValue}${suffix.slice(valueEnd - offset)}\n\n`;
    } else {
      return undefined;
    }
  }

  return {
    prefix,
    suffix,
    eventPrefix,
    eventSuffix,
    splicesModel: splice !== undefined,
    chunk: { ...chunk },
    choice: { ...choice },
    index: typeof choice.index === 'number' ? choice.index : 0,
    choiceFieldsEmpty: choiceFieldsEmpty(choice),
  };
}

/**
 * Returns the content string literal of `data` and the content it encodes when `data` is
 * the template's prefix, one valid JSON string literal and the template's suffix.
 */
export function matchContentChunk(template: ContentChunkTemplate, data: string): { literal: string; content: string } | undefined {
  const { prefix, suffix } = template;
  const literalEnd = data.length - suffix.length;
  if (literalEnd < prefix.length + 2) return undefined;
  // On Node 20.20.2, slice() and === took 75-160 ns per 250-character chunk here, and
  // startsWith() with endsWith() 480-520 ns (a micro-benchmark on the bench machine).
  if (data.slice(0, prefix.length) !== prefix || data.slice(literalEnd) !== suffix) return undefined;
  const literal = data.slice(prefix.length, literalEnd);
  const content = readStringLiteral(literal);
  if (content === undefined) return undefined;
  if (template.splicesModel && literal.includes(MODEL_TOKEN)) return undefined;
  return { literal, content };
}

/**
 * Returns `text.slice(start, end)` as a string of its own. V8 makes a slice of a long string
 * a view that keeps the whole string in memory. `data` may be a slice of a whole upstream
 * read, which the template would then keep until the stream ends.
 */
function detachedSlice(text: string, start: number, end: number): string {
  return ` ${text.slice(start, end)}`.slice(1);
}

/**
 * Returns the value of `literal` when it is exactly one JSON string literal, else undefined.
 * A literal without escapes is checked here, and one with escapes goes to JSON.parse.
 */
export function readStringLiteral(literal: string): string | undefined {
  const last = literal.length - 1;
  if (last < 1 || literal.charCodeAt(0) !== QUOTE || literal.charCodeAt(last) !== QUOTE) return undefined;
  for (let index = 1; index < last; index++) {
    const code = literal.charCodeAt(index);
    if (code === BACKSLASH) return parseStringLiteral(literal);
    // An unescaped quote would end the literal early, and JSON forbids raw control characters.
    if (code === QUOTE || code < 0x20) return undefined;
  }
  return literal.slice(1, last);
}

function parseStringLiteral(literal: string): string | undefined {
  try {
    const value = JSON.parse(literal) as unknown;
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Returns the chunk's only choice when its delta contains nothing but a `content` string, it
 * has no finish_reason, and the chunk has no error and no usage object: the shape a template covers.
 */
export function contentOnlyChoice(chunk: JsonObject): JsonObject | undefined {
  if ((chunk.error !== undefined && chunk.error !== null) || isJsonObject(chunk.usage)) return undefined;
  const choices = chunk.choices;
  if (!Array.isArray(choices) || choices.length !== 1) return undefined;
  const choice: unknown = choices[0];
  if (!isJsonObject(choice) || typeof choice.finish_reason === 'string') return undefined;
  const delta = choice.delta;
  if (!isJsonObject(delta) || typeof delta.content !== 'string') return undefined;
  for (const key in delta) {
    if (key !== 'content') return undefined;
  }
  return choice;
}

function choiceFieldsEmpty(choice: JsonObject): boolean {
  for (const key in choice) {
    if (key !== 'index' && key !== 'delta' && choice[key] !== null && choice[key] !== undefined) return false;
  }
  return true;
}

/**
 * Finds the last string literal that is the value of a `"content"` key, scanning the valid
 * JSON text `data` token by token so that quotes inside strings are not mistaken for tokens.
 */
function findContentLiteral(data: string): { start: number; end: number } | undefined {
  let found: { start: number; end: number } | undefined;
  let previousWasContentKey = false;
  let index = 0;
  while (index < data.length) {
    const code = data.charCodeAt(index);
    if (code !== QUOTE) {
      // Outside strings only whitespace may stand between a key, its colon and its value.
      if (code !== COLON && code !== 0x20 && code !== 0x09) previousWasContentKey = false;
      index++;
      continue;
    }
    const end = stringTokenEnd(data, index);
    if (end === -1) return undefined;
    if (previousWasContentKey && colonBetween(data, index)) {
      found = { start: index, end };
      previousWasContentKey = false;
    } else {
      previousWasContentKey = end - index === CONTENT_TOKEN.length && data.startsWith(CONTENT_TOKEN, index);
    }
    index = end;
  }
  return found;
}

/** Returns the index after the string token that starts at `start`, or -1 when it never ends. */
function stringTokenEnd(data: string, start: number): number {
  let index = start + 1;
  while (index < data.length) {
    const code = data.charCodeAt(index);
    if (code === BACKSLASH) {
      index += 2;
    } else if (code === QUOTE) {
      return index + 1;
    } else {
      index++;
    }
  }
  return -1;
}

/** True when the text just before `at`, after optional spaces and tabs, is a colon. */
function colonBetween(data: string, at: number): boolean {
  let index = at - 1;
  while (index >= 0 && (data.charCodeAt(index) === 0x20 || data.charCodeAt(index) === 0x09)) index--;
  return index >= 0 && data.charCodeAt(index) === COLON;
}

/**
 * True when replacing the literal between `prefix` and `suffix` by another string changes
 * the parsed chunk's choices[0].delta.content to that string. The literal is a value token,
 * so only that one value changes. A duplicate `content` key, whose last value wins, fails here.
 */
function probeReachesContent(prefix: string, suffix: string, content: string): boolean {
  const probe = content === '' ? 'x' : '';
  let parsed: unknown;
  try {
    parsed = JSON.parse(`${prefix}${JSON.stringify(probe)}${suffix}`);
  } catch {
    return false;
  }
  if (!isJsonObject(parsed) || !Array.isArray(parsed.choices)) return false;
  const choice: unknown = parsed.choices[0];
  return isJsonObject(choice) && isJsonObject(choice.delta) && choice.delta.content === probe;
}
