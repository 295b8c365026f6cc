import { PackImportError, type ImportProblemCode, type ImportParams } from './import-problems.js';

/** Start line of a field's text in the input, and whether its lines map one to one onto input lines. */
export interface FieldSpot {
  line: number;
  verbatim: boolean;
}

export interface ImportedExample {
  user: string;
  thinking: string;
  answer: string;
}

/** The parts of a three-part system prompt, with the input line of each field. */
export interface ImportedPrompt {
  preamble: string | undefined;
  examples: ImportedExample[];
  /** Keyed by field path as the loader prints it: `preamble`, `examples[0].user`, … */
  spots: Map<string, FieldSpot>;
}

const STRUCTURE_LINE = /^[ \t]*<(\/?)(examples|example)>[ \t]*$/;
const OUTER_FENCE = /^[ \t]*(`{4,}|~{4,})[\w-]*[ \t]*$/;
const THINKING_FENCE = /^```[ \t]*thinking[ \t]*$/;
const CLOSING_FENCE = /^[ \t]*```[ \t]*$/;
const THINK_TAGS: readonly (readonly [string, string])[] = [
  ['<think>', '</think>'],
  ['<thinking>', '</thinking>'],
];

const HUMAN_OPEN = '<human_message>';
const HUMAN_CLOSE = '</human_message>';
const RESPONSE_OPEN = '<assistant_response>';
const RESPONSE_CLOSE = '</assistant_response>';

function fail(code: ImportProblemCode, line: number | undefined, params: ImportParams = {}): never {
  throw new PackImportError({ code, ...(line === undefined ? {} : { line }), params });
}

/**
 * Parses a system prompt in the three-part layout that renderPack writes: a
 * preamble, then `<example>` blocks (inside an `<examples>` wrapper or not),
 * each with a `<human_message>` and an `<assistant_response>` that starts
 * with a ```thinking fence (`<think>` and `<thinking>` blocks are accepted
 * too). The `<examples>` and `<example>` tags must stand on lines of their
 * own; indentation and blank lines are ignored. Throws PackImportError
 * naming the problem and its line.
 */
export function parsePromptText(input: string): ImportedPrompt {
  const lines = input.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n').split('\n');
  blankOuterFence(lines);

  const spots = new Map<string, FieldSpot>();
  const first = lines.findIndex((line) => STRUCTURE_LINE.test(line));
  const preambleEnd = first === -1 ? lines.length : first;
  const preamble = cleanField(lines, 0, preambleEnd);
  if (preamble !== undefined) spots.set('preamble', { line: preamble.line, verbatim: true });
  if (first === -1) return { preamble: preamble?.text, examples: [], spots };

  const examples: ImportedExample[] = [];
  let wrapperOpen = false;
  let index = first;
  // Each pass consumes at least one line, so the loop ends within lines.length passes.
  while (index < lines.length) {
    const line = lines[index]!;
    const structure = STRUCTURE_LINE.exec(line);
    if (line.trim() === '') {
      index += 1;
    } else if (structure === null) {
      fail('text-outside-example', index + 1);
    } else if (structure[2] === 'examples') {
      if (structure[1] === '/') {
        if (!wrapperOpen) fail('closing-tag-without-opening', index + 1, { tag: '</examples>' });
        wrapperOpen = false;
      } else {
        if (wrapperOpen) fail('examples-nested', index + 1);
        wrapperOpen = true;
      }
      index += 1;
    } else if (structure[1] === '/') {
      fail('closing-tag-without-opening', index + 1, { tag: '</example>' });
    } else {
      const end = findExampleEnd(lines, index);
      const example = parseExample(lines, index, end, examples.length, spots);
      examples.push(example);
      index = end + 1;
    }
  }
  if (wrapperOpen) fail('examples-not-closed', first + 1);
  return { preamble: preamble?.text, examples, spots };
}

/** Blanks the lines of a four-backtick (or tilde) fence around the whole input, keeping line numbers. */
function blankOuterFence(lines: string[]): void {
  const firstIndex = lines.findIndex((line) => line.trim() !== '');
  let lastIndex = lines.length - 1;
  while (lastIndex > firstIndex && lines[lastIndex]!.trim() === '') lastIndex -= 1;
  if (firstIndex === -1 || lastIndex <= firstIndex) return;

  const opening = OUTER_FENCE.exec(lines[firstIndex]!);
  if (opening === null || lines[lastIndex]!.trim() !== opening[1]) return;
  lines[firstIndex] = '';
  lines[lastIndex] = '';
}

function findExampleEnd(lines: readonly string[], start: number): number {
  for (let index = start + 1; index < lines.length; index += 1) {
    const structure = STRUCTURE_LINE.exec(lines[index]!);
    if (structure === null) continue;
    if (structure[1] === '/' && structure[2] === 'example') return index;
    // Any other structure line inside an example means this one was never closed.
    break;
  }
  return fail('example-not-closed', start + 1, { example: exampleNumber(lines, start) });
}

/** Counts `<example>` lines up to and including `start`, so messages can name "example 3". */
function exampleNumber(lines: readonly string[], start: number): number {
  let count = 0;
  for (let index = 0; index <= start; index += 1) {
    const structure = STRUCTURE_LINE.exec(lines[index]!);
    if (structure !== null && structure[1] === '' && structure[2] === 'example') count += 1;
  }
  return count;
}

function parseExample(
  lines: readonly string[],
  openLine: number,
  closeLine: number,
  index: number,
  spots: Map<string, FieldSpot>,
): ImportedExample {
  const number = index + 1;
  const firstBodyLine = openLine + 1;
  const body = lines.slice(firstBodyLine, closeLine).join('\n');
  const lineOf = (offset: number) => firstBodyLine + 1 + countNewlines(body, offset);

  const humanOpen = body.indexOf(HUMAN_OPEN);
  if (humanOpen === -1) fail('missing-human-message', openLine + 1, { example: number });
  const humanClose = body.indexOf(HUMAN_CLOSE, humanOpen);
  if (humanClose === -1) fail('human-message-not-closed', lineOf(humanOpen), { example: number });
  const responseOpen = body.indexOf(RESPONSE_OPEN, humanClose);
  if (responseOpen === -1) fail('missing-assistant-response', openLine + 1, { example: number });
  const responseClose = body.indexOf(RESPONSE_CLOSE, responseOpen);
  if (responseClose === -1) fail('assistant-response-not-closed', lineOf(responseOpen), { example: number });

  const outside: [number, number][] = [
    [0, humanOpen],
    [humanClose + HUMAN_CLOSE.length, responseOpen],
    [responseClose + RESPONSE_CLOSE.length, body.length],
  ];
  for (const [from, to] of outside) {
    const stray = body.slice(from, to).search(/\S/);
    if (stray !== -1) fail('unexpected-text-in-example', lineOf(from + stray), { example: number });
  }

  const userLines = splitAt(body, humanOpen + HUMAN_OPEN.length, humanClose, lineOf);
  const user = cleanField(userLines.lines, 0, userLines.lines.length, userLines.firstLine - 1);
  const responseLines = splitAt(body, responseOpen + RESPONSE_OPEN.length, responseClose, lineOf);
  const response = splitResponse(responseLines.lines, responseLines.firstLine, number);

  const prefix = `examples[${index}]`;
  spots.set(prefix, { line: openLine + 1, verbatim: false });
  spots.set(`${prefix}.user`, { line: user?.line ?? userLines.firstLine, verbatim: true });
  spots.set(`${prefix}.thinking`, { line: response.thinkingLine, verbatim: true });
  spots.set(`${prefix}.answer`, { line: response.answerLine, verbatim: true });
  return { user: user?.text ?? '', thinking: response.thinking, answer: response.answer };
}

/** Returns the lines of `body` between two offsets, with the input line number of the first one. */
function splitAt(
  body: string,
  from: number,
  to: number,
  lineOf: (offset: number) => number,
): { lines: string[]; firstLine: number } {
  return { lines: body.slice(from, to).split('\n'), firstLine: lineOf(from) };
}

/** Splits an assistant response into its leading thinking block and the reply after it. */
function splitResponse(
  lines: readonly string[],
  firstLine: number,
  number: number,
): { thinking: string; thinkingLine: number; answer: string; answerLine: number } {
  const dedented = dedent(lines);
  const start = dedented.findIndex((line) => line.trim() !== '');
  if (start === -1) fail('missing-thinking', firstLine, { example: number });
  const opening = dedented[start]!.trim();

  if (THINKING_FENCE.test(opening)) {
    let close = start + 1;
    while (close < dedented.length && !CLOSING_FENCE.test(dedented[close]!)) close += 1;
    if (close >= dedented.length) fail('thinking-not-closed', firstLine + start, { example: number });
    const thinking = cleanField(dedented, start + 1, close, firstLine - 1);
    const answer = cleanField(dedented, close + 1, dedented.length, firstLine - 1);
    return {
      thinking: thinking?.text ?? '',
      thinkingLine: thinking?.line ?? firstLine + start,
      answer: answer?.text ?? '',
      answerLine: answer?.line ?? firstLine + close,
    };
  }

  for (const [openTag, closeTag] of THINK_TAGS) {
    if (!opening.startsWith(openTag)) continue;
    const text = dedented.slice(start).join('\n').trim();
    const closeAt = text.indexOf(closeTag);
    if (closeAt === -1) fail('thinking-not-closed', firstLine + start, { example: number });
    const thinkingLine = firstLine + start;
    const answerLine = thinkingLine + countNewlines(text, closeAt);
    return {
      thinking: text.slice(openTag.length, closeAt).trim(),
      thinkingLine,
      answer: text.slice(closeAt + closeTag.length).trim(),
      answerLine,
    };
  }
  return fail('missing-thinking', firstLine + start, { example: number });
}

/**
 * Cleans lines [from, to): drops blank lines at both ends and the indentation
 * common to the rest. Returns the text and the input line of its first line
 * (`lineBase` + index + 1), or undefined when nothing is left.
 */
function cleanField(
  lines: readonly string[],
  from: number,
  to: number,
  lineBase = 0,
): { text: string; line: number } | undefined {
  let start = from;
  let end = to;
  while (start < end && lines[start]!.trim() === '') start += 1;
  while (end > start && lines[end - 1]!.trim() === '') end -= 1;
  if (start === end) return undefined;
  const text = dedent(lines.slice(start, end)).join('\n').trimEnd();
  return { text, line: lineBase + start + 1 };
}

/** Removes the leading whitespace that every non-blank line shares. */
function dedent(lines: readonly string[]): string[] {
  let common: string | undefined;
  for (const line of lines) {
    if (line.trim() === '') continue;
    const indent = /^[ \t]*/.exec(line)![0];
    if (common === undefined) {
      common = indent;
      continue;
    }
    let shared = 0;
    while (shared < common.length && shared < indent.length && common[shared] === indent[shared]) shared += 1;
    common = common.slice(0, shared);
  }
  // Whitespace-only lines lose at most the common width, so text without
  // indentation comes back byte for byte.
  const width = common?.length ?? 0;
  return lines.map((line) => line.slice(Math.min(width, /^[ \t]*/.exec(line)![0].length)));
}

function countNewlines(text: string, end: number): number {
  let count = 0;
  for (let index = text.indexOf('\n'); index !== -1 && index < end; index = text.indexOf('\n', index + 1)) {
    count += 1;
  }
  return count;
}

/** Converts a three-part prompt into a pack draft named `name`, with the language guessed from the text. */
export function importPromptText(input: string, name: string): { pack: Record<string, unknown>; spots: Map<string, FieldSpot> } {
  const imported = parsePromptText(input);
  const pack: Record<string, unknown> = { name, language: guessLanguage(input) };
  if (imported.preamble !== undefined) pack.preamble = imported.preamble;
  pack.examples = imported.examples;
  return { pack, spots: imported.spots };
}

/** Guesses a pack language from the text: `zh-CN` when Han characters outnumber Latin words. */
export function guessLanguage(text: string): 'zh-CN' | 'en' {
  const han = text.match(/\p{Script=Han}/gu)?.length ?? 0;
  const latinWords = text.match(/[A-Za-z]+/g)?.length ?? 0;
  return han > latinWords ? 'zh-CN' : 'en';
}
