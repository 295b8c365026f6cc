import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

import { PackImportError, type ImportProblemCode } from '../../src/packs/import-problems.js';
import { importPromptText, parsePromptText } from '../../src/packs/import-prompt.js';
import { lintPackSource } from '../../src/packs/lint.js';
import { loadPackSet } from '../../src/packs/load-packs.js';
import { parsePackSource } from '../../src/packs/pack-source.js';
import { packToYaml } from '../../src/packs/pack-yaml.js';
import { renderPack } from '../../src/packs/render.js';
import { packSchema } from '../../src/packs/schema.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PACKS_FOLDER = path.join(ROOT, 'packs');
const GOLDEN_FOLDER = path.join(ROOT, 'test', 'fixtures', 'packs-golden');
const TOOLKIT_FOLDER = path.join(ROOT, 'test', 'fixtures', 'toolkit');

function importProblem(text: string): { code: ImportProblemCode; line: number | undefined } {
  try {
    parsePromptText(text);
  } catch (error) {
    if (error instanceof PackImportError) return { code: error.problem.code, line: error.problem.line };
    throw error;
  }
  throw new Error('expected the prompt to be rejected');
}

function example(user: string, thinking: string, answer: string): string {
  return [
    '<example>',
    '<human_message>',
    user,
    '</human_message>',
    '<assistant_response>',
    '```thinking',
    thinking,
    '```',
    answer,
    '</assistant_response>',
    '</example>',
  ].join('\n');
}

describe('import round trip', () => {
  const bundled = loadPackSet(PACKS_FOLDER);

  it.each([...bundled.packs.keys()])('render, import and render %s gives the same text', (name) => {
    const rendered = renderPack(bundled.packs.get(name)!.pack);

    const imported = packSchema.parse(importPromptText(rendered, name).pack);

    expect(renderPack(imported)).toBe(rendered);
    expect(imported.examples).toEqual(
      bundled.packs.get(name)!.pack.examples.map((item) => ({
        user: item.user.trim(),
        thinking: item.thinking.trim(),
        answer: item.answer.trim(),
      })),
    );
  });

  it.each(readdirSync(GOLDEN_FOLDER))('golden file %s survives the trip through YAML', (fileName) => {
    const golden = readFileSync(path.join(GOLDEN_FOLDER, fileName), 'utf8');
    const name = path.basename(fileName, '.txt');

    const yaml = packToYaml(importPromptText(golden, name).pack);
    const { findings, pack } = lintPackSource(parsePackSource(yaml, `/virtual/${name}.yaml`, 'yaml'));

    expect(findings.filter((finding) => finding.severity === 'error')).toEqual([]);
    expect(renderPack(pack!)).toBe(golden);
  });
});

describe('parsePromptText', () => {
  it('reads an indented Markdown prompt', () => {
    const text = readFileSync(path.join(TOOLKIT_FOLDER, 'teahouse-prompt.md'), 'utf8');

    const imported = parsePromptText(text);

    expect(imported.preamble).toMatch(/^# 茶馆掌柜\n\n你要扮演温掌柜/);
    expect(imported.preamble).toMatch(/始终用中文回答。$/);
    expect(imported.examples).toHaveLength(2);
    expect(imported.examples[0]!.user).toBe(
      '（我扮演躲雨的路人）傍晚下起大雨，我没带伞，站在茶馆门口犹豫要不要进来，因为身上只剩十块钱。',
    );
    expect(imported.examples[0]!.thinking).toBe(
      '门口那位衣服湿了一半，手在兜里攥着什么，怕是钱不够。\n雨一时停不了，让人站在风口里不像话。我先请他进来坐，茶钱的事不提。',
    );
    expect(imported.examples[0]!.answer).toBe('（掀开门帘，朝里面让了让）“进来坐，雨大，凳子干着呢。”');
    expect(imported.examples[1]!.thinking.split('\n')[1]).toMatch(/^ {2}让他一步？/);
    expect(imported.spots.get('examples[1].thinking')).toEqual({ line: 28, verbatim: true });
  });

  it('reads examples without an <examples> wrapper', () => {
    const text = `Be Mira.\n\n${example('Hello?', 'A knock. I will open.', '"Come in."')}\n\n${example('Who?', 'A child. I will kneel.', '*kneels*')}`;

    const imported = parsePromptText(text);

    expect(imported.preamble).toBe('Be Mira.');
    expect(imported.examples.map((item) => item.user)).toEqual(['Hello?', 'Who?']);
  });

  it('reads a prompt inside a four-backtick fence', () => {
    const inner = `Be Mira.\n\n<examples>\n${example('Hello?', 'A knock. I will open.', '"Come in."')}\n</examples>`;

    const { preamble, examples } = parsePromptText(`\`\`\`\`text\n${inner}\n\`\`\`\`\n`);

    expect(renderPack(packSchema.parse({ name: 'mira', preamble, examples }))).toBe(inner);
  });

  it('reads <think> blocks and tags on one line', () => {
    const text = [
      '<example>',
      '<human_message>Hello?</human_message>',
      '<assistant_response>',
      '<think>A knock. I will open.</think>',
      '"Come in."',
      '</assistant_response>',
      '</example>',
    ].join('\n');

    const imported = parsePromptText(text);

    expect(imported.preamble).toBeUndefined();
    expect(imported.examples).toEqual([{ user: 'Hello?', thinking: 'A knock. I will open.', answer: '"Come in."' }]);
  });

  it('keeps a text without examples as the preamble', () => {
    const imported = parsePromptText('  You are a kind librarian.\n  Answer briefly.\n');

    expect(imported).toMatchObject({ preamble: 'You are a kind librarian.\nAnswer briefly.', examples: [] });
  });

  it('ignores layout tags mentioned inside preamble lines', () => {
    const text = `Examples follow in <examples> tags.\n\n${example('Hi', 'Hm. I will wave.', '*waves*')}`;

    expect(parsePromptText(text).preamble).toBe('Examples follow in <examples> tags.');
  });

  it('guesses the language', () => {
    expect(importPromptText('你是一位图书管理员，说话轻声细语。', 'librarian').pack.language).toBe('zh-CN');
    expect(importPromptText('You are a librarian who speaks softly.', 'librarian').pack.language).toBe('en');
  });
});

describe('malformed prompts', () => {
  const good = example('Hello?', 'A knock. I will open.', '"Come in."');

  it.each<[string, string, ImportProblemCode, number]>([
    ['example without human_message', 'Pre.\n<example>\n<assistant_response>\n```thinking\nx\n```\ny\n</assistant_response>\n</example>', 'missing-human-message', 2],
    ['human_message not closed', good.replace('</human_message>\n', ''), 'human-message-not-closed', 2],
    ['missing assistant_response', good.replace(/<assistant_response>[\s\S]*<\/assistant_response>\n/, ''), 'missing-assistant-response', 1],
    ['assistant_response not closed', good.replace('</assistant_response>\n', ''), 'assistant-response-not-closed', 5],
    ['example not closed', good.replace('\n</example>', ''), 'example-not-closed', 1],
    ['response without thinking', good.replace('```thinking\n', '').replace('\n```\n', '\n'), 'missing-thinking', 6],
    ['thinking never closed', good.replace('\n```\n', '\n'), 'thinking-not-closed', 6],
    ['text between messages', good.replace('</human_message>\n', '</human_message>\nstray words\n'), 'unexpected-text-in-example', 5],
    ['text after the examples', `<examples>\n${good}\n</examples>\nNow begin.`, 'text-outside-example', 14],
    ['closing examples without opening', `${good}\n</examples>`, 'closing-tag-without-opening', 12],
    ['examples never closed', `Pre.\n<examples>\n${good}`, 'examples-not-closed', 2],
    ['nested examples', `<examples>\n<examples>\n${good}\n</examples>\n</examples>`, 'examples-nested', 2],
  ])('rejects %s', (_label, text, code, line) => {
    expect(importProblem(text)).toEqual({ code, line });
  });
});
