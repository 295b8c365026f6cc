import { describe, expect, it, vi } from 'vitest';

import { hashPack, type LoadedPack } from '../../src/packs/load-packs.js';
import { fillPlaceholders, findPlaceholders } from '../../src/packs/placeholders.js';
import { RenderCache, renderPackForProxy } from '../../src/packs/render-cache.js';
import { renderPack } from '../../src/packs/render.js';
import { packSchema, type Pack } from '../../src/packs/schema.js';

function lanternPack(fields: Partial<Pack> = {}): Pack {
  return packSchema.parse({
    name: 'lantern',
    language: 'en',
    char: 'Mira',
    user: 'traveller',
    preamble: 'You play {{char}}, who keeps the lantern. Call the visitor {{user}}. Ignore {{time}} and {{ char }}.',
    examples: [{ user: 'Hello?', thinking: 'A visitor. I will greet {{user}}.', answer: '"Welcome, {{User}}," says {{Char}}.' }],
    ...fields,
  });
}

function toLoaded(pack: Pack): LoadedPack {
  return { name: pack.name, file: `/virtual/${pack.name}.yaml`, pack, hash: hashPack(pack) };
}

describe('fillPlaceholders', () => {
  it('fills char and user in any case', () => {
    expect(fillPlaceholders('{{char}} {{Char}} {{USER}}', { char: 'Mira', user: 'Tom' })).toBe('Mira Mira Tom');
  });

  it('leaves unknown placeholders alone', () => {
    const text = '{{time}} {{random::a::b}} {{ char }} {{original}}';

    expect(fillPlaceholders(text, { char: 'Mira', user: 'Tom' })).toBe(text);
  });

  it('leaves a placeholder without a value alone', () => {
    expect(fillPlaceholders('{{char}} meets {{user}}', { char: 'Mira' })).toBe('Mira meets {{user}}');
  });

  it('does not expand placeholders inside values', () => {
    expect(fillPlaceholders('{{user}} and {{char}}', { user: '{{char}}', char: 'Mira' })).toBe('{{char}} and Mira');
  });

  it('finds the placeholders used', () => {
    expect([...findPlaceholders('{{Char}} {{time}}')]).toEqual(['char']);
    expect([...findPlaceholders('nothing here')]).toEqual([]);
  });
});

describe('RenderCache placeholders', () => {
  it('fills placeholders from the pack fields', () => {
    const rendered = new RenderCache().get(toLoaded(lanternPack()));

    expect(rendered.text).toContain('You play Mira, who keeps the lantern. Call the visitor traveller.');
    expect(rendered.text).toContain('"Welcome, traveller," says Mira.');
    expect(rendered.text).toContain('Ignore {{time}} and {{ char }}.');
    expect(rendered.text).toBe(renderPackForProxy(lanternPack()));
  });

  it('renders an override once and caches it', () => {
    const render = vi.fn((pack: Pack) => renderPack(pack));
    const cache = new RenderCache({ render });
    const loaded = toLoaded(lanternPack());

    const plain = cache.get(loaded);
    const first = cache.get(loaded, { user: 'Ada' });
    const second = cache.get({ ...loaded }, { user: 'Ada' });

    expect(first.text).toContain('"Welcome, Ada," says Mira.');
    expect(first.text).not.toContain('traveller');
    expect(JSON.parse(first.messageJson)).toEqual({ role: 'system', content: first.text });
    expect(second).toBe(first);
    expect(cache.renders).toBe(2);
    expect(render).toHaveBeenCalledTimes(1);
    expect(cache.get(loaded)).toBe(plain);
  });

  it('caches each distinct override', () => {
    const cache = new RenderCache();
    const loaded = toLoaded(lanternPack());

    const ada = cache.get(loaded, { user: 'Ada' });
    const tom = cache.get(loaded, { user: 'Tom' });

    expect(ada.text).not.toBe(tom.text);
    expect(cache.get(loaded, { user: 'Ada' })).toBe(ada);
    expect(cache.renders).toBe(3);
  });

  it('returns the plain object without a real override', () => {
    const cache = new RenderCache();
    const loaded = toLoaded(lanternPack());
    const plain = cache.get(loaded);

    expect(cache.get(loaded, {})).toBe(plain);
    expect(cache.get(loaded, { user: undefined })).toBe(plain);
    expect(cache.get(loaded, { user: 'traveller' })).toBe(plain);
    expect(cache.renders).toBe(1);
  });

  it('ignores an override when the pack has no {{user}}', () => {
    const cache = new RenderCache();
    const loaded = toLoaded(lanternPack({ preamble: 'You play {{char}}.', examples: [] }));
    const plain = cache.get(loaded);

    expect(cache.get(loaded, { user: 'Ada' })).toBe(plain);
    expect(plain.text).toBe('You play Mira.');
    expect(cache.renders).toBe(1);
  });

  it('keeps plain renderings when overrides overflow', () => {
    const cache = new RenderCache({ maxOverrides: 2 });
    const loaded = toLoaded(lanternPack());
    const plain = cache.get(loaded);

    for (let index = 0; index < 10; index += 1) cache.get(loaded, { user: `visitor ${index}` });

    expect(cache.get(loaded)).toBe(plain);
    expect(cache.renders).toBe(11);
  });

  it('fills an override into a pack without a user field', () => {
    const loaded = toLoaded(lanternPack({ user: undefined }));
    const cache = new RenderCache();

    expect(cache.get(loaded).text).toContain('Call the visitor {{user}}.');
    expect(cache.get(loaded, { user: 'Ada' }).text).toContain('Call the visitor Ada.');
  });
});
