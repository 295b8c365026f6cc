// Incremental filter for the inner monologue that role-play models write before their
// answer. The JSON path and the SSE path both use ThinkingFilter, so a complete response
// and its streamed form always filter to the same text.
//
// A thinking block counts only at the start of a choice's content, after optional
// whitespace (space, tab, CR, LF). It opens with <think>, <thinking> or a ```thinking
// line, and closes with </think>, </thinking> or a line that is ``` alone (optionally
// followed by spaces). Only the first block counts. Any later tag is literal text.

import {
  THINK_CLOSER,
  THINK_OPENER,
  THINKING_CLOSER,
  countTrailingWhitespace,
  endsWithHighSurrogate,
  findFenceCloser,
  findTagCloser,
  isFenceCloserAtEnd,
  matchOpener,
  skipLeadingWhitespace,
  type BlockKind,
  type CloserSearch,
} from './markers.js';

/**
 * Treatment of thinking text. `keep` changes nothing. `strip` removes inline blocks and
 * upstream reasoning fields. `separate` moves inline blocks into `reasoning` and passes
 * upstream reasoning fields on as `reasoning`.
 */
export type ThinkingMode = 'keep' | 'strip' | 'separate';

export interface ThinkingFilterOptions {
  mode: ThinkingMode;
  /**
   * If true, content whose first tag is </think> is treated as if it began with <think>,
   * for chat templates that put <think> into the prompt. Content is then held back until
   * a tag, an opener at the start or the end of the choice arrives. Only <think> and
   * </think> count as tags here, so a literal <think> before any </think> makes the whole
   * content literal. Default false.
   */
  implicitThinkOpen?: boolean;
  /**
   * In strip mode, a choice that finishes with 'stop' after reasoning-field text and no
   * content gets that text as its content. Default true.
   */
  emptyAnswerFallback?: boolean;
}

/** Text to release now. Each field is '' when there is none. */
export interface FilterOutput {
  content: string;
  reasoning: string;
}

type FilterState =
  // Nothing but whitespace and maybe part of an opener has arrived.
  | 'start'
  // implicitThinkOpen is on and the content did not start with an opener: waiting for
  // <think> (literal text) or </think> (end of an implicit block).
  | 'implicitPending'
  | 'block'
  // The block has closed and the whitespace after the closer is being dropped.
  | 'afterBlock'
  | 'passthrough';

/**
 * Filters the thinking text of one choice. Push pieces of content and of the upstream
 * reasoning field in arrival order, then call finish() once. Each call returns the text
 * that is safe to release.
 *
 * Text is held back only while it is ambiguous: leading whitespace and a partial opener
 * at the start, a partial closer inside a block, trailing whitespace inside a block in
 * separate mode, and, with implicitThinkOpen, everything before the first tag. Strip mode
 * also keeps reasoning-field text for the empty-answer fallback until content arrives.
 *
 * When a push ends in a high surrogate, the filter holds that code unit until its pair
 * arrives, so released pieces stay well-formed. The exception is passthrough, where a push
 * is returned unchanged even if the caller split a pair.
 */
export class ThinkingFilter {
  private readonly mode: ThinkingMode;
  private readonly implicitThinkOpen: boolean;
  private readonly emptyAnswerFallback: boolean;

  private state: FilterState;
  private finished = false;
  private usedFallback = false;

  /** Content pushed but not yet released or dropped, in every state but implicitPending. */
  private heldContent = '';
  private blockKind: BlockKind = 'think';
  /** Whether `heldContent` starts a line, which a fence closer requires. */
  private heldAtLineStart = false;
  /** Whether any reasoning from the inline block has been released, so leading whitespace is done. */
  private blockReasoningStarted = false;

  // In implicitPending the held text is kept in pieces, and each push searches only the
  // new piece plus the tail that a tag could straddle, so a long monologue costs linear time.
  private implicitPieces: string[] = [];
  private implicitLength = 0;
  private implicitTail = '';

  private sawContent = false;
  /** Reasoning-field text kept in strip mode for the empty-answer fallback. */
  private fallbackReasoning = '';

  constructor(options: ThinkingFilterOptions) {
    this.mode = options.mode;
    this.implicitThinkOpen = options.implicitThinkOpen ?? false;
    this.emptyAnswerFallback = options.emptyAnswerFallback ?? true;
    this.state = this.mode === 'keep' ? 'passthrough' : 'start';
  }

  /** True once finish('stop') has returned the reasoning-field text as content. */
  get fallbackUsed(): boolean {
    return this.usedFallback;
  }

  /** True when the next pushContent() returns its input unchanged, so callers may skip it. */
  get isPassthrough(): boolean {
    return !this.finished && this.state === 'passthrough' && this.heldContent === '';
  }

  /**
   * Number of UTF-16 code units of content that the filter holds back. The held text is
   * always a suffix of the content pushed so far.
   */
  get heldContentLength(): number {
    return this.state === 'implicitPending' ? this.implicitLength : this.heldContent.length;
  }

  /**
   * Filters one piece of the choice's content (`delta.content` or `message.content`).
   * Throws if called after finish().
   */
  pushContent(text: string): FilterOutput {
    this.assertNotFinished('pushContent');
    const output: FilterOutput = { content: '', reasoning: '' };
    if (text === '') {
      return output;
    }
    if (!this.sawContent) {
      this.sawContent = true;
      this.fallbackReasoning = '';
    }
    if (this.isPassthrough) {
      output.content = text;
      return output;
    }

    if (this.state === 'implicitPending') {
      this.pushImplicit(text, output);
      return output;
    }
    const data = this.heldContent + text;
    this.heldContent = '';
    switch (this.state) {
      case 'start':
        this.processStart(data, output);
        break;
      case 'block':
        this.processBlock(data, output);
        break;
      case 'afterBlock':
        this.processAfterBlock(data, output);
        break;
      case 'passthrough':
        this.releaseContent(data, output);
        break;
    }
    return output;
  }

  /**
   * Filters one piece of an upstream reasoning field (`reasoning_content` or `reasoning`).
   * Keep and separate return it unchanged as reasoning, and strip drops it. Throws if
   * called after finish().
   */
  pushReasoning(text: string): FilterOutput {
    this.assertNotFinished('pushReasoning');
    if (this.mode === 'strip') {
      if (this.emptyAnswerFallback && !this.sawContent) {
        this.fallbackReasoning += text;
      }
      return { content: '', reasoning: '' };
    }
    return { content: '', reasoning: text };
  }

  /**
   * Flushes the held text when the choice finishes, or with null when the stream ended
   * without a finish reason. An unclosed block counts as thinking. Calls after the first
   * return empty output.
   */
  finish(finishReason: string | null): FilterOutput {
    const output: FilterOutput = { content: '', reasoning: '' };
    if (this.finished) {
      return output;
    }
    this.finished = true;

    switch (this.state) {
      case 'start':
      case 'passthrough':
        output.content = this.heldContent;
        break;
      case 'implicitPending':
        // No tag ever arrived, so the text was never thinking.
        output.content = this.implicitPieces.join('');
        break;
      case 'block':
        this.finishBlock(output);
        break;
      case 'afterBlock':
        break;
    }
    this.heldContent = '';
    this.implicitPieces = [];

    const fallbackApplies =
      this.mode === 'strip' &&
      this.emptyAnswerFallback &&
      finishReason === 'stop' &&
      !this.sawContent &&
      this.fallbackReasoning !== '';
    if (fallbackApplies) {
      output.content += this.fallbackReasoning;
      this.usedFallback = true;
    }
    this.fallbackReasoning = '';
    return output;
  }

  private assertNotFinished(method: string): void {
    if (this.finished) {
      throw new Error(`ThinkingFilter.${method} was called after finish(); use a new filter for each choice.`);
    }
  }

  private processStart(data: string, output: FilterOutput): void {
    const visibleStart = skipLeadingWhitespace(data);
    if (visibleStart === data.length) {
      this.heldContent = data;
      return;
    }

    const opener = matchOpener(data, visibleStart);
    if (opener === 'partial') {
      this.heldContent = data;
      return;
    }
    if (opener !== null) {
      this.state = 'block';
      this.blockKind = opener.kind;
      this.heldAtLineStart = true;
      this.processBlock(data.slice(visibleStart + opener.text.length), output);
      return;
    }

    if (this.implicitThinkOpen) {
      this.state = 'implicitPending';
      this.pushImplicit(data, output);
      return;
    }
    this.state = 'passthrough';
    this.releaseContent(data, output);
  }

  private pushImplicit(text: string, output: FilterOutput): void {
    const window = this.implicitTail + text;
    const windowStart = this.implicitLength - this.implicitTail.length;
    const openAt = window.indexOf(THINK_OPENER);
    const closeAt = window.indexOf(THINK_CLOSER);
    this.implicitPieces.push(text);
    this.implicitLength += text.length;

    if (openAt === -1 && closeAt === -1) {
      // The tail is one code unit shorter than </think>, so no tag fits in it whole and
      // none is found twice.
      this.implicitTail = window.slice(-(THINK_CLOSER.length - 1));
      return;
    }

    const data = this.implicitPieces.join('');
    this.implicitPieces = [];
    this.implicitLength = 0;
    this.implicitTail = '';

    if (openAt !== -1 && (closeAt === -1 || openAt < closeAt)) {
      // <think> after visible text comes first, so the whole content is literal.
      this.state = 'passthrough';
      this.releaseContent(data, output);
      return;
    }
    const closerStart = windowStart + closeAt;
    this.releaseBlockReasoning(data.slice(0, closerStart), true, output);
    this.state = 'afterBlock';
    this.processAfterBlock(data.slice(closerStart + THINK_CLOSER.length), output);
  }

  private findCloser(data: string): CloserSearch {
    switch (this.blockKind) {
      case 'think':
        return findTagCloser(data, THINK_CLOSER);
      case 'thinking':
        return findTagCloser(data, THINKING_CLOSER);
      case 'fence':
        return findFenceCloser(data, this.heldAtLineStart);
    }
  }

  private processBlock(data: string, output: FilterOutput): void {
    const search = this.findCloser(data);
    if (search.closed) {
      this.releaseBlockReasoning(data.slice(0, search.start), true, output);
      this.state = 'afterBlock';
      this.processAfterBlock(data.slice(search.end), output);
      return;
    }

    let cut = search.partialStart;
    if (this.mode === 'separate') {
      if (cut === data.length && endsWithHighSurrogate(data)) {
        cut--;
      }
      // Trailing whitespace waits, because it is trimmed if the block ends right after it.
      cut -= countTrailingWhitespace(data, cut);
    }
    this.releaseBlockReasoning(data.slice(0, cut), false, output);
    if (cut > 0) {
      this.heldAtLineStart = data[cut - 1] === '\n';
    }
    this.heldContent = data.slice(cut);
  }

  private finishBlock(output: FilterOutput): void {
    let blockText = this.heldContent;
    if (this.blockKind === 'fence') {
      // A closer line needs no line break when the content ends right after it.
      const search = findFenceCloser(blockText, this.heldAtLineStart);
      if (!search.closed && isFenceCloserAtEnd(blockText, search.partialStart)) {
        blockText = blockText.slice(0, search.partialStart);
      }
    }
    this.releaseBlockReasoning(blockText, true, output);
  }

  /**
   * Releases text from inside the block as reasoning in separate mode, and drops it in
   * the other modes. The block's leading whitespace is trimmed, and so is its trailing
   * whitespace when `isBlockEnd` is true.
   */
  private releaseBlockReasoning(text: string, isBlockEnd: boolean, output: FilterOutput): void {
    if (this.mode !== 'separate') {
      return;
    }
    let piece = text;
    if (!this.blockReasoningStarted) {
      piece = piece.slice(skipLeadingWhitespace(piece));
    }
    if (isBlockEnd) {
      piece = piece.slice(0, piece.length - countTrailingWhitespace(piece));
    }
    if (piece !== '') {
      this.blockReasoningStarted = true;
      output.reasoning += piece;
    }
  }

  private processAfterBlock(data: string, output: FilterOutput): void {
    const visibleStart = skipLeadingWhitespace(data);
    if (visibleStart === data.length) {
      return;
    }
    this.state = 'passthrough';
    this.releaseContent(data.slice(visibleStart), output);
  }

  /** Releases text as content, holding a trailing high surrogate until its pair arrives. */
  private releaseContent(text: string, output: FilterOutput): void {
    if (endsWithHighSurrogate(text)) {
      output.content += text.slice(0, -1);
      this.heldContent = text.slice(-1);
      return;
    }
    output.content += text;
    this.heldContent = '';
  }
}

/**
 * Filters a complete choice, as the JSON path needs. Equivalent to one ThinkingFilter
 * that receives the reasoning field, then the content, then finish().
 */
export function filterCompleteText(
  input: { content: string | null; reasoning: string | null; finishReason: string | null },
  options: ThinkingFilterOptions,
): FilterOutput & { fallbackUsed: boolean } {
  const filter = new ThinkingFilter(options);
  const outputs: FilterOutput[] = [];
  if (input.reasoning !== null) {
    outputs.push(filter.pushReasoning(input.reasoning));
  }
  if (input.content !== null) {
    outputs.push(filter.pushContent(input.content));
  }
  outputs.push(filter.finish(input.finishReason));

  return {
    content: outputs.map((output) => output.content).join(''),
    reasoning: outputs.map((output) => output.reasoning).join(''),
    fallbackUsed: filter.fallbackUsed,
  };
}
