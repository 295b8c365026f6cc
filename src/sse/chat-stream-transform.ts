/**
 * Rewrites an upstream chat-completions SSE stream for the client, one read at a time.
 *
 * Bytes are decoded as UTF-8, line breaks are normalised to LF, and eventsource-parser
 * splits the text into events. Each chunk then gets the client's model name, and its
 * text passes through one ThinkingFilter per choice index. A chunk whose text repeats an
 * earlier chunk's except for the content string is handled without JSON.parse, through a
 * template learned from that earlier chunk (chunk-template.ts). The transform never invents
 * an answer ending. It adds `[DONE]` only when every choice finished, and sends an error
 * event otherwise.
 */
import { StringDecoder } from 'node:string_decoder';
import { createParser, type EventSourceMessage, type EventSourceParser, type ParseError } from 'eventsource-parser';

import { ThinkingFilter, type FilterOutput, type ThinkingFilterOptions, type ThinkingMode } from '../thinking/filter.js';
import { isJsonObject, readReasoningText, type JsonObject } from './chunk-fields.js';
import {
  contentOnlyChoice,
  learnContentChunkTemplate,
  matchContentChunk,
  type ContentChunkTemplate,
  type ModelSplice,
} from './chunk-template.js';
import { DONE_EVENT, encodeComment, encodeErrorEvent, encodeEvent } from './encode.js';

/**
 * Default for `maxEventChars`. An OpenAI chunk is usually well under 10 KB, so this bound
 * only stops an upstream that never ends its event. It is a chosen bound, not a measured one.
 */
export const DEFAULT_MAX_EVENT_CHARS = 16 * 1024 * 1024;

export interface ChatStreamTransformOptions extends ThinkingFilterOptions {
  /** Model name that replaces the `model` field of every chunk that has one, usually the alias the client requested. */
  responseModel?: string;
  /** Called once for each choice index whose empty answer the filter replaced with fallback text. */
  onFallback?: (index: number) => void;
  /** Maximum characters of one unfinished event held in memory. A larger event ends the stream with an error event. */
  maxEventChars?: number;
  /**
   * Called when a choice that made tool calls finishes, with the upstream reasoning-field
   * text of that choice and the tool call ids, so the reasoning can be sent back with them.
   */
  onToolCallReasoning?: (reasoning: string, toolCallIds: string[]) => void;
}

interface ChoiceState {
  filter: ThinkingFilter;
  /** True once the choice got a finish_reason, or once `[DONE]` flushed it. */
  finished: boolean;
  fallbackReported: boolean;
  /** Upstream reasoning-field text and tool call ids, collected only with `onToolCallReasoning`. */
  toolCallReasoning: { reasoning: string[]; toolCallIds: string[] } | undefined;
}

interface ChoiceResult {
  /** True when the choice object was modified and the chunk must be serialised again. */
  changed: boolean;
  /** True when the filter removed all text of a delta that had some. */
  emptied: boolean;
}

const UNCHANGED: ChoiceResult = { changed: false, emptied: false };

/**
 * Chunks of the template's shape that a stream may learn a template from. Each learning costs
 * about one JSON.parse, so a stream whose chunks never repeat one text stops trying.
 */
const TEMPLATE_LEARNINGS = 4;

const LINE_FEED = 10;

/** Top-level chunk fields that carry nothing for the client once the choices are empty. */
const DROPPABLE_CHUNK_FIELDS = new Set(['id', 'object', 'created', 'model', 'system_fingerprint', 'service_tier', 'choices']);

export class ChatStreamTransform {
  private readonly filterOptions: ThinkingFilterOptions;
  private readonly mode: ThinkingMode;
  private readonly responseModel: string | undefined;
  /** `:` and the JSON text of `responseModel`, which replaces the upstream model's in chunk text. */
  private readonly responseModelValue: string | undefined;
  /** The last upstream model spliced out, with its `:` and JSON text, so it is serialised once per stream. */
  private upstreamModelValue: { model: string; text: string } | undefined;
  /** Text template of the stream's common content chunk, learned from a parsed chunk (see chunk-template.ts). */
  private template: ContentChunkTemplate | undefined;
  /** isDroppableChunk() of the template's chunk, which is the same for every chunk that matches it. */
  private templateChunkDroppable = false;
  /** Learnings left: zero when the subclass turned templates off. */
  private templateLearningsLeft: number;
  private readonly onFallback: ((index: number) => void) | undefined;
  private readonly onToolCallReasoning: ChatStreamTransformOptions['onToolCallReasoning'];
  private readonly maxEventChars: number;

  // StringDecoder costs about half of TextDecoder per read on Node 20. Unlike TextDecoder it
  // keeps a leading byte-order mark, so push() drops that itself.
  private readonly decoder = new StringDecoder('utf8');
  private sawText = false;
  private readonly parser: EventSourceParser;
  private readonly choices = new Map<number, ChoiceState>();
  /** Client text produced since the last takeOutput(). */
  private output = '';

  /** True when the previous read ended with CR, so an LF at the start of the next read completes that CRLF. */
  private pendingCarriageReturn = false;
  /** The last chunk with choices; its id, created and similar fields are copied into chunks that this transform creates. */
  private lastChunkWithChoices: JsonObject | undefined;
  private doneSent = false;
  private closed = false;
  private overflowed = false;

  private lastUsage: JsonObject | null = null;
  private upstreamDone = false;
  private errorSent = false;
  private totalBytesIn = 0;
  private wroteOutput = false;

  constructor(options: ChatStreamTransformOptions) {
    this.filterOptions = {
      mode: options.mode,
      implicitThinkOpen: options.implicitThinkOpen,
      emptyAnswerFallback: options.emptyAnswerFallback,
    };
    this.mode = options.mode;
    this.responseModel = options.responseModel;
    this.responseModelValue = options.responseModel === undefined ? undefined : `:${JSON.stringify(options.responseModel)}`;
    this.onFallback = options.onFallback;
    this.onToolCallReasoning = options.onToolCallReasoning;
    this.maxEventChars = options.maxEventChars ?? DEFAULT_MAX_EVENT_CHARS;
    this.templateLearningsLeft = this.templatesEnabled() ? TEMPLATE_LEARNINGS : 0;
    this.parser = createParser({
      onEvent: (message) => this.handleEvent(message),
      onComment: (comment) => this.handleComment(comment),
      onError: (error) => this.handleParseError(error),
      maxBufferSize: this.maxEventChars,
    });
  }

  /** Last non-null `usage` object seen in a chunk, or null. */
  get usage(): JsonObject | null {
    return this.lastUsage;
  }

  /** True once the upstream sent `data: [DONE]`. */
  get sawDone(): boolean {
    return this.upstreamDone;
  }

  /** True once the client got an error event, forwarded from the upstream or created here. */
  get sentError(): boolean {
    return this.errorSent;
  }

  /** Number of upstream bytes pushed, counting strings as their UTF-8 length. */
  get bytesIn(): number {
    return this.totalBytesIn;
  }

  /** True once any method returned a non-empty string, comments included. */
  get clientVisibleOutput(): boolean {
    return this.wroteOutput;
  }

  /**
   * Returns whether chunks that match a learned template skip JSON.parse. The output is the
   * same either way; a subclass returns false to compare the two paths in tests.
   */
  protected templatesEnabled(): boolean {
    return true;
  }

  /**
   * Consumes one read of the upstream body and returns the SSE text to send to the client,
   * which may be empty. Input after `[DONE]`, `end()` or `fail()` is counted but ignored.
   */
  push(chunk: Uint8Array | string): string {
    if (typeof chunk === 'string') {
      this.totalBytesIn += Buffer.byteLength(chunk, 'utf8');
    } else {
      this.totalBytesIn += chunk.byteLength;
    }
    if (this.closed || this.upstreamDone || this.overflowed) {
      return '';
    }

    let text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    if (!this.sawText && text !== '') {
      this.sawText = true;
      // TextDecoder's behaviour, kept: a byte-order mark at the start of the body is dropped.
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    this.feedParser(this.normaliseLineBreaks(text));
    return this.takeOutput();
  }

  /**
   * Handles a clean end of the upstream body and returns the last SSE text for the client.
   * It dispatches an event that lacked its closing blank line, then adds `[DONE]` when every
   * choice finished, or an `upstream_incomplete` error event when one did not.
   */
  end(): string {
    if (this.closed) {
      return '';
    }
    this.closed = true;

    if (!this.upstreamDone && !this.overflowed) {
      // Invalid bytes left in the decoder become U+FFFD here.
      this.feedParser(this.normaliseLineBreaks(this.decoder.end()));
      // The parser has seen only LF line breaks, so two of them end any open line and event.
      this.feedParser('\n\n');
    }
    if (!this.upstreamDone && !this.errorSent) {
      // endingForEof() may add held text to the output first, so it runs before the append.
      const ending = this.endingForEof();
      this.output += ending;
    }
    return this.takeOutput();
  }

  /**
   * Handles an upstream failure in the middle of the stream and returns an
   * `upstream_stream_error` error event. Returns '' when the stream already ended with
   * `[DONE]` or an error event. Text still held by the filters is released first, as at the end of the answer.
   */
  fail(message: string): string {
    if (this.closed) {
      return '';
    }
    this.closed = true;

    if (!this.upstreamDone && !this.errorSent) {
      this.flushUnfinishedChoices();
      this.output += this.errorEvent({
        message: `Upstream stream failed: ${message}`,
        type: 'upstream_error',
        code: 'upstream_stream_error',
      });
    }
    return this.takeOutput();
  }

  private takeOutput(): string {
    const text = this.output;
    this.output = '';
    if (text !== '') {
      this.wroteOutput = true;
    }
    return text;
  }

  private feedParser(text: string): void {
    // An empty first feed would make the parser skip its byte-order-mark check.
    if (text === '' || this.overflowed) {
      return;
    }
    this.parser.feed(text);
  }

  /**
   * Replaces CRLF and lone CR with LF. A CR at the end of a read becomes LF at once, so the
   * event is not delayed until the next read. An LF that starts the next read is then dropped.
   */
  private normaliseLineBreaks(text: string): string {
    if (text === '') {
      return text;
    }
    let normalised = text;
    if (this.pendingCarriageReturn && normalised.charCodeAt(0) === LINE_FEED) {
      normalised = normalised.slice(1);
    }
    this.pendingCarriageReturn = text.endsWith('\r');
    return normalised.includes('\r') ? normalised.replace(/\r\n?/g, '\n') : normalised;
  }

  private handleParseError(error: ParseError): void {
    if (error.type !== 'max-buffer-size-exceeded') {
      // Unknown fields and invalid `retry` values carry nothing for a chat client.
      return;
    }
    this.overflowed = true;
    if (!this.errorSent) {
      this.output += this.errorEvent({
        message: `Upstream sent an SSE event longer than ${this.maxEventChars} characters, the proxy's limit.`,
        type: 'upstream_error',
        code: 'upstream_event_too_large',
      });
    }
  }

  private handleComment(comment: string): void {
    if (!this.upstreamDone) {
      this.output += encodeComment(comment);
    }
  }

  private handleEvent(message: EventSourceMessage): void {
    // NOTE: events and comments after the upstream's [DONE] are dropped, because clients stop reading there.
    if (this.upstreamDone) {
      return;
    }
    if (message.event === 'error') {
      this.forwardUpstreamError(message.data, parseJson(message.data));
      return;
    }
    if (message.event !== undefined && message.event !== 'message') {
      this.output += encodeEvent(message.data, message.event);
      return;
    }
    if (message.data.trim() === '[DONE]') {
      this.handleDone();
      return;
    }
    this.handleChunk(message.data);
  }

  private handleChunk(data: string): void {
    if (this.template !== undefined && this.handleTemplateChunk(this.template, data)) {
      return;
    }
    const chunk = parseJson(data);
    if (!isJsonObject(chunk)) {
      // Data that is not a JSON object is forwarded as it came, because the transform cannot tell what it is.
      this.output += encodeEvent(data);
      return;
    }
    if (chunk.error !== undefined && chunk.error !== null) {
      this.forwardUpstreamError(data, chunk);
      return;
    }
    if (this.templateLearningsLeft > 0) {
      // Before the model rename below changes the chunk.
      this.learnTemplate(data, chunk);
    }

    let upstreamModel: unknown;
    if (this.responseModel !== undefined && 'model' in chunk && chunk.model !== this.responseModel) {
      upstreamModel = chunk.model;
      chunk.model = this.responseModel;
    }
    if (isJsonObject(chunk.usage)) {
      this.lastUsage = chunk.usage;
    }

    let choicesChanged = false;
    if (Array.isArray(chunk.choices) && chunk.choices.length > 0) {
      this.lastChunkWithChoices = chunk;
      const result = this.transformChoices(chunk.choices);
      if (result.droppable && isDroppableChunk(chunk)) {
        return;
      }
      choicesChanged = result.changed;
    }

    let text = data;
    if (choicesChanged) {
      text = JSON.stringify(chunk);
    } else if (upstreamModel !== undefined) {
      text = this.replaceModelText(data, upstreamModel) ?? JSON.stringify(chunk);
    }
    this.output += encodeEvent(text);
  }

  /**
   * Learns a template from a parsed chunk of the common shape. The template's text splice of
   * the model must give what handleChunk() gives, so a model that handleChunk() would
   * serialise with the whole chunk rules the template out.
   */
  private learnTemplate(data: string, chunk: JsonObject): void {
    const choice = contentOnlyChoice(chunk);
    if (choice === undefined) return;
    this.templateLearningsLeft--;

    let splice: ModelSplice | undefined;
    if (this.responseModelValue !== undefined && 'model' in chunk && chunk.model !== this.responseModel) {
      if (typeof chunk.model !== 'string') return;
      splice = { upstreamValue: this.upstreamModelText(chunk.model), responseValue: this.responseModelValue };
    }
    const template = learnContentChunkTemplate(data, chunk, choice, splice);
    if (template !== undefined) {
      this.template = template;
      this.templateChunkDroppable = isDroppableChunk(chunk);
    }
  }

  /**
   * Handles a chunk that matches the template without parsing it, with the same effect and
   * output as handleChunk() on the parsed chunk. Returns false, having changed nothing, when
   * the chunk does not match.
   */
  private handleTemplateChunk(template: ContentChunkTemplate, data: string): boolean {
    const match = matchContentChunk(template, data);
    if (match === undefined) return false;

    this.lastChunkWithChoices = template.chunk;
    const content = match.content;
    const state = this.choiceState(template.index);
    // filterDelta() on a delta of only content returns what pushContent() returns, and collects nothing.
    const released = state.finished ? { content, reasoning: '' } : state.filter.pushContent(content);
    const reasoningAdded = this.mode === 'separate' && released.reasoning !== '';

    // buildDelta() keeps a delta of only content unchanged exactly when the filter released
    // that content whole and added no reasoning.
    if (released.content === content && !reasoningAdded) {
      this.output += template.eventPrefix + match.literal + template.eventSuffix;
      return true;
    }
    // The content was not '', so buildDelta() drops the key when nothing of it was released,
    // and the choice is then empty: the filter emptied it, as transformChoices() tests.
    if (released.content === '' && !reasoningAdded && template.choiceFieldsEmpty && this.templateChunkDroppable) {
      return true;
    }

    const delta = buildDelta({ content }, released, this.mode);
    const chunk: JsonObject = { ...template.chunk, choices: [{ ...template.choice, delta }] };
    if (template.splicesModel) {
      chunk.model = this.responseModel;
    }
    this.output += encodeEvent(JSON.stringify(chunk));
    return true;
  }

  private transformChoices(choices: unknown[]): { changed: boolean; droppable: boolean } {
    let changed = false;
    let emptied = false;
    let allEmpty = true;
    for (let position = 0; position < choices.length; position++) {
      const choice = choices[position];
      if (!isJsonObject(choice)) {
        allEmpty = false;
        continue;
      }
      const result = this.transformChoice(choice, position);
      changed ||= result.changed;
      emptied ||= result.emptied;
      if (!isEmptyChoice(choice)) {
        allEmpty = false;
      }
    }
    // A chunk is dropped only when the filter emptied it, never when the upstream sent it empty.
    return { changed, droppable: allEmpty && emptied };
  }

  /** Runs one choice's delta through its filter and writes the result back into `choice`. */
  private transformChoice(choice: JsonObject, position: number): ChoiceResult {
    const index = typeof choice.index === 'number' ? choice.index : position;
    const state = this.choiceState(index);
    const finishReason = typeof choice.finish_reason === 'string' ? choice.finish_reason : null;
    const delta = isJsonObject(choice.delta) ? choice.delta : undefined;
    if (delta === undefined && finishReason === null) {
      return UNCHANGED;
    }

    const input = delta ?? {};
    let released: FilterOutput;
    if (state.finished) {
      // The filter already finished, so later text only gets the field mapping of the mode.
      released = { content: typeof input.content === 'string' ? input.content : '', reasoning: readReasoningText(input) ?? '' };
    } else {
      released = this.filterDelta(index, state, input, finishReason);
    }

    const output = buildDelta(input, released, this.mode);
    if (delta === undefined && Object.keys(output).length === 0) {
      return UNCHANGED;
    }
    if (delta !== undefined && shallowEqual(delta, output)) {
      return UNCHANGED;
    }
    choice.delta = output;
    return { changed: true, emptied: isEmptyDelta(output) && !isEmptyDelta(input) };
  }

  private filterDelta(index: number, state: ChoiceState, input: JsonObject, finishReason: string | null): FilterOutput {
    const released: FilterOutput = { content: '', reasoning: '' };
    const reasoningText = readReasoningText(input);
    if (state.toolCallReasoning !== undefined) collectToolCallReasoning(state.toolCallReasoning, input, reasoningText);
    if (reasoningText !== null) {
      appendOutput(released, state.filter.pushReasoning(reasoningText));
    }
    if (typeof input.content === 'string') {
      appendOutput(released, state.filter.pushContent(input.content));
    }
    if (finishReason !== null) {
      appendOutput(released, state.filter.finish(finishReason));
      state.finished = true;
      this.reportFallback(index, state);
      this.reportToolCallReasoning(state);
    }
    return released;
  }

  private choiceState(index: number): ChoiceState {
    let state = this.choices.get(index);
    if (state === undefined) {
      state = {
        filter: new ThinkingFilter(this.filterOptions),
        finished: false,
        fallbackReported: false,
        toolCallReasoning: this.onToolCallReasoning === undefined ? undefined : { reasoning: [], toolCallIds: [] },
      };
      this.choices.set(index, state);
    }
    return state;
  }

  private reportFallback(index: number, state: ChoiceState): void {
    if (state.filter.fallbackUsed && !state.fallbackReported) {
      state.fallbackReported = true;
      this.onFallback?.(index);
    }
  }

  private reportToolCallReasoning(state: ChoiceState): void {
    const collected = state.toolCallReasoning;
    if (collected === undefined || collected.toolCallIds.length === 0) return;
    const reasoning = collected.reasoning.join('');
    if (reasoning !== '') this.onToolCallReasoning?.(reasoning, collected.toolCallIds);
  }

  /** Fields of the last chunk with choices, copied into chunks that this transform creates. */
  private lastChunkBase(): JsonObject {
    const base: JsonObject = {};
    const chunk = this.lastChunkWithChoices;
    if (chunk === undefined) return base;
    for (const field of ['id', 'object', 'created', 'model', 'system_fingerprint']) {
      if (field in chunk) {
        base[field] = chunk[field];
      }
    }
    return base;
  }

  /**
   * Handles the upstream's `[DONE]`. It is forwarded only when every choice got a
   * finish_reason, or when no choice arrived at all. Otherwise the answer is incomplete,
   * so the client gets the held text and an `upstream_incomplete` error event instead.
   * After an error event nothing more is sent, because the client already knows the
   * answer failed.
   */
  private handleDone(): void {
    this.upstreamDone = true;
    if (this.errorSent) {
      return;
    }
    const unfinished = this.unfinishedChoices();
    if (unfinished.length > 0) {
      this.flushUnfinishedChoices();
      this.output += this.errorEvent({
        message: `The upstream sent [DONE] before finishing the answer (choice ${unfinished.join(', ')} got no finish_reason).`,
        type: 'upstream_error',
        code: 'upstream_incomplete',
      });
      return;
    }
    this.output += DONE_EVENT;
    this.doneSent = true;
  }

  private unfinishedChoices(): number[] {
    const unfinished: number[] = [];
    for (const [index, state] of this.choices) {
      if (!state.finished) {
        unfinished.push(index);
      }
    }
    return unfinished;
  }

  private flushUnfinishedChoices(): void {
    const choices: JsonObject[] = [];
    for (const [index, state] of this.choices) {
      if (state.finished) {
        continue;
      }
      const released = state.filter.finish(null);
      state.finished = true;
      this.reportFallback(index, state);
      this.reportToolCallReasoning(state);
      const delta = buildDelta({}, released, this.mode);
      if (Object.keys(delta).length > 0) {
        choices.push({ index, delta, finish_reason: null });
      }
    }
    if (choices.length === 0) {
      return;
    }

    const chunk: JsonObject = { ...this.lastChunkBase(), choices };
    if (this.responseModel !== undefined) {
      chunk.model = this.responseModel;
    }
    this.output += encodeEvent(JSON.stringify(chunk));
  }

  /**
   * Returns `[DONE]` when every choice finished, and an `upstream_incomplete` error event
   * otherwise. Text the filters still hold is released first through `finish(null)`, which
   * keeps an unclosed thinking block out of the content.
   */
  private endingForEof(): string {
    const unfinished = this.unfinishedChoices();
    if (this.choices.size > 0 && unfinished.length === 0) {
      if (this.doneSent) {
        return '';
      }
      this.doneSent = true;
      return DONE_EVENT;
    }

    this.flushUnfinishedChoices();
    const detail =
      this.choices.size === 0
        ? 'no chunk with choices arrived'
        : `choice ${unfinished.join(', ')} got no finish_reason`;
    return this.errorEvent({
      message: `The upstream ended the stream before finishing the answer (${detail}).`,
      type: 'upstream_error',
      code: 'upstream_incomplete',
    });
  }

  private forwardUpstreamError(data: string, parsed: unknown): void {
    if (!this.errorSent) {
      // Text already sent stays sent; text still held is released before the error.
      this.flushUnfinishedChoices();
    }
    this.errorSent = true;
    this.output += upstreamErrorEvent(data, parsed);
  }

  /**
   * Replaces the top-level model in a chunk's JSON text without serialising the chunk again.
   * Returns undefined unless the text contains exactly one `"model"` token followed by
   * `:` and the upstream model's JSON string, because only then is that token certainly the
   * top-level key: a quote inside a JSON string is always escaped.
   */
  private replaceModelText(data: string, upstreamModel: unknown): string | undefined {
    if (typeof upstreamModel !== 'string' || this.responseModelValue === undefined) return undefined;
    const at = data.indexOf('"model"');
    if (at === -1 || data.indexOf('"model"', at + 7) !== -1) return undefined;
    const upstreamValue = this.upstreamModelText(upstreamModel);
    if (!data.startsWith(upstreamValue, at + 7)) return undefined;
    return `${data.slice(0, at + 7)}${this.responseModelValue}${data.slice(at + 7 + upstreamValue.length)}`;
  }

  /** Returns `:` and the JSON text of an upstream model, serialised once per model and stream. */
  private upstreamModelText(model: string): string {
    let cached = this.upstreamModelValue;
    if (cached?.model !== model) {
      cached = { model, text: `:${JSON.stringify(model)}` };
      this.upstreamModelValue = cached;
    }
    return cached.text;
  }

  private errorEvent(fields: { message: string; type: string; code: string }): string {
    this.errorSent = true;
    return encodeErrorEvent(fields);
  }
}

function parseJson(data: string): unknown {
  try {
    return JSON.parse(data) as unknown;
  } catch {
    return undefined;
  }
}

function appendOutput(target: FilterOutput, addition: FilterOutput): void {
  target.content += addition.content;
  target.reasoning += addition.reasoning;
}

/**
 * Returns a copy of `input` with the released text in place of the upstream text.
 * Content that the filter held back entirely loses its key, but upstream `''` stays `''`
 * and `null` stays `null`. Keep mode leaves the reasoning fields as the upstream sent them,
 * strip mode deletes them, and separate mode writes reasoning only to `reasoning_content`.
 */
function buildDelta(input: JsonObject, released: FilterOutput, mode: ThinkingMode): JsonObject {
  const output: JsonObject = { ...input };

  if (typeof input.content === 'string') {
    if (released.content !== '' || input.content === '') {
      output.content = released.content;
    } else {
      delete output.content;
    }
  } else if (released.content !== '') {
    output.content = released.content;
  }

  if (mode === 'strip') {
    delete output.reasoning_content;
    delete output.reasoning;
    delete output.reasoning_details;
  } else if (mode === 'separate') {
    // OpenRouter's reasoning_details repeats the reasoning text in structured form.
    delete output.reasoning;
    delete output.reasoning_details;
    if (released.reasoning !== '') {
      output.reasoning_content = released.reasoning;
    } else if (typeof input.reasoning_content === 'string') {
      delete output.reasoning_content;
    }
  }
  return output;
}

function shallowEqual(left: JsonObject, right: JsonObject): boolean {
  const leftKeys = Object.keys(left);
  if (leftKeys.length !== Object.keys(right).length) {
    return false;
  }
  return leftKeys.every((key) => key in right && left[key] === right[key]);
}

function isEmptyDelta(delta: JsonObject): boolean {
  for (const key in delta) {
    if (delta[key] !== null && delta[key] !== undefined) return false;
  }
  return true;
}

/** True when the choice has an empty delta and no other non-null field besides `index`. */
function isEmptyChoice(choice: JsonObject): boolean {
  for (const key in choice) {
    const value = choice[key];
    if (key === 'index') {
      continue;
    }
    if (key === 'delta') {
      if (isJsonObject(value) && isEmptyDelta(value)) {
        continue;
      }
      return false;
    }
    if (value !== null && value !== undefined) {
      return false;
    }
  }
  return true;
}

function isDroppableChunk(chunk: JsonObject): boolean {
  for (const key in chunk) {
    if (!DROPPABLE_CHUNK_FIELDS.has(key) && chunk[key] !== null) return false;
  }
  return true;
}

/**
 * Encodes an upstream error so that its data is a JSON object with an `error` key, which
 * is what OpenAI clients check for. An error object passes through unchanged. A string
 * error, an `event: error` payload without an `error` key, or non-JSON data is wrapped.
 */
function upstreamErrorEvent(data: string, parsed: unknown): string {
  if (isJsonObject(parsed)) {
    const error = parsed.error;
    if (isJsonObject(error)) {
      return encodeEvent(data);
    }
    if (typeof error === 'string') {
      return encodeErrorEvent({ message: error, type: 'upstream_error' });
    }
    if (error !== undefined && error !== null) {
      return encodeErrorEvent({ message: JSON.stringify(error), type: 'upstream_error' });
    }
    if (typeof parsed.message === 'string') {
      return encodeErrorEvent({
        message: parsed.message,
        type: typeof parsed.type === 'string' ? parsed.type : 'upstream_error',
        code: typeof parsed.code === 'string' || typeof parsed.code === 'number' ? String(parsed.code) : null,
      });
    }
  }

  const message = data.trim() === '' ? 'The upstream sent an error event without a message.' : data;
  return encodeErrorEvent({ message, type: 'upstream_error' });
}

function collectToolCallReasoning(
  collected: { reasoning: string[]; toolCallIds: string[] },
  delta: JsonObject,
  reasoningText: string | null,
): void {
  if (reasoningText !== null && reasoningText !== '') collected.reasoning.push(reasoningText);
  if (!Array.isArray(delta.tool_calls)) return;
  for (const call of delta.tool_calls) {
    if (isJsonObject(call) && typeof call.id === 'string' && call.id !== '') collected.toolCallIds.push(call.id);
  }
}
