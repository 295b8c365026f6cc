// Openers, closers and character classes of thinking blocks, with the matching
// helpers that ThinkingFilter uses on partial text.

export type BlockKind = 'think' | 'thinking' | 'fence';

export interface BlockOpener {
  text: string;
  kind: BlockKind;
}

export const THINK_OPENER = '<think>';
export const THINK_CLOSER = '</think>';
export const THINKING_CLOSER = '</thinking>';

// No opener is a prefix of another, so a complete match is never ambiguous.
const OPENERS: readonly BlockOpener[] = [
  { text: THINK_OPENER, kind: 'think' },
  { text: '<thinking>', kind: 'thinking' },
  { text: '```thinking\n', kind: 'fence' },
  { text: '```thinking\r\n', kind: 'fence' },
];

/** True for the whitespace that may surround a thinking block: space, tab, CR and LF only. */
export function isBlockWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0d || code === 0x0a;
}

/** Returns the index of the first non-whitespace code unit at or after `from`, or `text.length`. */
export function skipLeadingWhitespace(text: string, from = 0): number {
  let index = from;
  while (index < text.length && isBlockWhitespace(text.charCodeAt(index))) {
    index++;
  }
  return index;
}

/** Returns the number of whitespace code units that end `text.slice(0, end)`. */
export function countTrailingWhitespace(text: string, end = text.length): number {
  let index = end;
  while (index > 0 && isBlockWhitespace(text.charCodeAt(index - 1))) {
    index--;
  }
  return end - index;
}

/** True when the last code unit of `text` is a high surrogate, so its pair is still to come. */
export function endsWithHighSurrogate(text: string): boolean {
  if (text.length === 0) {
    return false;
  }
  const last = text.charCodeAt(text.length - 1);
  return last >= 0xd800 && last <= 0xdbff;
}

/**
 * Matches an opener at `start` of `text`. Returns the opener, 'partial' when the text
 * ends inside a possible opener, or null when no opener can start there.
 */
export function matchOpener(text: string, start: number): BlockOpener | 'partial' | null {
  const available = text.length - start;
  let partial = false;
  for (const opener of OPENERS) {
    if (text.startsWith(opener.text, start)) {
      return opener;
    }
    if (available < opener.text.length && opener.text.startsWith(text.slice(start))) {
      partial = true;
    }
  }
  return partial ? 'partial' : null;
}

/** Returns the length of the longest suffix of `text` that is a proper prefix of `tag`. */
export function partialTagSuffixLength(text: string, tag: string): number {
  for (let length = Math.min(tag.length - 1, text.length); length > 0; length--) {
    if (text.endsWith(tag.slice(0, length))) {
      return length;
    }
  }
  return 0;
}

/**
 * Result of looking for the end of a block in the text held so far. `closed` gives the
 * closer's span. Otherwise `partialStart` is where a possible closer begins that the text
 * ends inside, or `text.length` when there is none.
 */
export type CloserSearch =
  | { closed: true; start: number; end: number }
  | { closed: false; partialStart: number };

export function findTagCloser(text: string, tag: string): CloserSearch {
  const start = text.indexOf(tag);
  if (start !== -1) {
    return { closed: true, start, end: start + tag.length };
  }
  return { closed: false, partialStart: text.length - partialTagSuffixLength(text, tag) };
}

/**
 * Finds the line that closes a fenced block: three backticks at the start of a line,
 * optional spaces, then "\n" or "\r\n". The closer's span includes the line break.
 * `atLineStart` is true when `text[0]` begins a line. A line such as "```python" does
 * not close the block.
 */
export function findFenceCloser(text: string, atLineStart: boolean): CloserSearch {
  let lineStart = atLineStart ? 0 : text.indexOf('\n') + 1;
  if (lineStart === 0 && !atLineStart) {
    return { closed: false, partialStart: text.length };
  }

  // Each pass moves lineStart past one more '\n', so the loop ends within text.length passes.
  while (lineStart <= text.length) {
    const line = matchFenceCloserLine(text, lineStart);
    if (line !== 'mismatch') {
      return line;
    }
    const lineBreak = text.indexOf('\n', lineStart);
    if (lineBreak === -1) {
      break;
    }
    lineStart = lineBreak + 1;
  }
  return { closed: false, partialStart: text.length };
}

function matchFenceCloserLine(text: string, lineStart: number): CloserSearch | 'mismatch' {
  const partial: CloserSearch = { closed: false, partialStart: lineStart };
  let index = lineStart;
  for (let backticks = 0; backticks < 3; backticks++, index++) {
    if (index === text.length) {
      return partial;
    }
    if (text[index] !== '`') {
      return 'mismatch';
    }
  }

  index = skipSpaces(text, index);
  if (index === text.length) {
    return partial;
  }
  if (text[index] === '\n') {
    return { closed: true, start: lineStart, end: index + 1 };
  }
  if (text[index] === '\r') {
    if (index + 1 === text.length) {
      return partial;
    }
    if (text[index + 1] === '\n') {
      return { closed: true, start: lineStart, end: index + 2 };
    }
  }
  return 'mismatch';
}

function skipSpaces(text: string, from: number): number {
  let index = from;
  while (index < text.length && text[index] === ' ') {
    index++;
  }
  return index;
}

/**
 * True when the partial closer that findFenceCloser() reported at `partialStart` is
 * complete once the content ends there: three backticks, then only spaces and an
 * optional CR.
 */
export function isFenceCloserAtEnd(text: string, partialStart: number): boolean {
  return text.length - partialStart >= 3;
}
