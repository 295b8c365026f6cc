import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';

import { loadPackFile, loadPackSet, type LoadedPack, type PackFailure } from '../../src/packs/load-packs.js';
import { renderPack } from '../../src/packs/render.js';

const folders: string[] = [];

/** Writes each entry (object → YAML or JSON by extension, string → as is) into a new temp folder. */
function writePacks(files: Record<string, unknown>): string {
  const folder = mkdtempSync(path.join(tmpdir(), 'microtune-packs-'));
  folders.push(folder);
  for (const [fileName, content] of Object.entries(files)) {
    let text: string;
    if (typeof content === 'string') text = content;
    else if (fileName.endsWith('.json')) text = JSON.stringify(content, null, 2);
    else text = toYaml(content);
    writeFileSync(path.join(folder, fileName), text);
  }
  return folder;
}

function rolePack(name: string): Record<string, unknown> {
  return {
    name,
    language: 'en',
    preamble: 'You play a ferry captain.',
    examples: [
      { user: 'When do we leave?', thinking: 'The tide turns at six. I will tell him plainly.', answer: '"At six."' },
      { user: 'Is it safe?', thinking: 'Fog is coming in. I will not lie to him.', answer: '"Safe enough."' },
    ],
  };
}

function expectFailure(result: LoadedPack | PackFailure): PackFailure {
  if ('pack' in result) throw new Error(`expected ${result.file} to fail, but pack "${result.name}" loaded`);
  return result;
}

afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

describe('loadPackSet', () => {
  it('loads good packs and leaves bad ones out', () => {
    const badPack = rolePack('bad');
    (badPack.examples as Record<string, unknown>[])[1] = { user: 'Is it safe?', thinking: 'Fog again.' };
    const folder = writePacks({
      'good.yaml': rolePack('good'),
      'bad.yaml': badPack,
      'wrong-name.yaml': rolePack('other-name'),
    });

    const set = loadPackSet(folder);
    const bad = set.failures.get('bad');
    const wrongName = set.failures.get('wrong-name');

    expect([...set.packs.keys()]).toEqual(['good']);
    expect([...set.failures.keys()].sort()).toEqual(['bad', 'wrong-name']);
    expect(set.packs.get('good')?.file).toBe(path.join(folder, 'good.yaml'));
    expect(set.packs.get('good')?.pack.examples).toHaveLength(2);
    expect(bad?.file).toBe(path.join(folder, 'bad.yaml'));
    expect(bad?.problem).toMatch(/^examples\[1\]\.answer: /);
    expect(wrongName?.file).toBe(path.join(folder, 'wrong-name.yaml'));
    expect(wrongName?.problem).toMatch(/^name: /);
    expect(wrongName?.problem).toContain('"other-name"');
    expect(wrongName?.problem).toContain('"wrong-name"');
  });

  it('lists every field problem of a pack', () => {
    const folder = writePacks({
      'broken.yaml': { name: 'broken', examples: [{ user: 'Hi', thinking: '   ', answer: 42 }] },
    });

    const problem = loadPackSet(folder).failures.get('broken')?.problem ?? '';

    expect(problem).toContain('examples[0].thinking: ');
    expect(problem).toContain('examples[0].answer: ');
  });

  it('accepts a JSON pack', () => {
    const folder = writePacks({ 'json-pack.json': rolePack('json-pack') });

    const set = loadPackSet(folder);

    expect(set.failures.size).toBe(0);
    expect(set.packs.get('json-pack')?.pack.examples).toHaveLength(2);
    expect(set.packs.get('json-pack')?.file).toBe(path.join(folder, 'json-pack.json'));
  });

  it('hashes YAML and JSON forms alike', () => {
    const folder = writePacks({ 'same.yaml': rolePack('same') });
    const jsonFolder = writePacks({ 'same.json': rolePack('same') });

    const fromYaml = loadPackSet(folder).packs.get('same');
    const fromJson = loadPackSet(jsonFolder).packs.get('same');

    expect(fromYaml?.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(fromJson?.hash).toBe(fromYaml?.hash);
    expect(fromJson?.pack).toEqual(fromYaml?.pack);
  });

  it('leaves out both files of a duplicate name', () => {
    const folder = writePacks({
      'twin.yaml': rolePack('twin'),
      'twin.json': rolePack('twin'),
      'single.yaml': rolePack('single'),
    });

    const set = loadPackSet(folder);
    const failure = set.failures.get('twin');

    expect(set.packs.has('twin')).toBe(false);
    expect(set.packs.has('single')).toBe(true);
    expect(failure?.problem).toContain('"twin"');
    expect(failure?.problem).toContain('already defines');
    expect([path.join(folder, 'twin.yaml'), path.join(folder, 'twin.json')]).toContain(failure?.file);
  });

  it('ignores other files and subfolders', () => {
    const folder = writePacks({ 'good.yaml': rolePack('good'), 'README.md': '# notes\n', 'good.yaml.bak': 'x: [' });
    mkdirSync(path.join(folder, 'nested.yaml'));

    const set = loadPackSet(folder);

    expect([...set.packs.keys()]).toEqual(['good']);
    expect(set.failures.size).toBe(0);
  });

  it('changes the set hash with a pack', () => {
    const before = loadPackSet(writePacks({ 'good.yaml': rolePack('good') })).hash;
    const changed = { ...rolePack('good'), preamble: 'You play a retired ferry captain.' };

    const after = loadPackSet(writePacks({ 'good.yaml': changed })).hash;
    const again = loadPackSet(writePacks({ 'good.yaml': rolePack('good') })).hash;

    expect(after).not.toBe(before);
    expect(again).toBe(before);
  });

  it('throws for a missing folder', () => {
    expect(() => loadPackSet(path.join(tmpdir(), 'microtune-no-such-folder', 'packs'))).toThrow();
  });
});

describe('loadPackFile', () => {
  it('rejects an unknown top-level key', () => {
    const folder = writePacks({ 'warm.yaml': { ...rolePack('warm'), temperature: 0.7 } });

    const failure = expectFailure(loadPackFile(path.join(folder, 'warm.yaml')));

    expect(failure.problem).toMatch(/^\(root\): /);
    expect(failure.problem).toContain('temperature');
  });

  it('rejects an unknown example key', () => {
    const pack = rolePack('moody');
    (pack.examples as Record<string, unknown>[])[0] = { user: 'Hi', thinking: 'Hm.', answer: 'Hello.', mood: 'calm' };
    const folder = writePacks({ 'moody.yaml': pack });

    const failure = expectFailure(loadPackFile(path.join(folder, 'moody.yaml')));

    expect(failure.problem).toMatch(/^examples\[0\]: /);
    expect(failure.problem).toContain('mood');
  });

  it('accepts a persona without examples', () => {
    const folder = writePacks({ 'persona.yaml': { name: 'persona', preamble: 'Be kind and brief.' } });

    const result = loadPackFile(path.join(folder, 'persona.yaml'));

    expect('problem' in result ? result.problem : undefined).toBeUndefined();
    expect('pack' in result ? result.pack.examples : undefined).toEqual([]);
  });

  it('requires a preamble without examples', () => {
    const folder = writePacks({ 'empty.yaml': { name: 'empty', preamble: '  \n', examples: [] } });

    const failure = expectFailure(loadPackFile(path.join(folder, 'empty.yaml')));

    expect(failure.problem).toMatch(/^preamble: /);
  });

  it.each(['Hero', 'hero_1', 'héros', 'hero.v2'])('rejects pack name %j', (name) => {
    const folder = writePacks({ [`${name}.yaml`]: rolePack(name) });

    const failure = expectFailure(loadPackFile(path.join(folder, `${name}.yaml`)));

    expect(failure.problem).toMatch(/^name: /);
  });

  it('rejects invalid YAML', () => {
    const folder = writePacks({ 'garbled.yaml': 'name: garbled\nexamples: [\n' });

    const failure = expectFailure(loadPackFile(path.join(folder, 'garbled.yaml')));

    expect(failure.name).toBe('garbled');
    expect(failure.problem).toMatch(/^cannot parse: /);
  });

  it('rejects invalid JSON', () => {
    const folder = writePacks({ 'garbled.json': '{"name": "garbled",' });

    const failure = expectFailure(loadPackFile(path.join(folder, 'garbled.json')));

    expect(failure.problem).toMatch(/^cannot parse: /);
  });

  it('rejects an empty file', () => {
    const folder = writePacks({ 'blank.yaml': '' });

    const failure = expectFailure(loadPackFile(path.join(folder, 'blank.yaml')));

    expect(failure.problem).toMatch(/^\(root\): /);
  });

  it('renders CRLF files like LF files', () => {
    const lf = [
      'name: lines',
      'preamble: |',
      '  First line.',
      '  Second line.',
      'examples:',
      '  - user: |',
      '      Hello?',
      '      Anyone there?',
      '    thinking: |',
      '      A knock at this hour. I will answer.',
      '    answer: |',
      '      "Coming."',
      '',
    ].join('\n');
    const folder = writePacks({ 'lines.yaml': lf });
    const crlfFolder = writePacks({ 'lines.yaml': lf.replace(/\n/g, '\r\n') });

    const fromLf = loadPackFile(path.join(folder, 'lines.yaml'));
    const fromCrlf = loadPackFile(path.join(crlfFolder, 'lines.yaml'));

    if (!('pack' in fromLf) || !('pack' in fromCrlf)) throw new Error('expected both files to load');
    expect(renderPack(fromCrlf.pack)).toBe(renderPack(fromLf.pack));
    expect(renderPack(fromCrlf.pack)).not.toContain('\r');
  });
});
