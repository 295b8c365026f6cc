import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';

import { hashPack, type LoadedPack } from '../../src/packs/load-packs.js';
import { RenderCache } from '../../src/packs/render-cache.js';
import { renderPack } from '../../src/packs/render.js';
import { packSchema, type Pack } from '../../src/packs/schema.js';

const GOLDEN_FOLDER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/packs-golden');

/** A small English pack whose rendering is written out by hand in lighthouse-keeper.txt. */
const LIGHTHOUSE_KEEPER: Pack = packSchema.parse({
  name: 'lighthouse-keeper',
  title: 'Lighthouse keeper',
  language: 'en',
  char: 'Mira',
  preamble: '\n  You play Mira, the keeper of the Gull Point lighthouse.\nShe is curt but kind.\n\n',
  examples: [
    {
      user: 'Is the light still on?\n',
      thinking:
        'He sounds frightened. The lamp has never failed, and saying so plainly will calm him. I will answer short and steady.\n',
      answer: '*taps the glass* "Forty years, and it has not gone out once."\n',
    },
    {
      user: '  Can I come up the stairs?  ',
      thinking: 'The third step is cracked.\n\nI will let him up but warn him first.',
      answer: '"Come up."\n\n*holds the lantern lower* "Mind the third step."',
    },
  ],
});

const EXAMPLES_START = '\n\n<examples>\n';

function withExamples(fields: Partial<Pack>): Pack {
  return packSchema.parse({
    name: 'sample',
    examples: [{ user: 'Hello?', thinking: 'Someone is at the door. I will open it.', answer: '"Come in."' }],
    ...fields,
  });
}

function toLoaded(pack: Pack): LoadedPack {
  return { name: pack.name, file: `/virtual/${pack.name}.yaml`, pack, hash: hashPack(pack) };
}

describe('renderPack', () => {
  it('matches the golden file', () => {
    const golden = readFileSync(path.join(GOLDEN_FOLDER, 'lighthouse-keeper.txt'), 'utf8');

    expect(renderPack(LIGHTHOUSE_KEEPER)).toBe(golden);
  });

  it('lays out each example', () => {
    const rendered = renderPack(LIGHTHOUSE_KEEPER);
    const examples = rendered.match(/<example>\n[\s\S]*?\n<\/example>/g) ?? [];

    expect(examples).toHaveLength(LIGHTHOUSE_KEEPER.examples.length);
    for (const example of examples) {
      expect(example).toMatch(
        /^<example>\n<human_message>\n[\s\S]+\n<\/human_message>\n<assistant_response>\n```thinking\n[\s\S]+\n```\n[\s\S]+\n<\/assistant_response>\n<\/example>$/,
      );
    }
    expect(rendered.endsWith('\n</examples>')).toBe(true);
  });

  it('renders a plain persona as its trimmed preamble', () => {
    const pack = packSchema.parse({ name: 'plain', preamble: '\n\n  Be brief.\n  Be kind.  \n\n' });

    expect(renderPack(pack)).toBe('Be brief.\n  Be kind.');
  });

  it('uses English framing without a preamble', () => {
    for (const language of ['en', 'en-GB']) {
      const rendered = renderPack(withExamples({ language }));
      const cut = rendered.indexOf(EXAMPLES_START);
      const framing = rendered.slice(0, cut);

      expect(cut, language).toBeGreaterThan(0);
      expect(framing, language).toContain('```thinking');
      expect(framing, language).toMatch(/^[\x20-\x7e]+$/);
    }
  });

  it('uses Chinese framing by default', () => {
    const english = renderPack(withExamples({ language: 'en' }));

    for (const language of [undefined, 'zh-CN']) {
      const rendered = renderPack(withExamples({ language }));
      const cut = rendered.indexOf(EXAMPLES_START);
      const framing = rendered.slice(0, cut);

      expect(cut, String(language)).toBeGreaterThan(0);
      expect(framing, String(language)).toContain('```thinking');
      expect(framing, String(language)).toMatch(/[\u4e00-\u9fff]/);
      expect(rendered.slice(cut), String(language)).toBe(english.slice(english.indexOf(EXAMPLES_START)));
    }
  });

  it('treats a blank preamble as missing', () => {
    const blank = renderPack(withExamples({ language: 'en', preamble: '  \n\t\n' }));
    const missing = renderPack(withExamples({ language: 'en' }));

    expect(blank).toBe(missing);
  });

  it('puts the preamble before the examples', () => {
    const rendered = renderPack(withExamples({ preamble: '  Stay in character.\n' }));

    expect(rendered.startsWith(`Stay in character.${EXAMPLES_START}<example>\n`)).toBe(true);
  });

  it('is byte-identical on repeat', () => {
    const first = renderPack(LIGHTHOUSE_KEEPER);
    const second = renderPack(LIGHTHOUSE_KEEPER);
    const fromCopy = renderPack(structuredClone(LIGHTHOUSE_KEEPER));

    expect(Buffer.from(second, 'utf8').equals(Buffer.from(first, 'utf8'))).toBe(true);
    expect(Buffer.from(fromCopy, 'utf8').equals(Buffer.from(first, 'utf8'))).toBe(true);
  });

  it('normalises CRLF and CR line endings', () => {
    const toCrlf = (text: string) => text.replace(/\n/g, '\r\n');
    const crlfPack: Pack = {
      ...LIGHTHOUSE_KEEPER,
      preamble: toCrlf(LIGHTHOUSE_KEEPER.preamble ?? ''),
      examples: LIGHTHOUSE_KEEPER.examples.map((example) => ({
        user: toCrlf(example.user),
        thinking: toCrlf(example.thinking),
        answer: example.answer.replace(/\n/g, '\r'),
      })),
    };

    const rendered = renderPack(crlfPack);

    expect(rendered).not.toContain('\r');
    expect(rendered).toBe(renderPack(LIGHTHOUSE_KEEPER));
  });

  it('normalises CRLF in a plain persona', () => {
    const pack = packSchema.parse({ name: 'plain', preamble: 'Line one.\r\nLine two.\r\n' });

    expect(renderPack(pack)).toBe('Line one.\nLine two.');
  });
});

describe('RenderCache', () => {
  it('does not re-render on a hit', () => {
    const render = vi.fn((pack: Pack) => renderPack(pack));
    const cache = new RenderCache({ render });
    const loaded = toLoaded(LIGHTHOUSE_KEEPER);

    const first = cache.get(loaded);
    const second = cache.get(loaded);
    const third = cache.get({ ...loaded });

    expect(cache.renders).toBe(1);
    expect(render).toHaveBeenCalledTimes(1);
    expect(render).toHaveBeenCalledWith(LIGHTHOUSE_KEEPER);
    expect(second).toBe(first);
    expect(third).toBe(first);
  });

  it('renders with renderPack by default', () => {
    const cache = new RenderCache();

    const rendered = cache.get(toLoaded(LIGHTHOUSE_KEEPER));

    expect(rendered.text).toBe(renderPack(LIGHTHOUSE_KEEPER));
    expect(cache.renders).toBe(1);
  });

  it('serialises the system message', () => {
    const cache = new RenderCache();

    const rendered = cache.get(toLoaded(LIGHTHOUSE_KEEPER));

    expect(JSON.parse(rendered.messageJson)).toEqual({ role: 'system', content: rendered.text });
  });

  it('re-renders a changed pack', () => {
    const render = vi.fn((pack: Pack) => renderPack(pack));
    const cache = new RenderCache({ render });
    const original = toLoaded(LIGHTHOUSE_KEEPER);
    const changedPack: Pack = { ...LIGHTHOUSE_KEEPER, preamble: 'You play Mira, now retired.' };
    const changed = toLoaded(changedPack);

    const before = cache.get(original);
    const after = cache.get(changed);

    expect(changed.hash).not.toBe(original.hash);
    expect(cache.renders).toBe(2);
    expect(render).toHaveBeenCalledTimes(2);
    expect(render).toHaveBeenLastCalledWith(changedPack);
    expect(after.text).not.toBe(before.text);
    expect(after.text.startsWith('You play Mira, now retired.')).toBe(true);
  });

  it('keys entries by pack name too', () => {
    const render = vi.fn((pack: Pack) => renderPack(pack));
    const cache = new RenderCache({ render });
    const loaded = toLoaded(LIGHTHOUSE_KEEPER);

    cache.get(loaded);
    cache.get({ ...loaded, name: 'lighthouse-copy' });

    expect(cache.renders).toBe(2);
    expect(render).toHaveBeenCalledTimes(2);
  });

  it('evicts the least recently used entry', () => {
    const render = vi.fn((pack: Pack) => renderPack(pack));
    const cache = new RenderCache({ max: 2, render });
    const first = toLoaded(withExamples({ name: 'first' }));
    const second = toLoaded(withExamples({ name: 'second' }));
    const third = toLoaded(withExamples({ name: 'third' }));

    cache.get(first);
    cache.get(second);
    cache.get(first);
    cache.get(third);
    expect(cache.renders).toBe(3);

    cache.get(first);
    expect(cache.renders).toBe(3);

    cache.get(second);
    expect(cache.renders).toBe(4);
    expect(render).toHaveBeenCalledTimes(4);
  });
});
