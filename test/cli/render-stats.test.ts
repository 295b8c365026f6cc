import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';

import { countTokens } from '../../src/packs/count-tokens.js';
import { ferryPack } from '../packs-toolkit/helpers.js';
import { REPO_ROOT, run, STACK_FRAME, TempProjects } from './helpers.js';

const projects = new TempProjects();
afterAll(() => projects.cleanup());

const GOLDEN = (name: string) => readFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'packs-golden', `${name}.txt`), 'utf8');

function guestPack(): string {
  const pack = ferryPack();
  pack.user = '客人';
  pack.examples[1]!.answer = '（点点头）“{{user}}，坐稳，{{char}}送你过河。”';
  return toYaml(pack);
}

const PRICED_CONFIG = [
  'packsDir: ../packs',
  'upstreams:',
  '  default:',
  '    baseUrl: "http://127.0.0.1:9/v1"',
  '    price: { inputPerMillion: 2, outputPerMillion: 8, currency: USD }',
  '  china:',
  '    baseUrl: "http://127.0.0.1:9/v1"',
  'aliases:',
  '  ferry-cn:',
  '    pack: night-ferry',
  '    upstream: china',
  '    model: big-model',
  '    price: { inputPerMillion: 42, outputPerMillion: 126, currency: CNY }',
  '  ferry-default:',
  '    pack: night-ferry',
  '    model: small-model',
  '  ferry-unpriced:',
  '    pack: night-ferry',
  '    upstream: china',
  '    model: other-model',
  '',
].join('\n');

describe('packs render', () => {
  it('prints the bundled pack exactly, plus one newline', () => {
    const result = run(['packs', 'render', 'intern-doctor']);

    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${GOLDEN('intern-doctor')}\n`);
    expect(result.stderr).toBe('');
  });

  it('fills placeholders from the pack and from --user', () => {
    const cwd = projects.make({ 'packs/night-ferry.yaml': guestPack() });

    const plain = run(['packs', 'render', 'night-ferry'], { cwd });
    const override = run(['packs', 'render', 'night-ferry', '--user', '林先生'], { cwd });

    expect(plain.stdout).toContain('“客人，坐稳，阿槐送你过河。”');
    expect(override.stdout).toContain('“林先生，坐稳，阿槐送你过河。”');
    expect(override.code).toBe(0);
  });

  it('renders a pack file by path', () => {
    const cwd = projects.make({ 'drafts/night-ferry.yaml': guestPack() });

    const result = run(['packs', 'render', 'drafts/night-ferry.yaml'], { cwd });

    expect(result.code).toBe(0);
    expect(result.stdout.startsWith('你要扮演阿槐')).toBe(true);
  });

  it('prints warnings to stderr', () => {
    const pack = ferryPack();
    pack.examples[1]!.user = '你是谁？';
    const cwd = projects.make({ 'packs/night-ferry.yaml': toYaml(pack) });

    const result = run(['packs', 'render', 'night-ferry'], { cwd });

    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/^packs\/night-ferry\.yaml:\d+ warning vague-request /);
    expect(result.stdout).toContain('你是谁？');
  });

  it('exits 2 for an unknown pack', () => {
    const result = run(['packs', 'render', 'no-such-pack']);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe('packs 里没有名为“no-such-pack”的 pack。\n');
  });

  it('exits 2 for a missing pack file', () => {
    const result = run(['packs', 'render', 'drafts/no-such-pack.yaml']);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe('无法读取 drafts/no-such-pack.yaml：文件或目录不存在\n');
  });

  it('exits 2 for a folder given as a pack file', () => {
    const result = run(['packs', 'render', 'packs/']);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe('无法读取 packs：这是一个目录，需要文件\n');
  });

  it('exits 1 for a pack left out, naming the rule', () => {
    const pack = ferryPack();
    pack.examples[1]!.answer = '“走吧。”</assistant_response>';
    const cwd = projects.make({ 'packs/night-ferry.yaml': toYaml(pack) });

    const result = run(['packs', 'render', 'night-ferry'], { cwd });

    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('packs/night-ferry.yaml：这个 pack 不会被加载：');
    expect(result.stderr).toContain('rule layout-tag-in-field');
    expect(result.stderr).not.toMatch(STACK_FRAME);
  });

  it('exits 2 without a pack argument', () => {
    const result = run(['packs', 'render']);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('packs render 缺少参数 <名字|文件>。');
  });
});

describe('packs stats', () => {
  it('prints tokens and costs from alias and upstream prices', () => {
    const cwd = projects.make({ 'config/microtune.yaml': PRICED_CONFIG, 'packs/night-ferry.yaml': guestPack() });
    const rendered = run(['packs', 'render', 'night-ferry'], { cwd }).stdout.slice(0, -1);
    const tokens = countTokens(rendered);

    const result = run(['packs', 'stats', '--lang', 'en'], { cwd });
    const lines = result.stdout.trimEnd().split('\n');

    expect(result.code).toBe(0);
    expect(lines[0]).toMatch(/^Token counts use the o200k_base encoding .* estimates\.$/);
    expect(lines[1]).toBe(`night-ferry: ${tokens} tokens`);
    const perRequest = (tokens * 42) / 1_000_000;
    expect(lines[2]).toBe(
      `  alias ferry-cn (big-model on china, input 42 CNY per million tokens, alias price): ${perRequest.toLocaleString('en-US', { maximumSignificantDigits: 4 })} CNY per request, ${(perRequest * 1000).toLocaleString('en-US', { maximumSignificantDigits: 4 })} CNY per 1,000 requests`,
    );
    expect(lines[3]).toContain('alias ferry-default (small-model on default, input 2 USD per million tokens, upstream price)');
    expect(lines[4]).toBe(
      '  alias ferry-unpriced: no price configured (set inputPerMillion in aliases.ferry-unpriced.price or upstreams.china.price)',
    );
    expect(lines[5]).toMatch(/^Cost = pack tokens × input price/);
  });

  it('computes the bundled pack cost in Chinese', () => {
    const cwd = projects.make({
      'config/microtune.yaml': PRICED_CONFIG.replace('pack: night-ferry\n    upstream: china\n    model: big-model', 'pack: loyal-knight\n    upstream: china\n    model: big-model').replace('../packs', '../bundled'),
      'bundled/loyal-knight.yaml': readFileSync(path.join(REPO_ROOT, 'packs', 'loyal-knight.yaml')),
    });

    const result = run(['packs', 'stats', 'loyal-knight'], { cwd });

    expect(result.code).toBe(0);
    expect(result.stdout).toContain('loyal-knight：1950 个词元');
    expect(result.stdout).toContain('每次请求 0.0819 CNY，每 1,000 次请求 81.9 CNY');
  });

  it('says when no alias uses a pack', () => {
    const cwd = projects.make({
      'config/microtune.yaml': 'packsDir: ../packs\nupstreams:\n  default: { baseUrl: "http://127.0.0.1:9/v1" }\n',
      'packs/night-ferry.yaml': guestPack(),
    });

    const result = run(['packs', 'stats'], { cwd });

    expect(result.stdout).toContain('  没有别名使用这个 pack，无法估算费用。');
    expect(result.stdout).not.toContain('费用 = ');
  });

  it('counts tokens without a config', () => {
    const cwd = projects.make({ 'packs/night-ferry.yaml': guestPack() });

    const result = run(['packs', 'stats'], { cwd });

    expect(result.code).toBe(0);
    expect(result.stderr).toBe('没有找到配置文件，只统计词元数。\n');
    expect(result.stdout).toMatch(/^night-ferry：\d+ 个词元$/m);
  });

  it('counts with a {{user}} override', () => {
    const cwd = projects.make({ 'packs/night-ferry.yaml': guestPack() });
    const longName = '一位从很远很远的北方雪原上走了三个月才到这里的客人';

    const plain = run(['packs', 'stats', 'night-ferry'], { cwd }).stdout;
    const override = run(['packs', 'stats', 'night-ferry', '--user', longName], { cwd }).stdout;
    const count = (text: string) => Number(/night-ferry：(\d+)/.exec(text)?.[1]);

    expect(count(override)).toBeGreaterThan(count(plain));
  });

  it('exits 1 when a pack is left out', () => {
    const broken = ferryPack();
    broken.name = 'broken';
    broken.examples[0]!.thinking = '```\n乱了。';
    const cwd = projects.make({ 'packs/night-ferry.yaml': guestPack(), 'packs/broken.yaml': toYaml(broken) });

    const result = run(['packs', 'stats'], { cwd });

    expect(result.code).toBe(1);
    expect(result.stdout).toContain('night-ferry：');
    expect(result.stderr).toContain('packs/broken.yaml：这个 pack 不会被加载：');
  });

  it('exits 2 for an unknown pack', () => {
    expect(run(['packs', 'stats', 'no-such-pack']).code).toBe(2);
  });
});
