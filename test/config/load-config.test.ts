import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { expandEnv, type ExpansionProblem } from '../../src/config/expand-env.js';
import { ConfigError, loadConfig, type Config } from '../../src/config/load-config.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const UPSTREAM_DEFAULT = 'upstreams:\n  default:\n    baseUrl: "http://127.0.0.1:9/v1"\n';

const folders: string[] = [];

/** Writes `text` to `<new temp folder>/config/microtune.yaml` and returns that file's absolute path. */
function writeConfig(text: string): string {
  const folder = mkdtempSync(path.join(tmpdir(), 'microtune-config-'));
  folders.push(folder);
  const file = path.join(folder, 'config', 'microtune.yaml');
  mkdirSync(path.dirname(file));
  writeFileSync(file, text);
  return file;
}

/** Loads a config that must be invalid and returns its ConfigError. */
function loadInvalid(file: string, env: Record<string, string | undefined> = {}): ConfigError {
  try {
    loadConfig(file, env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`expected ${file} to be rejected, but it loaded`);
}

afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

describe('loadConfig environment expansion', () => {
  const text = [
    'upstreams:',
    '  default:',
    '    baseUrl: "${BASE_URL:-http://127.0.0.1:11434/v1}"',
    '    apiKey: "${API_KEY:-sk-default}"',
    'aliases:',
    '  hero:',
    '    model: "${MODEL}"',
    '',
  ].join('\n');

  it('uses a set variable', () => {
    const config = loadConfig(writeConfig(text), {
      BASE_URL: 'https://api.example.test/v1',
      API_KEY: 'sk-set',
      MODEL: 'qwen3:8b',
    });

    expect(config.upstreams.default?.baseUrl).toBe('https://api.example.test/v1');
    expect(config.upstreams.default?.apiKey).toBe('sk-set');
    expect(config.aliases.hero?.model).toBe('qwen3:8b');
  });

  it('uses the default when unset', () => {
    const config = loadConfig(writeConfig(text), { MODEL: 'm' });

    expect(config.upstreams.default?.baseUrl).toBe('http://127.0.0.1:11434/v1');
    expect(config.upstreams.default?.apiKey).toBe('sk-default');
  });

  it('uses the default when empty', () => {
    const config = loadConfig(writeConfig(text), { BASE_URL: '', API_KEY: '', MODEL: 'm' });

    expect(config.upstreams.default?.baseUrl).toBe('http://127.0.0.1:11434/v1');
    expect(config.upstreams.default?.apiKey).toBe('sk-default');
  });

  it('accepts an empty default', () => {
    const file = writeConfig(`${UPSTREAM_DEFAULT}    apiKey: "\${API_KEY:-}"\n`);

    const config = loadConfig(file, {});

    expect(config.upstreams.default?.apiKey).toBe('');
  });

  it('keeps an empty value without a default', () => {
    const file = writeConfig(`${UPSTREAM_DEFAULT}    apiKey: "\${API_KEY}"\n`);

    const config = loadConfig(file, { API_KEY: '' });

    expect(config.upstreams.default?.apiKey).toBe('');
  });

  it('rejects an unset variable without default', () => {
    const file = writeConfig(text);

    const error = loadInvalid(file, {});

    const first = error.problems[0];

    // The schema may add its own problem for the empty string left behind,
    // so only the first problem is pinned down here.
    expect(first?.file).toBe(file);
    expect(first?.path).toBe('aliases.hero.model');
    expect(first?.message).toContain('MODEL');
    expect(first?.message).toContain('not set');
    expect(error.message.split('\n')[0]).toBe(`${file}: aliases.hero.model: ${first?.message}`);
  });

  it('expands several placeholders in one string', () => {
    const file = writeConfig(`${UPSTREAM_DEFAULT}    apiKey: "\${PREFIX}-\${MIDDLE:-m}-\${SUFFIX}"\n`);

    const config = loadConfig(file, { PREFIX: 'a', SUFFIX: 'z' });

    expect(config.upstreams.default?.apiKey).toBe('a-m-z');
  });

  it('treats $${ as a literal ${', () => {
    const file = writeConfig(`${UPSTREAM_DEFAULT}    apiKey: "$\${NOT_A_VARIABLE}-\${SET}"\n`);

    const config = loadConfig(file, { SET: 'x' });

    expect(config.upstreams.default?.apiKey).toBe('${NOT_A_VARIABLE}-x');
  });

  it('leaves document structure unchanged', () => {
    const file = writeConfig(`${UPSTREAM_DEFAULT}    apiKey: "\${KEY}"\n`);
    const yamlLooking = 'x\nextra: 1\n  - [a, b]\n# comment';

    const config = loadConfig(file, { KEY: yamlLooking });

    expect(config.upstreams.default?.apiKey).toBe(yamlLooking);
  });
});

describe('expandEnv', () => {
  it('reports array items by index', () => {
    const problems: ExpansionProblem[] = [];

    const result = expandEnv({ list: ['ok', '${MISSING}'] }, {}, problems);

    expect(result).toEqual({ list: ['ok', ''] });
    expect(problems).toHaveLength(1);
    expect(problems[0]?.path).toEqual(['list', 1]);
    expect(problems[0]?.message).toContain('MISSING');
  });

  it('passes non-string scalars through', () => {
    const problems: ExpansionProblem[] = [];

    const result = expandEnv({ n: 5, b: true, z: null }, {}, problems);

    expect(result).toEqual({ n: 5, b: true, z: null });
    expect(problems).toEqual([]);
  });
});

describe('loadConfig paths', () => {
  it('resolves packsDir against the config folder', () => {
    const file = writeConfig(`packsDir: ../packs\n${UPSTREAM_DEFAULT}`);

    const config = loadConfig(file, {});

    expect(config.packsPath).toBe(path.join(path.dirname(file), '..', 'packs'));
    expect(config.packsDir).toBe('../packs');
  });

  it('defaults packsDir to ../packs', () => {
    const file = writeConfig(UPSTREAM_DEFAULT);

    const config = loadConfig(file, {});

    expect(config.packsPath).toBe(path.resolve(path.dirname(file), '../packs'));
  });

  it('keeps an absolute packsDir', () => {
    const absolute = path.join(tmpdir(), 'microtune-absolute-packs');
    const file = writeConfig(`packsDir: "${absolute}"\n${UPSTREAM_DEFAULT}`);

    const config = loadConfig(file, {});

    expect(config.packsPath).toBe(absolute);
  });

  it('resolves packsDir from an expanded variable', () => {
    const file = writeConfig(`packsDir: "\${PACKS:-../packs}"\n${UPSTREAM_DEFAULT}`);

    const config = loadConfig(file, { PACKS: 'my-packs' });

    expect(config.packsPath).toBe(path.join(path.dirname(file), 'my-packs'));
  });

  it('records the absolute file for a relative path', () => {
    const file = writeConfig(UPSTREAM_DEFAULT);
    const relative = path.relative(process.cwd(), file);

    const config = loadConfig(relative, {});

    expect(config.file).toBe(file);
    expect(config.packsPath).toBe(path.resolve(path.dirname(file), '../packs'));
  });
});

describe('loadConfig validation', () => {
  it('rejects an unknown top-level key', () => {
    const file = writeConfig(`${UPSTREAM_DEFAULT}listen: 8080\n`);

    const error = loadInvalid(file);

    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]?.path).toBe('');
    expect(error.problems[0]?.message).toContain('listen');
    expect(error.message).toBe(`${file}: (root): ${error.problems[0]?.message}`);
  });

  it('rejects an unknown nested key with path', () => {
    const file = writeConfig(`${UPSTREAM_DEFAULT}    timeouts:\n      connect: 1000\n`);

    const error = loadInvalid(file);

    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]?.path).toBe('upstreams.default.timeouts');
    expect(error.problems[0]?.message).toContain('connect');
  });

  it('rejects an unknown alias key with path', () => {
    const file = writeConfig(`${UPSTREAM_DEFAULT}aliases:\n  hero:\n    model: m\n    temperature: 0.2\n`);

    const error = loadInvalid(file);

    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]?.path).toBe('aliases.hero');
    expect(error.problems[0]?.message).toContain('temperature');
  });

  it('reports several problems at once', () => {
    const file = writeConfig(
      [
        'listen: 8080',
        'upstreams:',
        '  default:',
        '    baseUrl: "http://127.0.0.1:9/v1"',
        '    apiKey: "${MISSING_KEY}"',
        '    retries: 3',
        'aliases:',
        '  hero:',
        '    model: m',
        '    upstream: elsewhere',
        '',
      ].join('\n'),
    );

    const error = loadInvalid(file);
    const lines = error.message.split('\n');

    expect(error.problems.map((problem) => problem.path).sort()).toEqual([
      '',
      'aliases.hero.upstream',
      'upstreams.default',
      'upstreams.default.apiKey',
    ]);
    expect(lines).toHaveLength(4);
    for (const line of lines) expect(line.startsWith(`${file}: `)).toBe(true);
  });

  it('reports type errors and alias problems together', () => {
    const file = writeConfig(
      [
        UPSTREAM_DEFAULT,
        'passthrough:',
        '  enabled: "yes"',
        'aliases:',
        '  hero:',
        '    model: m',
        '    upstream: elsewhere',
        '',
      ].join('\n'),
    );

    const error = loadInvalid(file);
    const paths = error.problems.map((problem) => problem.path);

    expect(paths).toContain('passthrough.enabled');
    expect(paths).toContain('aliases.hero.upstream');
  });

  it('rejects a wrongly typed field with path', () => {
    const file = writeConfig(`${UPSTREAM_DEFAULT}server:\n  bodyLimitBytes: -1\n`);

    const error = loadInvalid(file);

    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]?.path).toBe('server.bodyLimitBytes');
  });

  it('rejects a non-http baseUrl', () => {
    const file = writeConfig('upstreams:\n  default:\n    baseUrl: "ftp://example.test"\n');

    const error = loadInvalid(file);

    expect(error.problems).toEqual([
      { file, path: 'upstreams.default.baseUrl', message: 'must be an http:// or https:// URL' },
    ]);
  });

  it('requires the default upstream', () => {
    const file = writeConfig('upstreams:\n  other:\n    baseUrl: "http://127.0.0.1:9/v1"\n');

    const error = loadInvalid(file);

    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]?.path).toBe('upstreams');
    expect(error.problems[0]?.message).toContain('"default"');
  });

  it('requires the upstreams section', () => {
    const file = writeConfig('aliases: {}\n');

    const error = loadInvalid(file);

    expect(error.problems.map((problem) => problem.path)).toEqual(['upstreams']);
  });

  it('rejects an alias naming an unknown upstream', () => {
    const file = writeConfig(`${UPSTREAM_DEFAULT}aliases:\n  hero:\n    model: m\n    upstream: elsewhere\n`);

    const error = loadInvalid(file);

    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]?.path).toBe('aliases.hero.upstream');
    expect(error.problems[0]?.message).toContain('"elsewhere"');
  });

  it.each(['constructor', 'toString', 'hasOwnProperty'])('rejects inherited upstream name %s', (name) => {
    const file = writeConfig(`${UPSTREAM_DEFAULT}aliases:\n  hero:\n    model: m\n    upstream: ${name}\n`);

    const error = loadInvalid(file);

    expect(error.problems.map((problem) => problem.path)).toEqual(['aliases.hero.upstream']);
  });

  it('accepts an alias naming a defined upstream', () => {
    const file = writeConfig(
      `${UPSTREAM_DEFAULT}  second:\n    baseUrl: "https://second.example.test"\naliases:\n  hero:\n    model: m\n    upstream: second\n`,
    );

    const config = loadConfig(file, {});

    expect(config.aliases.hero?.upstream).toBe('second');
  });

  it('fills alias defaults', () => {
    const file = writeConfig(`${UPSTREAM_DEFAULT}aliases:\n  hero:\n    model: m\n`);

    const config = loadConfig(file, {});

    expect(config.aliases.hero).toMatchObject({
      upstream: 'default',
      model: 'm',
      thinking: 'keep',
      implicitThinkOpen: false,
      emptyAnswerFallback: true,
    });
    expect(config.passthrough.enabled).toBe(true);
  });

  it('rejects an empty alias key', () => {
    const file = writeConfig(`${UPSTREAM_DEFAULT}aliases:\n  "":\n    model: m\n`);

    const error = loadInvalid(file);

    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]?.path.startsWith('aliases')).toBe(true);
  });

  it('rejects invalid YAML', () => {
    const file = writeConfig('upstreams:\n  default: [1,\n  other: 2\n');

    const error = loadInvalid(file);

    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]?.file).toBe(file);
    expect(error.problems[0]?.path).toMatch(/^line \d+$/);
    expect(error.problems[0]?.message).toMatch(/^invalid YAML: /);
  });

  it('rejects a YAML scalar document', () => {
    const file = writeConfig('just a string\n');

    const error = loadInvalid(file);

    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]?.path).toBe('');
  });

  it('rejects a missing file', () => {
    const folder = mkdtempSync(path.join(tmpdir(), 'microtune-config-'));
    folders.push(folder);
    const file = path.join(folder, 'absent.yaml');

    const error = loadInvalid(file);

    expect(error.problems).toEqual([{ file, path: '', message: expect.stringContaining('not found') as string }]);
    expect(error.message).toBe(`${file}: (root): ${error.problems[0]?.message}`);
  });
});

describe('loadConfig result', () => {
  it('is deeply frozen', () => {
    const file = writeConfig(`${UPSTREAM_DEFAULT}aliases:\n  hero:\n    model: m\n`);
    const config = loadConfig(file, {});
    const hero = config.aliases.hero as Config['aliases'][string];

    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.aliases)).toBe(true);
    expect(Object.isFrozen(hero)).toBe(true);
    expect(Object.isFrozen(config.upstreams.default)).toBe(true);
    expect(Object.isFrozen(config.passthrough)).toBe(true);
    expect(Object.isFrozen(config.server)).toBe(true);
    expect(() => {
      hero.model = 'changed';
    }).toThrow(TypeError);
    expect(() => {
      (config.aliases as Record<string, unknown>).added = {};
    }).toThrow(TypeError);
    expect(hero.model).toBe('m');
  });
});

describe('start-up with an invalid config', () => {
  const BUILD_ATTEMPTS = 3;
  const RETRY_DELAY_MS = 10_000;
  const BUILD_TIMEOUT_MS = 60_000;
  let build: { status: number | null; output: string } = { status: null, output: 'build not run' };

  /** Runs the project's compiler once, asynchronously so vitest's hook timer keeps working. */
  function runBuild(): Promise<{ status: number | null; output: string }> {
    return new Promise((resolve) => {
      const tsc = path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
      const child = spawn(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
        cwd: REPO_ROOT,
        timeout: BUILD_TIMEOUT_MS,
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      child.on('close', (status) => resolve({ status, output }));
    });
  }

  // The build compiles all of src/, so one half-saved source file fails it.
  // Spaced retries let such a file settle before the test reports the compiler output.
  beforeAll(async () => {
    for (let attempt = 1; attempt <= BUILD_ATTEMPTS; attempt += 1) {
      build = await runBuild();
      if (build.status === 0) return;
      if (attempt < BUILD_ATTEMPTS) await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS));
    }
  }, BUILD_ATTEMPTS * (BUILD_TIMEOUT_MS + RETRY_DELAY_MS));

  it('exits 1 and prints every problem', () => {
    expect(build.status, `tsc -p tsconfig.build.json failed:\n${build.output}`).toBe(0);
    const file = writeConfig(
      [
        'listen: 8080',
        'upstreams:',
        '  default:',
        '    baseUrl: "http://127.0.0.1:9/v1"',
        '    apiKey: "${MICROTUNE_TEST_UNSET_KEY}"',
        '',
      ].join('\n'),
    );
    const env: Record<string, string | undefined> = {
      ...process.env,
      MICROTUNE_CONFIG: file,
      PORT: '0',
      HOST: '127.0.0.1',
    };
    delete env.MICROTUNE_TEST_UNSET_KEY;

    const result = spawnSync(process.execPath, [path.join(REPO_ROOT, 'dist', 'main.js')], {
      cwd: REPO_ROOT,
      env,
      encoding: 'utf8',
      timeout: 15_000,
    });
    const lines = result.stderr.trimEnd().split('\n');

    expect(result.signal, 'main.js was killed by the timeout, so it kept running').toBeNull();
    expect(result.status).toBe(1);
    expect(lines).toHaveLength(2);
    expect(lines.some((line) => line.startsWith(`${file}: (root): `) && line.includes('listen'))).toBe(true);
    expect(
      lines.some((line) =>
        line.startsWith(`${file}: upstreams.default.apiKey: environment variable MICROTUNE_TEST_UNSET_KEY`),
      ),
    ).toBe(true);
    expect(result.stdout).not.toContain('microtune ready');
  });
});
