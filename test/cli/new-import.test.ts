import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

import { renderPack } from '../../src/packs/render.js';
import { packSchema } from '../../src/packs/schema.js';
import { cardPng, textChunk, buildPng } from '../packs-toolkit/png-builder.js';
import { REPO_ROOT, run, STACK_FRAME, TempProjects } from './helpers.js';

const projects = new TempProjects();
afterAll(() => projects.cleanup());

const TOOLKIT = path.join(REPO_ROOT, 'test', 'fixtures', 'toolkit');
const V2_CARD = JSON.parse(readFileSync(path.join(TOOLKIT, 'lamplighter-v2.json'), 'utf8')) as unknown;
const V3_CARD = JSON.parse(readFileSync(path.join(TOOLKIT, 'harbor-pilot-v3.json'), 'utf8')) as unknown;

describe('packs new', () => {
  it('creates a scaffold that lints without errors', () => {
    const cwd = projects.make();

    const created = run(['packs', 'new', 'tea-master'], { cwd });
    const lint = run(['packs', 'lint', 'packs/tea-master.yaml'], { cwd });
    const rules = lint.stdout
      .trimEnd()
      .split('\n')
      .map((line) => line.split(' ').slice(1, 3).join(' '));

    expect(created.code).toBe(0);
    expect(created.stdout).toContain('已创建 packs/tea-master.yaml');
    expect(readFileSync(path.join(cwd, 'packs', 'tea-master.yaml'), 'utf8')).toMatch(/^# 新的 pack（提示包）：tea-master\n/);
    expect(lint.code).toBe(0);
    expect(new Set(rules)).toEqual(new Set(['warning placeholder-text', 'info below-recommended-size']));
  });

  it('writes into the packs folder of the config', () => {
    const cwd = projects.make({
      'config/microtune.yaml': 'packsDir: ../roles\nupstreams:\n  default: { baseUrl: "http://127.0.0.1:9/v1" }\n',
    });

    const result = run(['packs', 'new', 'tea-master'], { cwd });

    expect(result.code).toBe(0);
    expect(existsSync(path.join(cwd, 'roles', 'tea-master.yaml'))).toBe(true);
  });

  it('refuses to overwrite', () => {
    const cwd = projects.make({ 'packs/tea-master.yaml': 'name: tea-master\npreamble: 已经写好的内容\n' });

    const result = run(['packs', 'new', 'tea-master'], { cwd });

    expect(result.code).toBe(2);
    expect(result.stderr).toBe('packs/tea-master.yaml 已存在，不会覆盖。换一个 pack 名，或者先移走旧文件。\n');
    expect(readFileSync(path.join(cwd, 'packs', 'tea-master.yaml'), 'utf8')).toContain('已经写好的内容');
  });

  it('refuses a name another pack file already uses', () => {
    const cwd = projects.make({ 'packs/tea-master.txt': '你是茶馆掌柜。' });

    const result = run(['packs', 'new', 'tea-master'], { cwd });

    expect(result.code).toBe(2);
    expect(existsSync(path.join(cwd, 'packs', 'tea-master.yaml'))).toBe(false);
  });

  it.each(['Tea', 'tea_master', '茶馆', '../escape'])('rejects the name %j', (name) => {
    const cwd = projects.make();

    const result = run(['packs', 'new', name], { cwd });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`pack 名“${name}”无效`);
    expect(existsSync(path.join(cwd, 'packs'))).toBe(false);
  });
});

describe('packs import', () => {
  it('converts a rendered prompt back to the same pack', () => {
    const cwd = projects.make();
    writeFileSync(path.join(cwd, 'knight.txt'), readFileSync(path.join(REPO_ROOT, 'test/fixtures/packs-golden/loyal-knight.txt')));

    const result = run(['packs', 'import', 'knight.txt'], { cwd });
    const pack = packSchema.parse(parseYaml(result.stdout));

    expect(result.code).toBe(0);
    expect(pack.name).toBe('knight');
    expect(renderPack(pack)).toBe(readFileSync(path.join(REPO_ROOT, 'test/fixtures/packs-golden/loyal-knight.txt'), 'utf8'));
    expect(result.stdout).toMatch(/^# 由 microtune packs import 从 knight\.txt 导入。\n/);
  });

  it('writes -o and names the pack after it', () => {
    const cwd = projects.make();

    const result = run(['packs', 'import', path.join(TOOLKIT, 'teahouse-prompt.md'), '-o', 'packs/tea-house.yaml'], { cwd });
    const written = readFileSync(path.join(cwd, 'packs', 'tea-house.yaml'), 'utf8');

    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('已写入 packs/tea-house.yaml（2 个示例）。');
    expect(parseYaml(written).name).toBe('tea-house');
    expect(run(['packs', 'lint', 'packs/tea-house.yaml'], { cwd }).code).toBe(0);
  });

  it('refuses to overwrite -o without --force', () => {
    const cwd = projects.make({ 'out.yaml': 'keep me\n' });
    const input = path.join(TOOLKIT, 'teahouse-prompt.md');

    const refused = run(['packs', 'import', input, '-o', 'out.yaml'], { cwd });
    const forced = run(['packs', 'import', input, '-o', 'out.yaml', '--force'], { cwd });

    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe('out.yaml 已存在。加 --force 覆盖它。\n');
    expect(forced.code).toBe(0);
    expect(readFileSync(path.join(cwd, 'out.yaml'), 'utf8')).toContain('name: out');
  });

  it('uses --name', () => {
    const result = run(['packs', 'import', path.join(TOOLKIT, 'teahouse-prompt.md'), '--name', 'old-wen']);

    expect(parseYaml(result.stdout).name).toBe('old-wen');
  });

  it('rejects an output name that is no pack name', () => {
    const cwd = projects.make();

    const result = run(['packs', 'import', path.join(TOOLKIT, 'teahouse-prompt.md'), '-o', 'Tea House.yaml'], { cwd });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('从输出文件名得到的 pack 名“Tea House”无效');
    expect(existsSync(path.join(cwd, 'Tea House.yaml'))).toBe(false);
  });

  it('imports a V2 card and lists what it left out', () => {
    const result = run(['packs', 'import', path.join(TOOLKIT, 'lamplighter-v2.json'), '--name', 'lamplighter']);
    const pack = packSchema.parse(parseYaml(result.stdout));

    expect(result.code).toBe(0);
    expect(pack.char).toBe('沈砚');
    expect(pack.examples).toHaveLength(3);
    for (const field of ['first_mes', 'alternate_greetings', 'character_book', 'creator_notes', 'tags']) {
      expect(result.stderr).toContain(`未导入 data.${field}`);
    }
    expect(result.stderr).toMatch(/^lamplighter\.yaml:\d+ warning placeholder-text examples\[0\]\.thinking: /m);
  });

  it('imports a V3 card in English', () => {
    const result = run(['packs', 'import', path.join(TOOLKIT, 'harbor-pilot-v3.json'), '--lang', 'en']);

    expect(result.code).toBe(0);
    expect(parseYaml(result.stdout)).toMatchObject({ name: 'harbor-pilot-v3', char: 'Wren', language: 'en' });
    expect(result.stderr).toContain('Note: left out data.group_only_greetings (1)');
    expect(result.stdout).toMatch(/^# Imported from harbor-pilot-v3\.json by microtune packs import\.\n/);
  });

  it.each([
    ['chara', V2_CARD, '沈砚'],
    ['ccv3', V3_CARD, 'Wren'],
  ])('imports a PNG card from its %s chunk', (keyword, card, char) => {
    const cwd = projects.make({ 'card.png': cardPng(keyword, card) });

    const result = run(['packs', 'import', 'card.png', '-o', 'packs/from-png.yaml'], { cwd });
    const pack = parseYaml(readFileSync(path.join(cwd, 'packs', 'from-png.yaml'), 'utf8'));

    expect(result.code).toBe(0);
    expect(pack).toMatchObject({ name: 'from-png', char });
  });

  it('rejects a PNG without a card chunk', () => {
    const cwd = projects.make({ 'photo.png': buildPng([textChunk('Comment', 'holiday')]) });

    const result = run(['packs', 'import', 'photo.png'], { cwd });

    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'photo.png：无法导入：PNG 里没有角色卡：没有关键字为 chara（V2）或 ccv3（V3）的文本块（找到的文本块：Comment）\n',
    );
  });

  it('rejects invalid base64 in English', () => {
    const cwd = projects.make({ 'card.png': buildPng([textChunk('chara', '%%%')]) });

    const result = run(['packs', 'import', 'card.png'], { cwd, env: { LANG: 'en_US.UTF-8' } });

    expect(result.code).toBe(1);
    expect(result.stderr).toBe('card.png: cannot import: the PNG chara chunk is not valid base64\n');
  });

  it('rejects invalid card JSON with its line', () => {
    const cwd = projects.make({ 'card.json': '{\n  "spec": "chara_card_v2",\n  "data": {,}\n}\n' });

    const result = run(['packs', 'import', 'card.json'], { cwd });

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^card\.json:3：无法导入：角色卡不是有效的 JSON：/);
    expect(result.stderr).not.toMatch(STACK_FRAME);
  });

  it('rejects an example without human_message, naming the line', () => {
    const cwd = projects.make({
      'prompt.txt': '你是船娘。\n\n<example>\n<assistant_response>\n```thinking\n好。\n```\n“好。”\n</assistant_response>\n</example>\n',
    });

    const result = run(['packs', 'import', 'prompt.txt'], { cwd });

    expect(result.code).toBe(1);
    expect(result.stderr).toBe('prompt.txt:3：无法导入：第 1 个 <example> 里没有 <human_message>\n');
  });

  it('exits 1 when the imported pack has an error finding', () => {
    const prompt = [
      '你是船娘。',
      '<example>',
      '<human_message>',
      '（我扮演书生）深夜求你渡河，因为明早要赶考。</assistant_response>',
      '</human_message>',
      '<assistant_response>',
      '```thinking',
      '浪大。我先让他坐稳。',
      '```',
      '（递桨）“坐稳。”',
      '</assistant_response>',
      '</example>',
    ].join('\n');
    const cwd = projects.make({ 'prompt.txt': prompt });

    const result = run(['packs', 'import', 'prompt.txt'], { cwd });

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('error layout-tag-in-field examples[0].user: ');
  });

  it('exits 2 for a missing input', () => {
    const result = run(['packs', 'import', 'no-such-card.json']);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe('无法读取 no-such-card.json：文件或目录不存在\n');
  });
});
