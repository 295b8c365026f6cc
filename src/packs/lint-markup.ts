// Fence and tag checks on the raw text of one field. Positions are 0-based
// line indexes into the field's text.

/** The tags of the three-part layout, which a field must not contain. */
export const LAYOUT_TAGS = ['examples', 'example', 'human_message', 'assistant_response'] as const;

const FENCE_OPEN = /^[ \t]{0,3}(`{3,}|~{3,})/;
const BACKTICK_LINE = /^[ \t]*```/;

/**
 * HTML elements that never close, the legacy SillyTavern placeholders
 * <USER>, <BOT> and <CHAR>, and its example separator <START>.
 */
const TAGS_WITHOUT_CLOSE = new Set([
  'br', 'hr', 'img', 'input', 'meta', 'link', 'area', 'base', 'col', 'embed', 'source', 'track', 'wbr',
  'user', 'bot', 'char', 'start',
]);

const TAG = /<(\/?)([A-Za-z][\w-]*)(?:\s[^<>]*)?(\/?)>/g;

/** Returns the index of the first line of a thinking text that starts with ```, or -1. */
export function findBacktickLine(lines: readonly string[]): number {
  return lines.findIndex((line) => BACKTICK_LINE.test(line));
}

/** Returns the index of the opening line of a code fence that is never closed, or -1. */
export function findUnclosedFence(lines: readonly string[]): number {
  let open: { marker: string; index: number } | undefined;
  lines.forEach((line, index) => {
    const match = FENCE_OPEN.exec(line);
    if (match === null) return;
    const marker = match[1]!;
    if (open === undefined) {
      open = { marker, index };
    } else if (
      marker[0] === open.marker[0] &&
      marker.length >= open.marker.length &&
      line.trim() === marker
    ) {
      open = undefined;
    }
  });
  return open === undefined ? -1 : open.index;
}

/**
 * Replaces fenced code blocks and inline code spans with spaces, keeping
 * line breaks, so a tag written inside code is not taken for markup.
 */
export function blankCode(lines: readonly string[]): string[] {
  const result: string[] = [];
  let fence: string | undefined;
  for (const line of lines) {
    const match = FENCE_OPEN.exec(line);
    if (fence === undefined && match !== null) {
      fence = match[1]!;
      result.push(' '.repeat(line.length));
    } else if (fence !== undefined) {
      if (match !== null && match[1]![0] === fence[0] && match[1]!.length >= fence.length && line.trim() === match[1]) {
        fence = undefined;
      }
      result.push(' '.repeat(line.length));
    } else {
      result.push(line.replace(/`[^`]+`/g, (span) => ' '.repeat(span.length)));
    }
  }
  return result;
}

export interface TagHit {
  tag: string;
  line: number;
}

/** Returns the first layout tag (`<example>`, `</human_message>`, …) in the lines, or undefined. */
export function findLayoutTag(lines: readonly string[]): TagHit | undefined {
  const pattern = new RegExp(`</?(?:${LAYOUT_TAGS.join('|')})>`, 'i');
  for (const [index, line] of lines.entries()) {
    const match = pattern.exec(line);
    if (match !== null) return { tag: match[0], line: index };
  }
  return undefined;
}

/**
 * Returns every tag name that is opened and never closed, or closed without
 * being opened, each at its first unmatched occurrence. Layout tags are left
 * to findLayoutTag.
 */
export function findUnbalancedTags(lines: readonly string[]): TagHit[] {
  const open = new Map<string, TagHit[]>();
  const unmatched: TagHit[] = [];
  const layout = new Set<string>(LAYOUT_TAGS);
  for (const [index, line] of lines.entries()) {
    for (const match of line.matchAll(TAG)) {
      const name = match[2]!.toLowerCase();
      if (TAGS_WITHOUT_CLOSE.has(name) || layout.has(name) || match[3] === '/') continue;
      const stack = open.get(name) ?? [];
      open.set(name, stack);
      if (match[1] === '') {
        stack.push({ tag: match[0], line: index });
      } else if (stack.pop() === undefined && !unmatched.some((hit) => hit.tag.toLowerCase() === match[0].toLowerCase())) {
        unmatched.push({ tag: match[0], line: index });
      }
    }
  }
  for (const stack of open.values()) {
    if (stack[0] !== undefined) unmatched.push(stack[0]);
  }
  return unmatched.sort((a, b) => a.line - b.line);
}
