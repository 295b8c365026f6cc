import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';

import { ferryPack } from '../packs-toolkit/helpers.js';
import { run, STACK_FRAME, TempProjects } from './helpers.js';

const projects = new TempProjects();
afterAll(() => projects.cleanup());

const CONFIG = (packsDir: string) =>
  `packsDir: ${packsDir}\nupstreams:\n  default: { baseUrl: "http://127.0.0.1:9/v1" }\naliases: {}\n`;

function fencePack(): string {
  const pack = ferryPack();
  pack.examples[0]!.thinking = '浪很大。\n```\n我先让他坐稳。';
  return toYaml(pack);
}

function vaguePack(): string {
  const pack = ferryPack();
  pack.examples[1]!.user = '你是谁？';
  return toYaml(pack);
}

describe('packs lint', () => {
  it('passes the bundled packs with no findings', () => {
    const result = run(['packs', 'lint']);

    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe('检查了 4 个文件：0 个错误，0 个警告，0 条提示。\n');
  });

  it('prints one line per finding and exits 1 on an error', () => {
    const cwd = projects.make({ 'packs/night-ferry.yaml': fencePack() });

    const result = run(['packs', 'lint', 'packs/night-ferry.yaml'], { cwd });
    const lines = result.stdout.trimEnd().split('\n');

    expect(result.code).toBe(1);
    expect(lines).toContain(
      'packs/night-ferry.yaml:14 error fence-in-thinking examples[0].thinking: 独白里有以 ``` 开头的行，它会提前关闭 ```thinking 代码块；去掉这一行或改写',
    );
    for (const line of lines) expect(line).toMatch(/^packs\/night-ferry\.yaml:\d+ (error|warning|info) [a-z-]+ \S/);
    expect(result.stderr).toContain('1 个错误');
  });

  it('exits 0 with warnings only', () => {
    const cwd = projects.make({ 'packs/night-ferry.yaml': vaguePack() });

    const result = run(['packs', 'lint', 'packs'], { cwd });

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^packs\/night-ferry\.yaml:\d+ warning vague-request examples\[1\]\.user: /m);
    expect(result.stdout).not.toContain('duplicate-name');
    expect(result.stderr).toBe('检查了 1 个文件：0 个错误，1 个警告，1 条提示。\n');
  });

  it('reports two files of one pack name', () => {
    const cwd = projects.make({
      'packs/night-ferry.yaml': toYaml(ferryPack()),
      'packs/night-ferry.json': JSON.stringify(ferryPack()),
    });

    const result = run(['packs', 'lint'], { cwd });

    expect(result.code).toBe(1);
    expect(result.stdout).toContain('packs/night-ferry.json:1 error duplicate-name ');
    expect(result.stdout).toContain('packs/night-ferry.yaml:1 error duplicate-name ');
  });

  it('lints raw prompt files', () => {
    const cwd = projects.make({ 'packs/teahouse.md': '<example>\n<human_message>\n你好\n</human_message>\n</example>\n' });

    const result = run(['packs', 'lint'], { cwd });

    expect(result.code).toBe(1);
    expect(result.stdout).toContain('packs/teahouse.md:1 error prompt-layout 第 1 个 <example> 里 </human_message> 之后没有 <assistant_response>');
  });

  it('uses the packs folder of the default config', () => {
    const cwd = projects.make({
      'config/microtune.yaml': CONFIG('../my-packs'),
      'my-packs/night-ferry.yaml': fencePack(),
    });

    const result = run(['packs', 'lint'], { cwd });

    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^my-packs\/night-ferry\.yaml:14 error fence-in-thinking/m);
  });

  it('uses MICROTUNE_CONFIG and --config', () => {
    const cwd = projects.make({
      'other.yaml': CONFIG('./other-packs'),
      'other-packs/night-ferry.yaml': vaguePack(),
      'packs/night-ferry.yaml': fencePack(),
    });

    const fromEnv = run(['packs', 'lint'], { cwd, env: { MICROTUNE_CONFIG: 'other.yaml' } });
    const fromOption = run(['packs', 'lint', '--config', 'other.yaml'], { cwd });
    const fallback = run(['packs', 'lint'], { cwd });

    expect(fromEnv.code).toBe(0);
    expect(fromEnv.stdout).toContain('other-packs/night-ferry.yaml:');
    expect(fromOption.stdout).toBe(fromEnv.stdout);
    expect(fallback.code).toBe(1);
    expect(fallback.stdout).toContain('packs/night-ferry.yaml:14 error');
  });

  it('exits 2 for a missing file', () => {
    const result = run(['packs', 'lint', 'packs/no-such-pack.yaml']);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe('无法读取 packs/no-such-pack.yaml：文件或目录不存在\n');
  });

  it('exits 2 for an unsupported file type', () => {
    const result = run(['packs', 'lint', 'vitest.config.ts']);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('不支持的文件类型：vitest.config.ts');
  });

  it('exits 2 for a folder without packs', () => {
    const cwd = projects.make({ 'empty/README.md': '# notes\n' });

    const result = run(['packs', 'lint', 'empty'], { cwd });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('empty 里没有 pack 文件');
  });

  it('exits 2 for a named config that is missing', () => {
    const result = run(['packs', 'lint', '--config', 'no/such/config.yaml']);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('无法读取 no/such/config.yaml');
  });

  it('exits 2 for an invalid config without a stack trace', () => {
    const cwd = projects.make({ 'config/microtune.yaml': 'packsDir: [\n' });

    const result = run(['packs', 'lint'], { cwd });

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^配置文件无效：\n.*microtune\.yaml: line \d+: invalid YAML/);
    expect(result.stderr).not.toMatch(STACK_FRAME);
  });
});

describe('message language', () => {
  const cwd = projects.make({ 'packs/night-ferry.yaml': vaguePack() });
  const chinese = /示例 2 的请求太短/;
  const english = /the request of example 2 is short/;

  it('is Chinese by default', () => {
    const result = run(['packs', 'lint'], { cwd });

    expect(result.stdout).toMatch(chinese);
    expect(result.stderr).toContain('检查了 1 个文件');
  });

  it('is English with --lang en', () => {
    const result = run(['packs', 'lint', '--lang', 'en'], { cwd });

    expect(result.stdout).toMatch(english);
    expect(result.stderr).toBe('Checked 1 file: 0 errors, 1 warning, 1 note.\n');
  });

  it('is English with LANG=en_US.UTF-8', () => {
    const result = run(['packs', 'lint'], { cwd, env: { LANG: 'en_US.UTF-8' } });

    expect(result.stdout).toMatch(english);
  });

  it('is English with LC_ALL=en_GB.UTF-8', () => {
    expect(run(['packs', 'lint'], { cwd, env: { LC_ALL: 'en_GB.UTF-8', LANG: 'zh_CN.UTF-8' } }).stdout).toMatch(english);
  });

  it('lets LC_ALL win over LANG', () => {
    expect(run(['packs', 'lint'], { cwd, env: { LC_ALL: 'zh_CN.UTF-8', LANG: 'en_US.UTF-8' } }).stdout).toMatch(chinese);
  });

  it('lets --lang zh win over LANG', () => {
    expect(run(['packs', 'lint', '--lang=zh'], { cwd, env: { LANG: 'en_US.UTF-8' } }).stdout).toMatch(chinese);
  });

  it('rejects an unknown --lang', () => {
    const result = run(['packs', 'lint', '--lang', 'fr'], { cwd });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--lang 的值“fr”无效');
  });

  it('reports a usage error in English', () => {
    const result = run(['packs', 'frobnicate', '--lang', 'en']);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'Unknown command "packs frobnicate". Commands: packs lint, packs render, packs stats, packs new, packs import.\nRun microtune --help for usage.\n',
    );
  });
});

describe('packs lint paths', () => {
  it('shows absolute paths outside the working folder', () => {
    const folder = projects.make({ 'night-ferry.yaml': fencePack() });

    const result = run(['packs', 'lint', path.join(folder, 'night-ferry.yaml')]);

    expect(result.stdout.startsWith(`${path.join(folder, 'night-ferry.yaml')}:14 error`)).toBe(true);
  });
});
