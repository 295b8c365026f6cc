import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

import { loadConfig } from '../../src/config/load-config.js';
import { loadPackSet } from '../../src/packs/load-packs.js';
import { renderPack } from '../../src/packs/render.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PACKS_FOLDER = path.join(REPO_ROOT, 'packs');
const GOLDEN_FOLDER = path.join(REPO_ROOT, 'test', 'fixtures', 'packs-golden');
const CONFIG_FILE = path.join(REPO_ROOT, 'config', 'microtune.yaml');

/** The general-assistant persona pack. Every other bundled pack plays a role. */
const PERSONA_PACK = 'default';

const packFiles = readdirSync(PACKS_FOLDER)
  .filter((fileName) => /\.(ya?ml|json)$/.test(fileName))
  .sort();
const packNames = packFiles.map((fileName) => path.basename(fileName, path.extname(fileName)));
const packSet = loadPackSet(PACKS_FOLDER);

describe('bundled packs', () => {
  it('load without failures', () => {
    const failures = [...packSet.failures.values()].map((failure) => `${failure.file}: ${failure.problem}`);

    expect(failures).toEqual([]);
    expect([...packSet.packs.keys()].sort()).toEqual(packNames);
    expect(packNames).toContain(PERSONA_PACK);
  });

  it.each(packNames.filter((name) => name !== PERSONA_PACK))('role pack %s has two or more examples', (name) => {
    expect(packSet.packs.get(name)?.pack.examples.length).toBeGreaterThanOrEqual(2);
  });

  it.each(packNames)('%s renders to its golden file', (name) => {
    // Each golden file is renderPack's output for the pack, checked by reading,
    // with no trailing newline. Rewrite one only when a pack or the layout changes on purpose.
    const loaded = packSet.packs.get(name);
    const golden = readFileSync(path.join(GOLDEN_FOLDER, `${name}.txt`), 'utf8');

    expect(loaded, `pack ${name} did not load`).toBeDefined();
    expect(renderPack(loaded!.pack)).toBe(golden);
  });
});

describe('bundled config', () => {
  const config = loadConfig(CONFIG_FILE, {});

  it('uses the repository packs folder', () => {
    expect(config.packsPath).toBe(PACKS_FOLDER);
  });

  it('applies defaults with an empty environment', () => {
    expect(config.upstreams.default?.baseUrl).toBe('http://127.0.0.1:11434/v1');
    expect(config.upstreams.default?.apiKey).toBe('');
    for (const [name, alias] of Object.entries(config.aliases)) {
      expect(alias.model, name).not.toBe('');
      expect(alias.model, name).not.toContain('${');
    }
    expect(config.aliases['microtune-default']?.model).toBe('qwen3:8b');
  });

  it('has aliases', () => {
    expect(Object.keys(config.aliases).length).toBeGreaterThan(0);
  });

  it.each(Object.keys(config.aliases))('alias %s names a loaded pack', (name) => {
    const packName = config.aliases[name]?.pack;

    expect(packName, `alias ${name} has no pack`).toBeDefined();
    expect(packSet.packs.has(packName!), `alias ${name} names pack "${packName}"`).toBe(true);
  });
});
