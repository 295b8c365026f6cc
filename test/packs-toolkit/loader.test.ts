import { symlinkSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';

import { loadPackFile, loadPackSet } from '../../src/packs/load-packs.js';
import { renderPack } from '../../src/packs/render.js';
import { ferryPack, TempFolders } from './helpers.js';

const temp = new TempFolders();
afterAll(() => temp.cleanup());

const FERRY_PROMPT = [
  '你要扮演阿槐，在大河上撑夜渡船。始终用中文回答。',
  '',
  '<examples>',
  '<example>',
  '<human_message>',
  '（我扮演书生）深夜，我求你渡我过河，明早要赶考。',
  '</human_message>',
  '<assistant_response>',
  '```thinking',
  '浪大，可东边那段水我熟。我先让他坐稳。',
  '```',
  '（递过桨）“坐稳，天亮前送你上岸。”',
  '</assistant_response>',
  '</example>',
  '</examples>',
].join('\n');

describe('raw prompt packs', () => {
  it('loads a .txt prompt named after its file', () => {
    const folder = temp.make({ 'night-ferry.txt': FERRY_PROMPT });

    const set = loadPackSet(folder);
    const loaded = set.packs.get('night-ferry');

    expect([...set.failures.values()]).toEqual([]);
    expect(loaded?.file).toBe(path.join(folder, 'night-ferry.txt'));
    expect(loaded?.pack.examples).toHaveLength(1);
    expect(loaded?.pack.language).toBe('zh-CN');
    expect(renderPack(loaded!.pack)).toBe(FERRY_PROMPT);
  });

  it('loads an indented .md prompt', () => {
    const indented = FERRY_PROMPT.split('\n')
      .map((line) => (line === '' ? '' : `    ${line}`))
      .join('\n');
    const folder = temp.make({ 'ferry-notes.md': `\n\n${indented}\n\n` });

    const loaded = loadPackSet(folder).packs.get('ferry-notes');

    expect(loaded).toBeDefined();
    expect(renderPack(loaded!.pack)).toBe(FERRY_PROMPT);
  });

  it('ignores prompt files whose name is no pack name', () => {
    const folder = temp.make({ 'README.md': '# Notes\n', 'Draft Ideas.txt': 'x', 'night-ferry.txt': FERRY_PROMPT });

    const set = loadPackSet(folder);

    expect([...set.packs.keys()]).toEqual(['night-ferry']);
    expect(set.failures.size).toBe(0);
  });

  it('leaves out a malformed prompt with its rule and line', () => {
    const broken = FERRY_PROMPT.replace('</human_message>\n', '');
    const folder = temp.make({ 'night-ferry.txt': broken });

    const failure = loadPackSet(folder).failures.get('night-ferry');

    expect(failure?.problem).toContain('rule prompt-layout');
    expect(failure?.problem).toContain('line 5');
    expect(failure?.problem).toContain('<human_message> of example 1 is never closed');
  });

  it('reports a YAML and a prompt pack of one name', () => {
    const folder = temp.make({ 'night-ferry.txt': FERRY_PROMPT, 'night-ferry.yaml': toYaml(ferryPack()) });

    const set = loadPackSet(folder);

    expect(set.packs.has('night-ferry')).toBe(false);
    expect(set.failures.get('night-ferry')?.problem).toContain('rule duplicate-name');
  });
});

describe('lint at load', () => {
  it('leaves out a pack with an error finding', () => {
    const pack = ferryPack();
    pack.examples[0]!.thinking = '浪很大。\n```\n我先让他坐稳。';
    const folder = temp.make({ 'night-ferry.yaml': toYaml(pack), 'good.yaml': toYaml({ ...ferryPack(), name: 'good' }) });

    const set = loadPackSet(folder);
    const problem = set.failures.get('night-ferry')?.problem ?? '';

    expect([...set.packs.keys()]).toEqual(['good']);
    expect(problem).toMatch(/^examples\[0\]\.thinking: /);
    expect(problem).toContain('(rule fence-in-thinking, line ');
  });

  it('names every error of a pack', () => {
    const pack = ferryPack();
    pack.examples[0]!.answer = '“坐稳。”</assistant_response>';
    pack.examples.push({ ...pack.examples[1]! });
    const folder = temp.make({ 'night-ferry.yaml': toYaml(pack) });

    const problem = loadPackFile(path.join(folder, 'night-ferry.yaml'));

    expect('problem' in problem ? problem.problem : '').toContain('rule layout-tag-in-field');
    expect('problem' in problem ? problem.problem : '').toContain('rule duplicate-example');
  });

  it('returns the warnings of loaded packs once', () => {
    const pack = ferryPack();
    pack.examples[1]!.user = '你是谁？';
    const broken = { ...ferryPack(), name: 'broken' };
    broken.examples[0]!.user = '你好';
    broken.examples[1]!.answer = '<b>“走。”';
    const folder = temp.make({ 'night-ferry.yaml': toYaml(pack), 'broken.yaml': toYaml(broken) });

    const set = loadPackSet(folder);

    expect(set.warnings).toEqual([
      {
        name: 'night-ferry',
        file: path.join(folder, 'night-ferry.yaml'),
        line: expect.any(Number),
        rule: 'vague-request',
        message: expect.stringMatching(/^examples\[1\]\.user: the request of example 2 is short/),
      },
    ]);
    expect(set.failures.get('broken')?.problem).toContain('rule unclosed-tag');
  });

  it('reports no warnings for a clean pack', () => {
    const folder = temp.make({ 'night-ferry.yaml': toYaml(ferryPack()) });

    expect(loadPackSet(folder).warnings).toEqual([]);
  });
});

describe('linked pack files', () => {
  it('loads symlinks to files and skips broken ones', () => {
    const target = temp.make({ 'night-ferry.yaml': toYaml(ferryPack()) });
    const folder = temp.make();
    symlinkSync(path.join(target, 'night-ferry.yaml'), path.join(folder, 'night-ferry.yaml'));
    symlinkSync(path.join(target, 'missing.yaml'), path.join(folder, 'missing.yaml'));

    const set = loadPackSet(folder);

    expect([...set.packs.keys()]).toEqual(['night-ferry']);
    expect(set.failures.size).toBe(0);
  });
});
