import { PLACEHOLDER_MONOLOGUE } from './fill-in.js';
import { PackImportError, type ImportNote } from './import-problems.js';
import { guessLanguage, type ImportedExample } from './import-prompt.js';
import { describeJsonError } from './pack-source.js';
import { readPngChunks, readPngTextChunks } from './png-chunks.js';

/** A SillyTavern character card converted into a pack draft (validated later by lint). */
export interface CardImport {
  version: 'v2' | 'v3';
  pack: Record<string, unknown>;
  /** Notes on card fields left out of the pack and on text the importer added. */
  notes: ImportNote[];
}

const SPECS: Record<string, CardImport['version']> = { chara_card_v2: 'v2', chara_card_v3: 'v3' };

/** Card fields that become part of the pack. */
const USED_FIELDS = new Set([
  'name',
  'nickname',
  'description',
  'personality',
  'scenario',
  'system_prompt',
  'post_history_instructions',
  'mes_example',
]);

const STRING_FIELDS = [...USED_FIELDS, 'first_mes', 'creator_notes', 'creator', 'character_version'];

/** PNG text-chunk keywords: `ccv3` carries a V3 card, `chara` a V2 card (V3 cards often carry both). */
const PNG_CARD_KEYWORDS = ['ccv3', 'chara'] as const;

/**
 * Imports a card from JSON text. Throws PackImportError for invalid JSON or
 * a value that is not a V2 or V3 card.
 */
export function importCardJson(text: string, name: string): CardImport {
  let value: unknown;
  try {
    value = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    const { line, detail } = describeJsonError(error, text);
    throw new PackImportError({ code: 'card-json', line, params: { detail } });
  }
  return importCardObject(value, name);
}

/**
 * Imports a card from a PNG file's `ccv3` (V3) or `chara` (V2) text chunk,
 * which contains the card JSON in base64.
 */
export function importCardPng(buffer: Buffer, name: string): CardImport {
  const texts = readPngTextChunks(readPngChunks(buffer));
  const keyword = PNG_CARD_KEYWORDS.find((candidate) => texts.has(candidate));
  if (keyword === undefined) {
    const found = [...texts.keys()].join(', ') || '-';
    throw new PackImportError({ code: 'png-no-card-chunk', params: { keywords: found } });
  }

  const encoded = texts.get(keyword)!.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded) || encoded.length % 4 === 1 || encoded === '') {
    throw new PackImportError({ code: 'card-base64', params: { keyword } });
  }
  let json: string;
  try {
    json = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(encoded, 'base64'));
  } catch {
    throw new PackImportError({ code: 'card-utf8', params: { keyword } });
  }

  const imported = importCardJson(json, name);
  if (keyword === 'ccv3' && texts.has('chara')) imported.notes.unshift({ code: 'png-both-chunks', params: {} });
  return imported;
}

/** Imports a parsed card value. */
export function importCardObject(value: unknown, name: string): CardImport {
  if (!isRecord(value)) throw new PackImportError({ code: 'card-not-object', params: {} });
  const spec = typeof value.spec === 'string' ? value.spec : '';
  const version = SPECS[spec];
  if (version === undefined) throw new PackImportError({ code: 'card-spec', params: { spec: spec || '-' } });
  const data = value.data;
  if (!isRecord(data)) throw new PackImportError({ code: 'card-data-missing', params: { spec } });
  for (const field of STRING_FIELDS) {
    if (data[field] !== undefined && data[field] !== null && typeof data[field] !== 'string') {
      throw new PackImportError({ code: 'card-field-type', params: { field: `data.${field}` } });
    }
  }
  const cardName = text(data.name);
  if (cardName === '') throw new PackImportError({ code: 'card-name-missing', params: {} });

  const notes: ImportNote[] = [];
  const field = (key: string) => tidyPlaceholders(text(data[key]), key, notes);
  const language = guessLanguage(
    ['description', 'personality', 'scenario', 'mes_example', 'system_prompt'].map((key) => text(data[key])).join('\n'),
  );
  const examples = parseMessageExamples(field('mes_example'), notes);
  const preamble = buildPreamble(
    {
      systemPrompt: removeOriginalMacro(field('system_prompt'), 'system_prompt', notes),
      description: field('description'),
      personality: field('personality'),
      scenario: field('scenario'),
      postHistory: removeOriginalMacro(field('post_history_instructions'), 'post_history_instructions', notes),
    },
    language,
    examples.length > 0,
    notes,
  );
  noteLeftOut(data, notes);

  const pack: Record<string, unknown> = {
    name,
    title: cardName,
    language,
    char: text(data.nickname) || cardName,
  };
  if (preamble !== '') pack.preamble = preamble;
  pack.examples = examples;
  return { version, pack, notes: dedupeNotes(notes) };
}

interface CardTexts {
  systemPrompt: string;
  description: string;
  personality: string;
  scenario: string;
  postHistory: string;
}

const LABELS = {
  'zh-CN': { personality: '{{char}}的性格：', scenario: '场景：', postHistory: '回复要求：' },
  en: { personality: "{{char}}'s personality: ", scenario: 'Scenario: ', postHistory: 'Reply instructions: ' },
} as const;

const FORMAT_PARAGRAPH = {
  'zh-CN':
    '输出格式：每次回复先写{{char}}的内心独白，放在以 ```thinking 开头、以单独一行 ``` 结尾的代码块里。独白用第一人称，像自言自语一样想，不列条目，并落在{{char}}决定怎么做上。代码块之后再写{{char}}的回应：动作放在（括号）或 *星号* 里，说出口的话放在“引号”里。始终用中文回答。',
  en:
    "Output format: before each reply, write {{char}}'s inner monologue in a code block that opens with ```thinking and closes with a line that is ``` alone. Write it in the first person as a stream of thought, not a list, and end it on what {{char}} decides to do. After the block, write {{char}}'s reply: actions in *asterisks*, spoken words in \"quotes\".",
} as const;

function buildPreamble(texts: CardTexts, language: 'zh-CN' | 'en', hasExamples: boolean, notes: ImportNote[]): string {
  const labels = LABELS[language];
  const parts = [
    texts.systemPrompt,
    texts.description,
    texts.personality === '' ? '' : `${labels.personality}${texts.personality}`,
    texts.scenario === '' ? '' : `${labels.scenario}${texts.scenario}`,
    texts.postHistory === '' ? '' : `${labels.postHistory}${texts.postHistory}`,
  ];
  if (hasExamples) {
    parts.push(FORMAT_PARAGRAPH[language]);
    notes.push({ code: 'card-format-paragraph-added', params: {} });
  }
  return parts.filter((part) => part !== '').join('\n\n');
}

const TURN_LINE = /^[ \t]*(\{\{user\}\}|\{\{char\}\})[ \t]*:[ \t]?(.*)$/;

/**
 * Splits `mes_example` at `<START>` into blocks and each block into
 * `{{user}}:` and `{{char}}:` turns. Each request (consecutive user turns)
 * with the answer after it (consecutive char turns) becomes one example.
 */
function parseMessageExamples(messageExamples: string, notes: ImportNote[]): ImportedExample[] {
  const examples: ImportedExample[] = [];
  const blocks = messageExamples.split(/<START>/i);
  blocks.forEach((block, blockIndex) => {
    const turns: { speaker: 'user' | 'char'; lines: string[] }[] = [];
    const before: string[] = [];
    for (const line of block.replace(/\r\n?/g, '\n').split('\n')) {
      const match = TURN_LINE.exec(line);
      const last = turns.at(-1);
      if (match === null) {
        // A line without a speaker continues the turn before it.
        if (last === undefined) before.push(line);
        else last.lines.push(line);
        continue;
      }
      const speaker = match[1] === '{{user}}' ? 'user' : 'char';
      // Consecutive turns of one speaker count as one turn.
      if (last?.speaker === speaker) last.lines.push(match[2]!);
      else turns.push({ speaker, lines: [match[2]!] });
    }
    const blockNumber = blockIndex + 1;
    if (before.join('').trim() !== '') notes.push({ code: 'card-text-before-turns', params: { block: blockNumber } });

    let request: string | undefined;
    for (const turn of turns) {
      const content = turn.lines.join('\n').trim();
      if (turn.speaker === 'user') {
        request = content;
      } else if (request === undefined) {
        notes.push({ code: 'card-turn-without-request', params: { block: blockNumber } });
      } else {
        examples.push({ user: request, thinking: PLACEHOLDER_MONOLOGUE, answer: content });
        request = undefined;
      }
    }
    if (request !== undefined) notes.push({ code: 'card-request-without-answer', params: { block: blockNumber } });
  });

  if (examples.length === 0) notes.push({ code: 'card-no-examples', params: {} });
  else notes.push({ code: 'card-placeholder-monologues', params: { count: examples.length } });
  return examples;
}

/** Writes `<USER>`/`<BOT>` and case variants such as `{{Char}}` as `{{user}}`/`{{char}}`. */
function tidyPlaceholders(value: string, field: string, notes: ImportNote[]): string {
  if (/<(?:USER|BOT)>/i.test(value)) notes.push({ code: 'card-legacy-placeholders', params: { field } });
  return value
    .replace(/<(USER|BOT)>/gi, (_match, word: string) => (word.toLowerCase() === 'user' ? '{{user}}' : '{{char}}'))
    .replace(/\{\{(char|user)\}\}/gi, (_match, word: string) => `{{${word.toLowerCase()}}}`);
}

/**
 * Drops SillyTavern's `{{original}}` macro, which stands for the app's own
 * default prompt and has no counterpart in a pack.
 */
function removeOriginalMacro(value: string, field: string, notes: ImportNote[]): string {
  if (!/\{\{original\}\}/i.test(value)) return value;
  notes.push({ code: 'card-original-macro-removed', params: { field } });
  return value.replace(/\{\{original\}\}/gi, '').trim();
}

function noteLeftOut(data: Record<string, unknown>, notes: ImportNote[]): void {
  for (const [key, value] of Object.entries(data)) {
    if (USED_FIELDS.has(key) || isEmpty(value)) continue;
    if (key === 'first_mes' || key === 'alternate_greetings' || key === 'group_only_greetings') {
      const count = Array.isArray(value) ? value.length : 1;
      notes.push({ code: 'card-greetings-left-out', params: { field: key, count } });
    } else if (key === 'character_book') {
      const entries = isRecord(value) && Array.isArray(value.entries) ? value.entries.length : 0;
      notes.push({ code: 'card-book-left-out', params: { entries } });
    } else {
      notes.push({ code: 'card-field-left-out', params: { field: key } });
    }
  }
}

function dedupeNotes(notes: readonly ImportNote[]): ImportNote[] {
  const seen = new Set<string>();
  return notes.filter((note) => {
    const key = JSON.stringify(note);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function text(value: unknown): string {
  return typeof value === 'string' ? value.replace(/\r\n?/g, '\n').trim() : '';
}

function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  if (isRecord(value)) return Object.keys(value).length === 0;
  return false;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
