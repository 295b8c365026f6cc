import { describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';

import { ConfigError, parseConfigText, type Config } from '../../src/config/load-config.js';
import { ProxyError } from '../../src/errors/proxy-error.js';
import { resolveModel } from '../../src/proxy/resolve-model.js';

/** Builds a validated config through the real parser, as the server does. */
function makeConfig(aliases: Record<string, unknown>, passthroughEnabled = true): Config {
  const text = toYaml({
    upstreams: {
      default: { baseUrl: 'http://127.0.0.1:9/v1' },
      second: { baseUrl: 'http://127.0.0.1:10/v1' },
    },
    passthrough: { enabled: passthroughEnabled },
    aliases,
  });
  return parseConfigText(text, '/virtual/microtune.yaml', {});
}

/** Calls resolveModel for a model that must be rejected and returns the ProxyError. */
function rejectModel(model: string, config: Config): ProxyError {
  try {
    resolveModel(model, config);
  } catch (error) {
    if (error instanceof ProxyError) return error;
    throw error;
  }
  throw new Error(`expected model "${model}" to be rejected, but it resolved`);
}

describe('resolveModel aliases', () => {
  it('resolves an exact alias', () => {
    const config = makeConfig({
      hero: { pack: 'hero', upstream: 'second', model: 'qwen3:8b', thinking: 'strip', implicitThinkOpen: true },
    });

    const route = resolveModel('hero', config);

    expect(route).toMatchObject({
      alias: 'hero',
      packName: 'hero',
      upstreamName: 'second',
      upstreamModel: 'qwen3:8b',
      thinking: 'strip',
      implicitThinkOpen: true,
      emptyAnswerFallback: true,
    });
  });

  it('resolves an alias without a pack', () => {
    const config = makeConfig({ fast: { model: 'small-model' } });

    const route = resolveModel('fast', config);

    expect(route.alias).toBe('fast');
    expect(route.packName).toBeUndefined();
    expect(route.upstreamName).toBe('default');
    expect(route.upstreamModel).toBe('small-model');
  });

  it.each(['gpt-4o-mini', 'a/b', 'qwen3:8b', 'pack:x/y', 'pack:', 'Hero Name', '中文别名', 'constructor', 'toString'])(
    'resolves odd alias key %j exactly',
    (key) => {
      const config = makeConfig({ [key]: { pack: 'hero', upstream: 'second', model: 'aliased-model' } });

      const route = resolveModel(key, config);

      expect(route.alias).toBe(key);
      expect(route.packName).toBe('hero');
      expect(route.upstreamName).toBe('second');
      expect(route.upstreamModel).toBe('aliased-model');
    },
  );

  it('prefers an alias over the ad-hoc form', () => {
    const config = makeConfig({ 'pack:x/y': { pack: 'other', upstream: 'second', model: 'z' } });

    const route = resolveModel('pack:x/y', config);

    expect(route.alias).toBe('pack:x/y');
    expect(route.packName).toBe('other');
    expect(route.upstreamName).toBe('second');
    expect(route.upstreamModel).toBe('z');
  });

  it('matches case and spacing exactly', () => {
    const config = makeConfig({ hero: { pack: 'hero', model: 'aliased-model' } });

    expect(resolveModel('Hero', config).alias).toBeNull();
    expect(resolveModel('hero ', config).alias).toBeNull();
    expect(resolveModel(' hero', config).alias).toBeNull();
  });

  it('ignores inherited property names', () => {
    const config = makeConfig({ hero: { model: 'aliased-model' } });

    for (const model of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      const route = resolveModel(model, config);

      expect(route.alias, model).toBeNull();
      expect(route.upstreamModel, model).toBe(model);
    }
  });

  it('keeps an alias named __proto__', () => {
    // A silently dropped alias would send its requests to passthrough, so
    // the config must either keep it or reject it.
    let config: Config;
    try {
      config = makeConfig({ ['__proto__']: { pack: 'hero', model: 'aliased-model' } });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return;
    }

    const route = resolveModel('__proto__', config);

    expect(route.alias).toBe('__proto__');
    expect(route.upstreamModel).toBe('aliased-model');
  });

  it('resolves aliases with passthrough off', () => {
    const config = makeConfig({ hero: { pack: 'hero', model: 'aliased-model' } }, false);

    const route = resolveModel('hero', config);

    expect(route.alias).toBe('hero');
    expect(route.upstreamModel).toBe('aliased-model');
  });
});

describe('resolveModel passthrough', () => {
  it.each(['gpt-4o-mini', 'qwen/qwen3:8b', 'llama3.1:8b-instruct-q4_K_M', 'hero '])(
    'sends %j unchanged to default',
    (model) => {
      const config = makeConfig({ hero: { pack: 'hero', upstream: 'second', model: 'aliased-model' } });

      const route = resolveModel(model, config);

      expect(route).toMatchObject({
        alias: null,
        packName: undefined,
        upstreamName: 'default',
        upstreamModel: model,
        thinking: 'keep',
        implicitThinkOpen: false,
        emptyAnswerFallback: true,
      });
      expect(route.packName).toBeUndefined();
    },
  );

  it('returns 404 model_not_found when off', () => {
    const config = makeConfig({ hero: { model: 'aliased-model' } }, false);

    const error = rejectModel('gpt-4o-mini', config);

    expect(error.status).toBe(404);
    expect(error.code).toBe('model_not_found');
    expect(error.param).toBe('model');
    expect(error.message).toContain('"gpt-4o-mini"');
  });

  it('rejects the ad-hoc form when off', () => {
    const config = makeConfig({}, false);

    const error = rejectModel('pack:hero/qwen3:8b', config);

    expect(error.status).toBe(404);
    expect(error.code).toBe('model_not_found');
  });
});

describe('resolveModel ad-hoc form', () => {
  it('splits at the first slash', () => {
    const config = makeConfig({});

    const route = resolveModel('pack:hero/qwen/qwen3:8b', config);

    expect(route).toMatchObject({
      alias: null,
      packName: 'hero',
      upstreamName: 'default',
      upstreamModel: 'qwen/qwen3:8b',
      thinking: 'keep',
      implicitThinkOpen: false,
      emptyAnswerFallback: true,
    });
  });

  it.each([
    ['pack:hero/qwen3:8b', 'hero', 'qwen3:8b'],
    ['pack:loyal-knight/gpt-4o-mini', 'loyal-knight', 'gpt-4o-mini'],
    ['pack:a/b/c/d', 'a', 'b/c/d'],
    ['pack:a//b', 'a', '/b'],
    ['pack:a/ spaced model ', 'a', ' spaced model '],
  ])('splits %j', (model, packName, upstreamModel) => {
    const route = resolveModel(model, makeConfig({}));

    expect(route.packName).toBe(packName);
    expect(route.upstreamModel).toBe(upstreamModel);
    expect(route.upstreamName).toBe('default');
  });

  it('uses default even when an alias names another upstream', () => {
    const config = makeConfig({ hero: { pack: 'hero', upstream: 'second', model: 'aliased-model' } });

    const route = resolveModel('pack:hero/qwen3:8b', config);

    expect(route.upstreamName).toBe('default');
    expect(route.alias).toBeNull();
  });

  it.each(['pack:', 'pack:hero', 'pack:/qwen3:8b', 'pack:hero/', 'pack:/'])('rejects malformed %j with 400', (model) => {
    const error = rejectModel(model, makeConfig({}));

    expect(error.status).toBe(400);
    expect(error.type).toBe('invalid_request_error');
    expect(error.param).toBe('model');
    expect(error.message).toContain(JSON.stringify(model));
  });
});
