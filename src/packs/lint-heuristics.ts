// Text heuristics behind the style warnings of `microtune packs lint`. They
// read Chinese and English. Each one is a guess about style, so a finding is
// a warning to reread the text, never a reason to keep a pack out.

import type { Pack } from './schema.js';

/**
 * Rough size of a text in "units": one per Han character, two per Latin word,
 * because an English word carries about as much as two Chinese characters.
 */
export function textUnits(text: string): number {
  const han = text.match(/\p{Script=Han}/gu)?.length ?? 0;
  const latinWords = text.match(/[A-Za-z0-9]+(?:'[A-Za-z]+)?/g)?.length ?? 0;
  return han + 2 * latinWords;
}

/** A request under this many units is short; short plus no scene, motive or constraint is vague. */
export const VAGUE_REQUEST_MAX_UNITS = 40;

const SCENE_PATTERNS: readonly RegExp[] = [
  // A stage direction: （我扮演……）, (I play …), [night], 【…】 or *…*.
  /[（([【][^）)\]】]{2,}[）)\]】]/,
  /\*[^*\n]{2,}\*/,
  /清晨|早上|上午|中午|午后|下午|傍晚|黄昏|晚上|夜里|深夜|半夜|凌晨|雨夜|雪夜/,
  /在[^，。！？,.!?]{1,10}(?:里|上|中|旁|边|前|后|外|门口|楼下|楼上)/,
  /\b(?:in|at|on|inside|outside) the\b/i,
  /\b(?:morning|noon|evening|night|midnight|dawn|dusk)\b/i,
];

const MOTIVE_PATTERNS: readonly RegExp[] = [
  /因为|为了|想要|想让|打算|希望|担心|害怕|怕|所以|好让|免得|急着|求你/,
  /\b(?:because|so that|in order to|want|wants|wanted|hope|hoping|afraid|worried|need|needs|trying to)\b/i,
];

const CONSTRAINT_PATTERNS: readonly RegExp[] = [
  /不超过|以内|以下|不要|别|只能|只要|只用|必须|控制在|至少|最多|不能|\d+\s*(?:字|句|个字)|[一二三四五六七八九十百千]+(?:个)?字/,
  /\b(?:under|at most|no more than|fewer than|less than|only|must|don't|do not|without|keep it|limit)\b/i,
];

/**
 * True when a request is short and names no scene, no motive and no
 * constraint. Such a request gives the model nothing to tell one role from
 * another, so it learns to answer any role request as the example's character.
 */
export function isVagueRequest(text: string): boolean {
  if (textUnits(text) >= VAGUE_REQUEST_MAX_UNITS) return false;
  const groups = [SCENE_PATTERNS, MOTIVE_PATTERNS, CONSTRAINT_PATTERNS];
  return !groups.some((patterns) => patterns.some((pattern) => pattern.test(text)));
}

const LIST_LINE = /^[ \t]*(?:[-*•·][ \t]+|\d+[.、)）][ \t]*|[（(]\d+[)）]|[一二三四五六七八九十]+、|#{1,6}[ \t])/;
const SEQUENCE_WORDS: readonly (readonly [string, RegExp])[] = [
  ['首先', /首先/],
  ['其次', /其次/],
  ['再次', /再次[，,、]/],
  ['最后', /最后[，,、：:]/],
  ['第一', /第一[，,、：:]/],
  ['第二', /第二[，,、：:]/],
  ['第三', /第三[，,、：:]/],
  ['其一', /其一[，,、：:]/],
  ['其二', /其二[，,、：:]/],
  ['first', /\bfirst(?:ly)?,/i],
  ['second', /\bsecond(?:ly)?,/i],
  ['third', /\bthird(?:ly)?,/i],
  ['finally', /\b(?:finally|lastly),/i],
];

export type ReportSignal = { kind: 'list-lines'; count: number } | { kind: 'sequence-words'; words: string };

/**
 * Returns what makes a monologue read like a report: two or more list or
 * heading lines, or two or more sequence words such as 首先 … 最后.
 * Returns undefined when it reads like a stream of thought.
 */
export function reportSignal(text: string): ReportSignal | undefined {
  const count = text.split('\n').filter((line) => LIST_LINE.test(line)).length;
  if (count >= 2) return { kind: 'list-lines', count };
  const words = SEQUENCE_WORDS.filter(([, pattern]) => pattern.test(text)).map(([word]) => word);
  if (words.length >= 2) return { kind: 'sequence-words', words: words.join('…') };
  return undefined;
}

const DECISION_PATTERNS: readonly RegExp[] = [
  /我(?:先|就|要|得|会|来|去|给|把|打算|决定|准备|该|还是|这就|马上|立刻|现在就|只好|干脆)/,
  /就这么办|就这样|那就|决定|打算|准备|先[^，。！？]{0,8}再/,
  /\b(?:I will|I'll|I am going to|I'm going to|I shall|let me|I should|I must|I need to|I have to|I decide|I'd better|time to)\b/i,
];

/** How many sentences at the end of a monologue may carry its decision. */
const DECISION_WINDOW_SENTENCES = 2;

/** True when one of the last two sentences of a monologue states a decision or an intention. */
export function endsWithDecision(text: string): boolean {
  const sentences = text
    .split(/(?<=[。！？!?…；;])|(?<=\.)\s|\n+/)
    .map((sentence) => sentence.trim())
    .filter((sentence) => sentence !== '');
  const tail = sentences.slice(-DECISION_WINDOW_SENTENCES).join(' ');
  return DECISION_PATTERNS.some((pattern) => pattern.test(tail));
}

const ACTION_PATTERN = /（[^）]+）|\([^)]+\)|\*[^*\n]+\*/;
const SPEECH_PATTERN = /“[^”]+”|"[^"\n]+"|「[^」]+」|『[^』]+』/;

/** True when a reply has an action in brackets or asterisks, or speech in quotation marks. */
export function hasActionOrSpeech(text: string): boolean {
  return ACTION_PATTERN.test(text) || SPEECH_PATTERN.test(text);
}

const CHINESE_REQUEST_PATTERNS: readonly RegExp[] = [
  /(?:用|以|使用|说)(?:简体)?(?:中文|汉语|普通话)/,
  /(?:中文|汉语)(?:回答|回复|作答|回应|交流|输出)/,
  /\b(?:answer|reply|respond|write|speak|talk)\b[^.\n]{0,40}\bin (?:simplified )?(?:Chinese|Mandarin)\b/i,
];

/** True when a line of the text requests replies in Chinese. */
export function asksForChinese(text: string): boolean {
  return text.split('\n').some((line) => CHINESE_REQUEST_PATTERNS.some((pattern) => pattern.test(line)));
}

const MANY_CHARACTERS_PATTERN =
  /(?:多个|多种|多位|不同的?|各种|各类|任意|任何)(?:的)?角色|\b(?:many|multiple|several|various|different|any) characters?\b/i;

/** True when the pack declares it is meant for many characters: by `characters: many`, or in its preamble. */
export function declaresManyCharacters(pack: Pack): boolean {
  if (pack.characters !== undefined) return pack.characters === 'many';
  return MANY_CHARACTERS_PATTERN.test(pack.preamble ?? '');
}

const ROLE_NAME_PATTERNS: readonly RegExp[] = [
  /(?:你|您)(?:来)?(?:扮演|演)(?:的是)?[「“"『]?([\p{Script=Han}A-Za-z·]{2,8})/u,
  /\byou (?:play|are playing|play the part of)\s+((?:[A-Z][\w'-]+)(?:\s[A-Z][\w'-]+)?)/,
];

/**
 * Returns a character name that every example mentions in its request or
 * answer, or undefined. Candidates are the pack's `char` field and the names
 * requests give the model's role ("你扮演林晓", "you play Mira").
 */
export function sharedCharacterName(pack: Pack): string | undefined {
  const candidates = new Set<string>();
  if (pack.char !== undefined && pack.char.trim() !== '') candidates.add(pack.char.trim());
  for (const example of pack.examples) {
    for (const pattern of ROLE_NAME_PATTERNS) {
      const name = pattern.exec(example.user)?.[1];
      if (name !== undefined) candidates.add(name);
    }
  }
  for (const name of candidates) {
    if (pack.examples.every((example) => `${example.user}\n${example.answer}`.includes(name))) return name;
  }
  return undefined;
}
