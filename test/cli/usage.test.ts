import { describe, expect, it } from 'vitest';

import { run, STACK_FRAME } from './helpers.js';

describe('usage', () => {
  it('prints help on stdout and exits 0', () => {
    for (const argv of [['--help'], ['packs', '-h'], ['packs', 'lint', '--help']]) {
      const result = run(argv);

      expect(result.code, argv.join(' ')).toBe(0);
      expect(result.stdout, argv.join(' ')).toMatch(/^用法：microtune packs <命令>/);
    }
  });

  it('prints English help', () => {
    expect(run(['--help', '--lang', 'en']).stdout).toMatch(/^Usage: microtune packs <command>/);
  });

  it('exits 2 without a command', () => {
    const result = run([]);

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^缺少命令。\n\n用法：/);
  });

  it('exits 2 for packs without a subcommand', () => {
    expect(run(['packs']).code).toBe(2);
  });

  it.each([
    [['serve'], '未知命令“serve”'],
    [['packs', 'publish'], '未知命令“packs publish”'],
    [['packs', 'lint', '--force'], '选项 --force 不能用于 packs lint。'],
    [['packs', 'import', 'a.txt', '--user', 'x'], '选项 --user 不能用于 packs import。'],
    [['packs', 'lint', 'a', 'b'], 'packs lint 的参数太多：b'],
    [['packs', 'new'], 'packs new 缺少参数 <名字>。'],
    [['packs', 'import'], 'packs import 缺少参数 <文件>。'],
    [['packs', 'lint', '--colour'], '未知选项 --colour。'],
    [['packs', 'import', 'a.txt', '-o'], '选项 -o, --output 需要一个值。'],
  ])('exits 2 for %j', (argv, text) => {
    const result = run(argv);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain(text);
    expect(result.stderr).toContain('运行 microtune --help 查看用法。');
    expect(result.stderr).not.toMatch(STACK_FRAME);
  });
});
