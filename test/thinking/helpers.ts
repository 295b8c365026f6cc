import {
  ThinkingFilter,
  type FilterOutput,
  type ThinkingFilterOptions,
} from '../../src/thinking/filter.js';

export interface PushStep {
  field: 'content' | 'reasoning';
  text: string;
}

export interface StepRecord {
  step: PushStep;
  output: FilterOutput;
  passthroughBefore: boolean;
  heldContentLength: number;
  /** Content pushed so far, including this step. */
  contentPushed: string;
  /** Content released so far, including this step. */
  contentReleased: string;
}

export interface StreamResult {
  content: string;
  reasoning: string;
  fallbackUsed: boolean;
  records: StepRecord[];
  finishOutput: FilterOutput;
}

/** Feeds the steps to one filter, then finish(finishReason), and concatenates the output. */
export function runSteps(
  steps: readonly PushStep[],
  options: ThinkingFilterOptions,
  finishReason: string | null = 'stop',
): StreamResult {
  const filter = new ThinkingFilter(options);
  const records: StepRecord[] = [];
  let content = '';
  let reasoning = '';
  let contentPushed = '';

  for (const step of steps) {
    const passthroughBefore = filter.isPassthrough;
    const output = step.field === 'content' ? filter.pushContent(step.text) : filter.pushReasoning(step.text);
    if (step.field === 'content') {
      contentPushed += step.text;
    }
    content += output.content;
    reasoning += output.reasoning;
    records.push({
      step,
      output,
      passthroughBefore,
      heldContentLength: filter.heldContentLength,
      contentPushed,
      contentReleased: content,
    });
  }

  const finishOutput = filter.finish(finishReason);
  content += finishOutput.content;
  reasoning += finishOutput.reasoning;
  return { content, reasoning, fallbackUsed: filter.fallbackUsed, records, finishOutput };
}

export function contentSteps(chunks: readonly string[]): PushStep[] {
  return chunks.map((text) => ({ field: 'content', text }));
}

/** Feeds content chunks only and returns the concatenated output. */
export function runContent(
  chunks: readonly string[],
  options: ThinkingFilterOptions,
  finishReason: string | null = 'stop',
): { content: string; reasoning: string } {
  const result = runSteps(contentSteps(chunks), options, finishReason);
  return { content: result.content, reasoning: result.reasoning };
}

/** Splits `text` at the given code-unit indices, which may repeat and come in any order. */
export function splitAt(text: string, indices: readonly number[]): string[] {
  const cuts = [...new Set(indices.map((index) => Math.min(Math.max(index, 0), text.length)))];
  cuts.sort((a, b) => a - b);
  const chunks: string[] = [];
  let previous = 0;
  for (const cut of cuts) {
    chunks.push(text.slice(previous, cut));
    previous = cut;
  }
  chunks.push(text.slice(previous));
  return chunks;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function hasLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE.test(text);
}

export interface CompleteChoice {
  content: string | null;
  reasoning: string | null;
  finishReason: string | null;
}

const LEADING_WHITESPACE = /^[ \t\r\n]*/;
const EDGE_WHITESPACE = /^[ \t\r\n]+|[ \t\r\n]+$/g;
// A line that is ``` alone with optional spaces, ended by a line break or the end of the text.
const FENCE_CLOSER_LINE = /(?<=^|\n)``` *(?:\r?\n|\r?$)/;

interface BlockSplit {
  inner: string;
  after: string;
}

/** Finds the thinking block with whole-text regular expressions, independently of the filter. */
function findBlockInWholeText(text: string, implicitThinkOpen: boolean): BlockSplit | null {
  const lead = (LEADING_WHITESPACE.exec(text)?.[0] ?? '').length;
  const rest = text.slice(lead);

  for (const [opener, closer] of [
    ['<think>', '</think>'],
    ['<thinking>', '</thinking>'],
  ] as const) {
    if (rest.startsWith(opener)) {
      const body = rest.slice(opener.length);
      const closeAt = body.indexOf(closer);
      return closeAt === -1
        ? { inner: body, after: '' }
        : { inner: body.slice(0, closeAt), after: body.slice(closeAt + closer.length) };
    }
  }

  const fenceOpener = /^```thinking\r?\n/.exec(rest);
  if (fenceOpener) {
    const body = rest.slice(fenceOpener[0].length);
    const closer = FENCE_CLOSER_LINE.exec(body);
    return closer
      ? { inner: body.slice(0, closer.index), after: body.slice(closer.index + closer[0].length) }
      : { inner: body, after: '' };
  }

  if (implicitThinkOpen) {
    const openAt = text.indexOf('<think>');
    const closeAt = text.indexOf('</think>');
    if (closeAt !== -1 && (openAt === -1 || closeAt < openAt)) {
      return { inner: text.slice(0, closeAt), after: text.slice(closeAt + '</think>'.length) };
    }
  }
  return null;
}

/** Expected result for a complete choice, computed from the rules without the filter. */
export function referenceFilter(
  choice: CompleteChoice,
  options: ThinkingFilterOptions,
): FilterOutput & { fallbackUsed: boolean } {
  const content = choice.content ?? '';
  const reasoningField = choice.reasoning ?? '';
  if (options.mode === 'keep') {
    return { content, reasoning: reasoningField, fallbackUsed: false };
  }

  const block = findBlockInWholeText(content, options.implicitThinkOpen ?? false);
  const visibleContent = block === null ? content : block.after.replace(LEADING_WHITESPACE, '');
  const inlineReasoning = block === null ? '' : block.inner.replace(EDGE_WHITESPACE, '');

  if (options.mode === 'separate') {
    return { content: visibleContent, reasoning: reasoningField + inlineReasoning, fallbackUsed: false };
  }

  const fallback =
    (options.emptyAnswerFallback ?? true) &&
    choice.finishReason === 'stop' &&
    content === '' &&
    reasoningField !== '';
  return fallback
    ? { content: reasoningField, reasoning: '', fallbackUsed: true }
    : { content: visibleContent, reasoning: '', fallbackUsed: false };
}
