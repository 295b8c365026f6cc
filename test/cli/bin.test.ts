import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

import { REPO_ROOT, STACK_FRAME } from './helpers.js';

const BIN = path.join(REPO_ROOT, 'dist', 'cli', 'main.js');
const TSC = path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

function runBin(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [BIN, ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', ...env },
    timeout: 30_000,
  });
}

describe('built bin', () => {
  beforeAll(() => {
    const started = Date.now();
    const build = spawnSync(process.execPath, [TSC, '-p', 'tsconfig.build.json'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 120_000,
    });
    // NOTE: tsc still emits when another part of src has a type error. The
    // typecheck step reports those errors, so this test only needs a fresh bin.
    const builtAt = statSync(BIN).mtimeMs;
    if (builtAt < started - 1000) {
      throw new Error(`tsc did not write ${BIN}:\n${build.stdout}${build.stderr}`);
    }
  }, 150_000);

  it('starts with a node shebang', () => {
    expect(readFileSync(BIN, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
  });

  it('lints the bundled packs', () => {
    const result = runBin(['packs', 'lint']);

    expect(result.status).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe('检查了 4 个文件：0 个错误，0 个警告，0 条提示。\n');
  });

  it('renders a pack in English mode', () => {
    const golden = readFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'packs-golden', 'court-strategist.txt'), 'utf8');

    const result = runBin(['packs', 'render', 'court-strategist'], { LANG: 'en_US.UTF-8' });

    expect(result.status).toBe(0);
    expect(result.stdout).toBe(`${golden}\n`);
  });

  it('exits 2 on bad input without a stack trace', () => {
    const result = runBin(['packs', 'render', 'no-such-pack', '--lang', 'en']);

    expect(result.status).toBe(2);
    expect(result.stderr).toBe('No pack named "no-such-pack" in packs.\n');
    expect(result.stderr).not.toMatch(STACK_FRAME);
  });
});
