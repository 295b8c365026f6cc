import type { Pack, PackExample } from './schema.js';

/** Framing used when a pack with examples has no preamble of its own. */
const DEFAULT_FRAMING: Record<'zh' | 'en', string> = {
  zh: '下面的示例展示了你要扮演的角色。每次回复前，先在 ```thinking 代码块里写下角色的内心独白，然后以角色的身份作答。',
  en: 'The examples below show the character you play. Before each reply, write the character\'s inner monologue in a ```thinking fenced block, then answer in character.',
};

function normalise(text: string): string {
  return text.replace(/\r\n?/g, '\n').trim();
}

function defaultFraming(language: string | undefined): string {
  return language !== undefined && language.toLowerCase().startsWith('en') ? DEFAULT_FRAMING.en : DEFAULT_FRAMING.zh;
}

function renderExample(example: PackExample): string {
  return [
    '<example>',
    '<human_message>',
    normalise(example.user),
    '</human_message>',
    '<assistant_response>',
    '```thinking',
    normalise(example.thinking),
    '```',
    normalise(example.answer),
    '</assistant_response>',
    '</example>',
  ].join('\n');
}

/**
 * Renders a pack into the system prompt the upstream receives: the preamble,
 * then the examples in the three-part layout. The output depends only on the
 * pack's fields, so the same pack always gives the same bytes and upstream
 * prefix caches keep hitting.
 */
export function renderPack(pack: Pack): string {
  const preamble = pack.preamble !== undefined && pack.preamble.trim() !== '' ? normalise(pack.preamble) : undefined;
  if (pack.examples.length === 0) {
    return preamble ?? '';
  }
  const examples = pack.examples.map(renderExample).join('\n');
  return `${preamble ?? defaultFraming(pack.language)}\n\n<examples>\n${examples}\n</examples>`;
}
