import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

import { PLACEHOLDER_MONOLOGUE } from '../../src/packs/fill-in.js';
import { importCardJson, importCardObject, importCardPng } from '../../src/packs/import-card.js';
import { importPackInput } from '../../src/packs/import-file.js';
import { PackImportError, type ImportNote, type ImportProblemCode } from '../../src/packs/import-problems.js';
import { lintPackSource } from '../../src/packs/lint.js';
import { parsePackSource } from '../../src/packs/pack-source.js';
import { packToYaml } from '../../src/packs/pack-yaml.js';
import { buildPng, cardPng, chunk, textChunk } from './png-builder.js';

const TOOLKIT_FOLDER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/toolkit');
const V2_TEXT = readFileSync(path.join(TOOLKIT_FOLDER, 'lamplighter-v2.json'), 'utf8');
const V3_TEXT = readFileSync(path.join(TOOLKIT_FOLDER, 'harbor-pilot-v3.json'), 'utf8');
const V2_CARD = JSON.parse(V2_TEXT) as { data: Record<string, unknown> };
const V3_CARD = JSON.parse(V3_TEXT) as { data: Record<string, unknown> };

function problemOf(run: () => unknown): { code: ImportProblemCode; params: Record<string, unknown> } {
  try {
    run();
  } catch (error) {
    if (error instanceof PackImportError) return { code: error.problem.code, params: error.problem.params };
    throw error;
  }
  throw new Error('expected the import to fail');
}

function noteCodes(notes: readonly ImportNote[]): string[] {
  return notes.map((note) => `${note.code}${note.params.field === undefined ? '' : `:${String(note.params.field)}`}`);
}

describe('V2 card JSON', () => {
  const imported = importCardJson(V2_TEXT, 'lamplighter');
  const pack = imported.pack as Record<string, any>;

  it('maps name, language and version', () => {
    expect(imported.version).toBe('v2');
    expect(pack).toMatchObject({ name: 'lamplighter', title: '沈砚', char: '沈砚', language: 'zh-CN' });
  });

  it('builds the preamble from the card texts in order', () => {
    const preamble = String(pack.preamble);
    const parts = ['用中文回答。', '{{char}}是老城区最后一位点灯人', '{{char}}的性格：耐心', '场景：黄昏的河堤上，{{user}}', '回复要求：回复保持在一百字以内。', '输出格式：'];
    const positions = parts.map((part) => preamble.indexOf(part));

    expect(positions.every((position) => position >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(preamble).not.toContain('{{original}}');
  });

  it('turns each request and reply into an example', () => {
    expect(pack.examples).toEqual([
      {
        user: '为什么这些灯不换成电灯？',
        thinking: PLACEHOLDER_MONOLOGUE,
        answer: '*抬头看了看灯罩* “换过一回，街坊说太亮，看不见星星。”',
      },
      {
        user: '今天有一盏灯怎么也点不着。',
        thinking: PLACEHOLDER_MONOLOGUE,
        answer: '（蹲下来检查阀门）“不是灯的毛病，是管子里进了水。\n明天我带扳手来。”',
      },
      { user: '那今晚怎么办？', thinking: PLACEHOLDER_MONOLOGUE, answer: '“今晚这一段，我提着马灯走。”' },
    ]);
  });

  it('lists what was left out and added', () => {
    expect(noteCodes(imported.notes).sort()).toEqual(
      [
        'card-book-left-out',
        'card-field-left-out:character_version',
        'card-field-left-out:creator',
        'card-field-left-out:creator_notes',
        'card-field-left-out:tags',
        'card-format-paragraph-added',
        'card-greetings-left-out:alternate_greetings',
        'card-greetings-left-out:first_mes',
        'card-legacy-placeholders:mes_example',
        'card-original-macro-removed:system_prompt',
        'card-placeholder-monologues',
      ].sort(),
    );
    expect(imported.notes.find((note) => note.code === 'card-book-left-out')?.params.entries).toBe(1);
  });

  it('lints with placeholder warnings and no errors', () => {
    const yaml = packToYaml(imported.pack);
    const { findings } = lintPackSource(parsePackSource(yaml, '/virtual/lamplighter.yaml', 'yaml'));

    expect(findings.filter((finding) => finding.severity === 'error')).toEqual([]);
    expect(findings.filter((finding) => finding.rule === 'placeholder-text').map((finding) => finding.path)).toEqual([
      'examples[0].thinking',
      'examples[1].thinking',
      'examples[2].thinking',
    ]);
  });
});

describe('V3 card JSON', () => {
  const imported = importCardJson(V3_TEXT, 'harbor-pilot');
  const pack = imported.pack as Record<string, any>;

  it('uses the nickname as char and English labels', () => {
    expect(imported.version).toBe('v3');
    expect(pack).toMatchObject({ title: 'Captain Adela Wren', char: 'Wren', language: 'en' });
    expect(pack.preamble).toContain("{{char}}'s personality: dry, careful, quietly proud");
    expect(pack.preamble).not.toContain('Scenario:');
    expect(pack.preamble).toContain('Output format:');
  });

  it('imports the example dialogue', () => {
    expect(pack.examples).toEqual([
      {
        user: 'Can you take us in tonight?',
        thinking: PLACEHOLDER_MONOLOGUE,
        answer: '*squints at the fog bank* "I can. Whether I should is another matter."',
      },
    ]);
  });

  it('lists the V3 fields left out', () => {
    expect(noteCodes(imported.notes).sort()).toEqual(
      [
        'card-field-left-out:assets',
        'card-field-left-out:creation_date',
        'card-field-left-out:creator_notes_multilingual',
        'card-field-left-out:modification_date',
        'card-format-paragraph-added',
        'card-greetings-left-out:first_mes',
        'card-greetings-left-out:group_only_greetings',
        'card-placeholder-monologues',
      ].sort(),
    );
  });
});

describe('card example dialogue', () => {
  function cardWith(messageExamples: string) {
    return { spec: 'chara_card_v2', data: { name: 'Mira', description: 'A lighthouse keeper.', mes_example: messageExamples } };
  }

  it('notes turns that have no partner', () => {
    const imported = importCardObject(
      cardWith('Intro text\n{{char}}: "Hello."\n{{user}}: Hi!\n{{char}}: "Welcome."\n{{user}}: Bye.'),
      'mira',
    );

    expect(imported.pack.examples).toHaveLength(1);
    expect(noteCodes(imported.notes)).toEqual([
      'card-text-before-turns',
      'card-turn-without-request',
      'card-request-without-answer',
      'card-placeholder-monologues',
      'card-format-paragraph-added',
    ]);
  });

  it('notes a card without examples', () => {
    const imported = importCardObject(cardWith(''), 'mira');

    expect(imported.pack.examples).toEqual([]);
    expect(imported.pack.preamble).toBe('A lighthouse keeper.');
    expect(noteCodes(imported.notes)).toEqual(['card-no-examples']);
  });
});

describe('PNG cards', () => {
  it('reads a V2 card from a chara chunk', () => {
    const imported = importCardPng(cardPng('chara', V2_CARD), 'lamplighter');

    expect(imported.version).toBe('v2');
    expect(imported.pack).toEqual(importCardJson(V2_TEXT, 'lamplighter').pack);
  });

  it('reads a V3 card from a ccv3 chunk', () => {
    const imported = importCardPng(cardPng('ccv3', V3_CARD), 'harbor-pilot');

    expect(imported.version).toBe('v3');
    expect(imported.pack).toEqual(importCardJson(V3_TEXT, 'harbor-pilot').pack);
  });

  it('prefers ccv3 when both chunks are present', () => {
    const base64 = (card: unknown) => Buffer.from(JSON.stringify(card)).toString('base64');
    const png = buildPng([textChunk('chara', base64(V2_CARD)), textChunk('ccv3', base64(V3_CARD))]);

    const imported = importCardPng(png, 'harbor-pilot');

    expect(imported.version).toBe('v3');
    expect(imported.notes[0]?.code).toBe('png-both-chunks');
  });

  it('goes through importPackInput by signature', () => {
    const result = importPackInput(cardPng('chara', V2_CARD), 'card-without-extension', 'lamplighter');

    expect(result.kind).toBe('card-png');
    expect(result.version).toBe('v2');
  });
});

describe('malformed cards', () => {
  it.each<[string, () => unknown, ImportProblemCode]>([
    ['not a PNG', () => importCardPng(Buffer.from('GIF89a...'), 'x'), 'png-signature'],
    ['a .png name without the signature', () => importPackInput(Buffer.from('plain text'), 'card.png', 'x'), 'png-signature'],
    ['a PNG without a card chunk', () => importCardPng(buildPng([textChunk('Comment', 'hello')]), 'x'), 'png-no-card-chunk'],
    ['a truncated PNG', () => importCardPng(cardPng('chara', V2_CARD).subarray(0, 60), 'x'), 'png-truncated'],
    ['invalid base64', () => importCardPng(buildPng([textChunk('chara', 'not*base64!')]), 'x'), 'card-base64'],
    ['invalid UTF-8', () => importCardPng(buildPng([textChunk('chara', Buffer.from([0xff, 0xfe, 0xfd]).toString('base64'))]), 'x'), 'card-utf8'],
    ['invalid JSON in a chunk', () => importCardPng(buildPng([textChunk('chara', Buffer.from('{"spec":').toString('base64'))]), 'x'), 'card-json'],
    ['invalid JSON text', () => importCardJson('{\n  "spec": "chara_card_v2",\n  "data": {,}\n}', 'x'), 'card-json'],
    ['a JSON array', () => importCardJson('[1, 2]', 'x'), 'card-not-object'],
    ['a V1 card', () => importCardObject({ name: 'Mira', description: 'x' }, 'x'), 'card-spec'],
    ['a card without data', () => importCardObject({ spec: 'chara_card_v2' }, 'x'), 'card-data-missing'],
    ['a card with a numeric field', () => importCardObject({ spec: 'chara_card_v3', data: { name: 'Mira', description: 7 } }, 'x'), 'card-field-type'],
    ['a card without a name', () => importCardObject({ spec: 'chara_card_v2', data: { description: 'x' } }, 'x'), 'card-name-missing'],
  ])('rejects %s', (_label, run, code) => {
    expect(problemOf(run).code).toBe(code);
  });

  it('rejects a chunk with a wrong CRC', () => {
    const png = cardPng('chara', V2_CARD);
    const damaged = Buffer.from(png);
    damaged[45] = damaged[45]! ^ 0xff;

    expect(problemOf(() => importCardPng(damaged, 'x'))).toEqual({ code: 'png-crc', params: { chunk: 'tEXt', offset: 33 } });
  });

  it('names the chunks it found', () => {
    const png = buildPng([textChunk('Comment', 'hello'), chunk('tIME', Buffer.alloc(7))]);

    expect(problemOf(() => importCardPng(png, 'x')).params).toEqual({ keywords: 'Comment' });
  });

  it('locates a JSON error', () => {
    try {
      importCardJson('{\n  "spec": "chara_card_v2",\n  "data": {,}\n}', 'x');
    } catch (error) {
      expect((error as PackImportError).problem.line).toBe(3);
      return;
    }
    throw new Error('expected the import to fail');
  });
});

describe('input detection', () => {
  it('reads a prompt that starts with {{char}} as a prompt', () => {
    const text = '{{char}} keeps the lighthouse.\n\n<example>\n<human_message>\nHello?\n</human_message>\n<assistant_response>\n```thinking\nA knock. I will open.\n```\n"Come in."\n</assistant_response>\n</example>';

    const result = importPackInput(Buffer.from(text), 'mira.txt', 'mira');

    expect(result.kind).toBe('prompt');
    expect(result.pack.preamble).toBe('{{char}} keeps the lighthouse.');
  });

  it('reads a card JSON without the .json extension', () => {
    expect(importPackInput(Buffer.from(V2_TEXT), 'card.txt', 'lamplighter').kind).toBe('card-json');
  });
});
