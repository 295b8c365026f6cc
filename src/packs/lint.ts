import { formatPath } from '../config/load-config.js';
import { countTokens, TOKEN_ENCODING } from './count-tokens.js';
import { FILL_IN_MARKER } from './fill-in.js';
import {
  asksForChinese,
  declaresManyCharacters,
  endsWithDecision,
  hasActionOrSpeech,
  isVagueRequest,
  reportSignal,
  sharedCharacterName,
} from './lint-heuristics.js';
import { blankCode, findBacktickLine, findLayoutTag, findUnbalancedTags, findUnclosedFence } from './lint-markup.js';
import type { FieldPath, PackSource } from './pack-source.js';
import { findPlaceholders } from './placeholders.js';
import { renderPackForProxy } from './render-cache.js';
import { renderPack } from './render.js';
import { packSchema, type Pack } from './schema.js';

export type Severity = 'error' | 'warning' | 'info';

/**
 * Every lint rule with its fixed severity. Errors are structural and keep a
 * pack out of the server. Warnings are style heuristics, and info is advice.
 */
export const LINT_RULES = {
  syntax: 'error',
  'prompt-layout': 'error',
  schema: 'error',
  'name-mismatch': 'error',
  'duplicate-name': 'error',
  'empty-field': 'error',
  'duplicate-example': 'error',
  'fence-in-thinking': 'error',
  'unclosed-fence': 'error',
  'layout-tag-in-field': 'error',
  'unclosed-tag': 'error',
  'vague-request': 'warning',
  'repeated-request': 'warning',
  'report-monologue': 'warning',
  'monologue-no-decision': 'warning',
  'answer-no-action-or-speech': 'warning',
  'zh-answer-language': 'warning',
  'single-character': 'warning',
  'placeholder-text': 'warning',
  'char-placeholder-unset': 'warning',
  'user-placeholder-unset': 'info',
  'below-recommended-size': 'info',
} as const satisfies Record<string, Severity>;

export type RuleId = keyof typeof LINT_RULES;
export type FindingParams = Record<string, string | number>;

export interface Finding {
  rule: RuleId;
  severity: Severity;
  /** 1-based line in the pack file. */
  line: number;
  /** Field path such as `examples[1].thinking`, or empty for the whole file. */
  path: string;
  params: FindingParams;
}

/** Recommended minimum size of a rendered pack, in o200k_base tokens. */
export const RECOMMENDED_MIN_TOKENS = 1185;

const EXAMPLE_FIELDS = ['user', 'thinking', 'answer'] as const;

class FindingList {
  readonly items: Finding[] = [];

  constructor(private readonly source: PackSource) {}

  add(rule: RuleId, fieldPath: FieldPath, params: FindingParams = {}, lineIndex?: number): void {
    const line =
      lineIndex === undefined
        ? this.source.locator.lineOf(fieldPath)
        : this.source.locator.lineInside(fieldPath, lineIndex);
    this.items.push({ rule, severity: LINT_RULES[rule], line, path: formatPath(fieldPath), params });
  }

  hasErrorAt(fieldPath: string): boolean {
    return this.items.some((finding) => finding.severity === 'error' && finding.path === fieldPath);
  }
}

/**
 * Lints one parsed pack file: structural errors first, then the schema, then
 * style warnings and info on a pack that validates. Findings are sorted by
 * line. `pack` is the validated pack when the file has no error finding.
 */
export interface LintOptions {
  /**
   * Run the rules that count tokens (below-recommended-size). Counting loads the o200k_base
   * tables, about 20 MB of heap, so the server's pack loading turns it off. Default true.
   */
  countTokens?: boolean;
}

export function lintPackSource(source: PackSource, options: LintOptions = {}): { findings: Finding[]; pack: Pack | undefined } {
  const findings = new FindingList(source);
  if (source.syntax !== undefined) {
    if (source.syntax.kind === 'syntax') {
      findings.items.push({
        rule: 'syntax',
        severity: 'error',
        line: source.syntax.line,
        path: '',
        params: { detail: source.syntax.detail },
      });
    } else {
      const { problem } = source.syntax;
      findings.items.push({
        rule: 'prompt-layout',
        severity: 'error',
        line: problem.line ?? 1,
        path: '',
        params: { problem: problem.code, ...problem.params },
      });
    }
    return { findings: findings.items, pack: undefined };
  }

  checkMarkup(source.data, findings);
  checkDuplicates(source.data, findings);

  const parsed = packSchema.safeParse(source.data);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const issuePath = issue.path.filter((segment): segment is string | number => typeof segment !== 'symbol');
      if (findings.hasErrorAt(formatPath(issuePath))) continue;
      findings.add('schema', issuePath, { detail: issue.message });
    }
  } else if (parsed.data.name !== source.name) {
    findings.add('name-mismatch', ['name'], { name: parsed.data.name, fileName: source.name });
  }

  const hasError = findings.items.some((finding) => finding.severity === 'error');
  const pack = parsed.success && !hasError ? parsed.data : undefined;
  if (pack !== undefined) checkStyle(pack, findings, options.countTokens ?? true);
  return { findings: sortFindings(findings.items), pack };
}

export function sortFindings(findings: readonly Finding[]): Finding[] {
  return [...findings].sort((a, b) => a.line - b.line || a.rule.localeCompare(b.rule));
}

interface TextField {
  fieldPath: FieldPath;
  value: string;
  kind: 'preamble' | (typeof EXAMPLE_FIELDS)[number];
}

/** Lists the string fields that end up in the rendered prompt, from unvalidated data. */
function renderedTextFields(data: unknown): TextField[] {
  if (!isRecord(data)) return [];
  const fields: TextField[] = [];
  if (typeof data.preamble === 'string') {
    fields.push({ fieldPath: ['preamble'], value: data.preamble, kind: 'preamble' });
  }
  if (Array.isArray(data.examples)) {
    data.examples.forEach((example: unknown, index) => {
      if (!isRecord(example)) return;
      for (const key of EXAMPLE_FIELDS) {
        const value = example[key];
        // `thinking:` with nothing after it parses as null, which is an empty field too.
        if (typeof value === 'string' || value === null) {
          fields.push({ fieldPath: ['examples', index, key], value: value ?? '', kind: key });
        }
      }
    });
  }
  return fields;
}

function checkMarkup(data: unknown, findings: FindingList): void {
  for (const field of renderedTextFields(data)) {
    const lines = field.value.replace(/\r\n?/g, '\n').split('\n');
    if (field.kind !== 'preamble' && field.value.trim() === '') {
      findings.add('empty-field', field.fieldPath);
      continue;
    }

    if (field.kind === 'thinking') {
      const backtickLine = findBacktickLine(lines);
      if (backtickLine !== -1) findings.add('fence-in-thinking', field.fieldPath, {}, backtickLine);
    } else {
      const unclosed = findUnclosedFence(lines);
      if (unclosed !== -1) findings.add('unclosed-fence', field.fieldPath, {}, unclosed);
    }

    // A layout tag breaks an example wherever it appears. The preamble may show
    // one as code, because the importer only reads tags on lines of their own.
    const codeBlanked = blankCode(lines);
    const layoutTag = findLayoutTag(field.kind === 'preamble' ? codeBlanked : lines);
    if (layoutTag !== undefined) findings.add('layout-tag-in-field', field.fieldPath, { tag: layoutTag.tag }, layoutTag.line);
    for (const hit of findUnbalancedTags(codeBlanked)) {
      findings.add('unclosed-tag', field.fieldPath, { tag: hit.tag }, hit.line);
    }
  }
}

function checkDuplicates(data: unknown, findings: FindingList): void {
  if (!isRecord(data) || !Array.isArray(data.examples)) return;
  const wholeSeen = new Map<string, number>();
  const requestSeen = new Map<string, number>();
  data.examples.forEach((example: unknown, index) => {
    if (!isRecord(example) || !EXAMPLE_FIELDS.every((key) => typeof example[key] === 'string')) return;
    const [user, thinking, answer] = EXAMPLE_FIELDS.map((key) => squash(example[key] as string));
    if (user === '') return;
    const whole = `${user}\u0000${thinking}\u0000${answer}`;
    const sameWhole = wholeSeen.get(whole);
    const sameRequest = requestSeen.get(user!);
    if (sameWhole !== undefined) {
      findings.add('duplicate-example', ['examples', index], { example: index + 1, first: sameWhole + 1 });
    } else if (sameRequest !== undefined) {
      findings.add('repeated-request', ['examples', index, 'user'], { example: index + 1, first: sameRequest + 1 });
    }
    if (!wholeSeen.has(whole)) wholeSeen.set(whole, index);
    if (!requestSeen.has(user!)) requestSeen.set(user!, index);
  });
}

function checkStyle(pack: Pack, findings: FindingList, countPackTokens: boolean): void {
  checkPlaceholderText(pack, findings);

  pack.examples.forEach((example, index) => {
    const at = (key: string): FieldPath => ['examples', index, key];
    const number = { example: index + 1 };
    if (!example.user.includes(FILL_IN_MARKER) && isVagueRequest(example.user)) {
      findings.add('vague-request', at('user'), number);
    }
    if (!example.thinking.includes(FILL_IN_MARKER)) {
      const signal = reportSignal(example.thinking);
      if (signal !== undefined) findings.add('report-monologue', at('thinking'), { ...number, ...signal });
      if (!endsWithDecision(example.thinking)) findings.add('monologue-no-decision', at('thinking'), number);
    }
    if (!example.answer.includes(FILL_IN_MARKER) && !hasActionOrSpeech(example.answer)) {
      findings.add('answer-no-action-or-speech', at('answer'), number);
    }
  });

  if (pack.language?.toLowerCase().startsWith('zh') && !asksForChinese(pack.preamble ?? '')) {
    findings.add('zh-answer-language', ['language'], { language: pack.language });
  }

  if (pack.examples.length >= 2 && declaresManyCharacters(pack)) {
    const name = sharedCharacterName(pack);
    if (name !== undefined) findings.add('single-character', ['examples'], { name, count: pack.examples.length });
  }

  const placeholders = findPlaceholders(renderPack(pack));
  if (placeholders.has('char') && (pack.char === undefined || pack.char.trim() === '')) {
    findings.add('char-placeholder-unset', firstFieldWith(pack, /\{\{char\}\}/i));
  }
  if (placeholders.has('user') && (pack.user === undefined || pack.user.trim() === '')) {
    findings.add('user-placeholder-unset', firstFieldWith(pack, /\{\{user\}\}/i));
  }

  if (!countPackTokens) return;
  const tokens = countTokens(renderPackForProxy(pack));
  if (tokens < RECOMMENDED_MIN_TOKENS) {
    findings.add('below-recommended-size', [], { tokens, recommended: RECOMMENDED_MIN_TOKENS, encoding: TOKEN_ENCODING });
  }
}

function checkPlaceholderText(pack: Pack, findings: FindingList): void {
  const fields: [FieldPath, string | undefined][] = [
    [['title'], pack.title],
    [['char'], pack.char],
    [['user'], pack.user],
    [['preamble'], pack.preamble],
    ...pack.examples.flatMap((example, index) =>
      EXAMPLE_FIELDS.map((key): [FieldPath, string] => [['examples', index, key], example[key]]),
    ),
  ];
  for (const [fieldPath, value] of fields) {
    if (value === undefined) continue;
    const lineIndex = value.split('\n').findIndex((line) => line.includes(FILL_IN_MARKER));
    if (lineIndex !== -1) findings.add('placeholder-text', fieldPath, { marker: FILL_IN_MARKER }, lineIndex);
  }
}

function firstFieldWith(pack: Pack, pattern: RegExp): FieldPath {
  if (pattern.test(pack.preamble ?? '')) return ['preamble'];
  for (const [index, example] of pack.examples.entries()) {
    for (const key of EXAMPLE_FIELDS) {
      if (pattern.test(example[key])) return ['examples', index, key];
    }
  }
  return [];
}

/** Collapses runs of whitespace, so duplicates that differ only in spacing still match. */
function squash(text: string): string {
  return text.trim().replace(/\s+/g, ' ');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
