import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, Scalar, type Document, type Node } from 'yaml';
import { formatPath } from '../config/load-config.js';
import { PackImportError, type ImportProblem } from './import-problems.js';
import { importPromptText, type FieldSpot } from './import-prompt.js';

/** Pack file extensions: YAML and JSON packs, and raw three-part system prompts. */
export const YAML_EXTENSIONS = new Set(['.yaml', '.yml']);
export const PROMPT_EXTENSIONS = new Set(['.txt', '.md']);
export const PACK_FILE_EXTENSIONS = new Set([...YAML_EXTENSIONS, '.json', ...PROMPT_EXTENSIONS]);

export type FieldPath = readonly (string | number)[];
export type PackFormat = 'yaml' | 'json' | 'prompt';

/** Maps a field path to lines of the file it was read from (1-based). */
export interface FieldLocator {
  /** Line where the field starts (its key), or where its nearest located parent starts. */
  lineOf(fieldPath: FieldPath): number;
  /**
   * Line of the field text's line `index` (0-based). Files that keep the
   * text's lines one to one (a YAML `|` block, a raw prompt) give the exact
   * line; other forms give lineOf.
   */
  lineInside(fieldPath: FieldPath, index: number): number;
}

/** Why a pack file could not be parsed: a YAML or JSON syntax error, or an import problem of a raw prompt. */
export type SyntaxProblem = { kind: 'syntax'; line: number; detail: string } | { kind: 'import'; problem: ImportProblem };

/** A pack file parsed but not yet validated. */
export interface PackSource {
  file: string;
  /** Pack name taken from the file name. */
  name: string;
  format: PackFormat;
  /** The parsed value, or undefined when `syntax` is set. */
  data: unknown;
  locator: FieldLocator;
  syntax?: SyntaxProblem;
}

const FIRST_LINE: FieldLocator = { lineOf: () => 1, lineInside: () => 1 };

export function packFormatOf(file: string): PackFormat | undefined {
  const extension = path.extname(file).toLowerCase();
  if (YAML_EXTENSIONS.has(extension)) return 'yaml';
  if (extension === '.json') return 'json';
  if (PROMPT_EXTENSIONS.has(extension)) return 'prompt';
  return undefined;
}

/** Reads a pack file. Throws the fs error when the file cannot be read. */
export function readPackSource(file: string): PackSource {
  const format = packFormatOf(file) ?? 'yaml';
  return parsePackSource(readFileSync(file, 'utf8'), file, format);
}

/** Parses pack text of the given format. Bad content gives a `syntax` problem, not an exception. */
export function parsePackSource(text: string, file: string, format: PackFormat): PackSource {
  const name = path.basename(file, path.extname(file));
  if (format === 'prompt') return parsePromptSource(text, file, name);

  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false });
  const locator = yamlLocator(document, lineCounter);
  if (format === 'json') {
    try {
      return { file, name, format, data: JSON.parse(text), locator };
    } catch (error) {
      return { file, name, format, data: undefined, locator, syntax: { kind: 'syntax', ...describeJsonError(error, text) } };
    }
  }

  const firstError = document.errors[0];
  if (firstError !== undefined) {
    const line = lineCounter.linePos(firstError.pos[0]).line;
    const detail = firstError.message.split('\n')[0] ?? firstError.code;
    return { file, name, format, data: undefined, locator, syntax: { kind: 'syntax', line, detail } };
  }
  return { file, name, format, data: document.toJS(), locator };
}

/**
 * Describes and locates a JSON.parse error. V8 names the offset for some
 * errors ("… at position 42") but not for others, so the YAML parser's first
 * error line (JSON is nearly a subset of YAML) is the fallback, then line 1.
 */
export function describeJsonError(error: unknown, text: string): { line: number; detail: string } {
  const detail = error instanceof Error ? error.message.replace(/\s+/g, ' ') : String(error);
  const position = /position (\d+)/.exec(detail);
  if (position !== null) return { line: text.slice(0, Number(position[1])).split('\n').length, detail };

  const lineCounter = new LineCounter();
  const yamlError = parseDocument(text, { lineCounter }).errors[0];
  return { line: yamlError === undefined ? 1 : lineCounter.linePos(yamlError.pos[0]).line, detail };
}

function parsePromptSource(text: string, file: string, name: string): PackSource {
  try {
    const { pack, spots } = importPromptText(text, name);
    return { file, name, format: 'prompt', data: pack, locator: spotLocator(spots) };
  } catch (error) {
    if (!(error instanceof PackImportError)) throw error;
    return {
      file,
      name,
      format: 'prompt',
      data: undefined,
      locator: FIRST_LINE,
      syntax: { kind: 'import', problem: error.problem },
    };
  }
}

function spotLocator(spots: ReadonlyMap<string, FieldSpot>): FieldLocator {
  const find = (fieldPath: FieldPath): FieldSpot | undefined => {
    for (let length = fieldPath.length; length > 0; length -= 1) {
      const spot = spots.get(formatPath(fieldPath.slice(0, length)));
      if (spot !== undefined) return spot;
    }
    return undefined;
  };
  return {
    lineOf: (fieldPath) => find(fieldPath)?.line ?? 1,
    lineInside: (fieldPath, index) => {
      const spot = spots.get(formatPath(fieldPath));
      if (spot === undefined) return find(fieldPath)?.line ?? 1;
      return spot.verbatim ? spot.line + index : spot.line;
    },
  };
}

function yamlLocator(document: Document, lineCounter: LineCounter): FieldLocator {
  const lineAt = (offset: number) => lineCounter.linePos(offset).line;

  /** Walks the path; returns the start offset of the deepest key found and the node at the full path. */
  const walk = (fieldPath: FieldPath): { start: number | undefined; node: Node | undefined } => {
    let node: unknown = document.contents;
    let start: number | undefined = (document.contents as Node | null)?.range?.[0];
    for (const segment of fieldPath) {
      if (isMap(node)) {
        const pair = node.items.find((item) => (isScalar(item.key) ? item.key.value : item.key) === segment);
        if (pair === undefined) return { start, node: undefined };
        start = (pair.key as Node | null)?.range?.[0] ?? start;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number') {
        const item = node.items[segment] as Node | undefined;
        if (item === undefined) return { start, node: undefined };
        start = item.range?.[0] ?? start;
        node = item;
      } else {
        return { start, node: undefined };
      }
    }
    return { start, node: node as Node | undefined };
  };

  return {
    lineOf: (fieldPath) => {
      const { start } = walk(fieldPath);
      return start === undefined ? 1 : lineAt(start);
    },
    lineInside: (fieldPath, index) => {
      const { start, node } = walk(fieldPath);
      if (isScalar(node) && node.type === Scalar.BLOCK_LITERAL && node.range !== undefined && node.range !== null) {
        // A `|` block keeps every line: text line 0 is the line after the header.
        return lineAt(node.range[0]) + 1 + index;
      }
      return start === undefined ? 1 : lineAt(start);
    },
  };
}
