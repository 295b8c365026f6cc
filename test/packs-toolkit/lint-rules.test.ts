import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

import { PLACEHOLDER_MONOLOGUE } from '../../src/packs/fill-in.js';
import { LINT_RULES, RECOMMENDED_MIN_TOKENS } from '../../src/packs/lint.js';
import { lintPackSource } from '../../src/packs/lint.js';
import { readPackSource } from '../../src/packs/pack-source.js';
import { ferryPack, findingsOf, lintObject, lintText, rulesOf } from './helpers.js';

const PACKS_FOLDER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../packs');

function withExample(index: number, change: Partial<{ user: string; thinking: string; answer: string }>) {
  const pack = ferryPack();
  pack.examples[index] = { ...pack.examples[index]!, ...change };
  return pack;
}

describe('bundled packs', () => {
  const files = readdirSync(PACKS_FOLDER).filter((file) => /\.(ya?ml|json)$/.test(file));

  it.each(files)('%s has no errors or warnings', (file) => {
    const { findings } = lintPackSource(readPackSource(path.join(PACKS_FOLDER, file)));
    const serious = findings.filter((finding) => finding.severity !== 'info');

    expect(serious).toEqual([]);
  });
});

describe('ferry pack baseline', () => {
  it('triggers only below-recommended-size', () => {
    expect(rulesOf(lintObject(ferryPack()))).toEqual(['below-recommended-size']);
  });
});

describe('rule table', () => {
  it('gives errors to structural rules only', () => {
    const errors = Object.entries(LINT_RULES)
      .filter(([, severity]) => severity === 'error')
      .map(([rule]) => rule)
      .sort();

    expect(errors).toEqual(
      [
        'duplicate-example',
        'duplicate-name',
        'empty-field',
        'fence-in-thinking',
        'layout-tag-in-field',
        'name-mismatch',
        'prompt-layout',
        'schema',
        'syntax',
        'unclosed-fence',
        'unclosed-tag',
      ].sort(),
    );
  });
});

describe('syntax', () => {
  it('reports invalid YAML with its line', () => {
    const findings = lintText('name: night-ferry\nexamples: [\n  - user: a\n');

    expect(rulesOf(findings)).toEqual(['syntax']);
    expect(findings[0]!.severity).toBe('error');
    expect(findings[0]!.line).toBeGreaterThanOrEqual(2);
  });

  it('reports invalid JSON with its line', () => {
    const findings = lintText('{\n  "name": "night-ferry",\n  "examples": [,]\n}', 'night-ferry.json', 'json');

    expect(rulesOf(findings)).toEqual(['syntax']);
    expect(findings[0]!.line).toBe(3);
  });

  it('accepts valid JSON', () => {
    const findings = lintText(JSON.stringify(ferryPack(), null, 2), 'night-ferry.json', 'json');

    expect(rulesOf(findings)).not.toContain('syntax');
    expect(rulesOf(findings).filter((rule) => LINT_RULES[rule] === 'error')).toEqual([]);
  });
});

describe('prompt-layout', () => {
  it('reports an example without human_message', () => {
    const text = '你是阿槐。\n\n<examples>\n<example>\n<assistant_response>\n```thinking\n好。\n```\n“好。”\n</assistant_response>\n</example>\n</examples>';
    const findings = lintText(text, 'night-ferry.txt', 'prompt');

    expect(rulesOf(findings)).toEqual(['prompt-layout']);
    expect(findings[0]!.params.problem).toBe('missing-human-message');
    expect(findings[0]!.line).toBe(4);
  });

  it('accepts a well-formed prompt', () => {
    const text =
      '你是阿槐。始终用中文回答。\n\n<example>\n<human_message>\n（我扮演书生）深夜求你渡河。\n</human_message>\n<assistant_response>\n```thinking\n浪大，我先让他坐稳。\n```\n（递过桨）“坐稳。”\n</assistant_response>\n</example>';

    expect(rulesOf(lintText(text, 'night-ferry.txt', 'prompt'))).not.toContain('prompt-layout');
  });
});

describe('schema', () => {
  it('reports an unknown key at its line', () => {
    const text = 'name: night-ferry\ntemperature: 0.7\npreamble: 你好\n';
    const findings = findingsOf(lintText(text), 'schema');

    expect(findings).toHaveLength(1);
    expect(findings[0]!.line).toBe(1);
    expect(String(findings[0]!.params.detail)).toContain('temperature');
  });

  it('reports a wrong type at the field', () => {
    const pack = ferryPack() as Record<string, unknown>;
    (pack.examples as Record<string, unknown>[])[1]!.answer = 42;
    const findings = findingsOf(lintObject(pack), 'schema');

    expect(findings.map((finding) => finding.path)).toEqual(['examples[1].answer']);
  });

  it('passes a valid pack', () => {
    expect(rulesOf(lintObject(ferryPack()))).not.toContain('schema');
  });
});

describe('name-mismatch', () => {
  it('reports a name that differs from the file name', () => {
    const findings = findingsOf(lintObject(ferryPack(), 'other-name.yaml'), 'name-mismatch');

    expect(findings).toHaveLength(1);
    expect(findings[0]!.params).toEqual({ name: 'night-ferry', fileName: 'other-name' });
    expect(findings[0]!.line).toBe(1);
  });

  it('passes a matching name', () => {
    expect(rulesOf(lintObject(ferryPack(), 'night-ferry.yaml'))).not.toContain('name-mismatch');
  });
});

describe('empty-field', () => {
  it('reports a blank thinking', () => {
    const findings = lintObject(withExample(0, { thinking: '   \n' }));

    expect(findingsOf(findings, 'empty-field').map((finding) => finding.path)).toEqual(['examples[0].thinking']);
    expect(rulesOf(findings)).not.toContain('schema');
  });

  it('reports a field with no value', () => {
    const text = 'name: night-ferry\nexamples:\n  - user: 你好\n    thinking:\n    answer: “你好。”\n';
    const findings = findingsOf(lintText(text), 'empty-field');

    expect(findings.map((finding) => [finding.path, finding.line])).toEqual([['examples[0].thinking', 4]]);
  });

  it('passes filled fields', () => {
    expect(rulesOf(lintObject(ferryPack()))).not.toContain('empty-field');
  });
});

describe('duplicate-example', () => {
  it('reports an identical example', () => {
    const pack = ferryPack();
    pack.examples.push({ ...pack.examples[0]!, user: `  ${pack.examples[0]!.user}\n` });
    const findings = findingsOf(lintObject(pack), 'duplicate-example');

    expect(findings).toHaveLength(1);
    expect(findings[0]!.params).toEqual({ example: 3, first: 1 });
    expect(findings[0]!.path).toBe('examples[2]');
  });

  it('passes distinct examples', () => {
    expect(rulesOf(lintObject(ferryPack()))).not.toContain('duplicate-example');
  });
});

describe('repeated-request', () => {
  it('reports the same request with another reply', () => {
    const pack = ferryPack();
    pack.examples.push({ ...pack.examples[1]!, user: pack.examples[0]!.user });
    const findings = lintObject(pack);

    expect(findingsOf(findings, 'repeated-request').map((finding) => finding.params)).toEqual([{ example: 3, first: 1 }]);
    expect(rulesOf(findings)).not.toContain('duplicate-example');
  });

  it('passes different requests', () => {
    expect(rulesOf(lintObject(ferryPack()))).not.toContain('repeated-request');
  });
});

describe('fence-in-thinking', () => {
  it('reports a bare fence line at its own line', () => {
    const text = [
      'name: night-ferry',
      'examples:',
      '  - user: （我扮演书生）深夜，我求你渡河。',
      '    thinking: |',
      '      浪很大。',
      '      ```',
      '      我先让他坐稳。',
      '    answer: （递过桨）“坐稳。”',
      '',
    ].join('\n');
    const findings = findingsOf(lintText(text), 'fence-in-thinking');

    expect(findings).toHaveLength(1);
    expect(findings[0]!.line).toBe(6);
    expect(findings[0]!.severity).toBe('error');
  });

  it('reports a nested code block', () => {
    const findings = lintObject(withExample(0, { thinking: '先记下来：\n```text\n潮位\n```\n我先让他坐稳。' }));

    expect(findingsOf(findings, 'fence-in-thinking')).toHaveLength(1);
  });

  it('passes backticks inside a line', () => {
    const findings = lintObject(withExample(0, { thinking: '他问 `船钱` 的事。就这么办，我先收下。' }));

    expect(rulesOf(findings)).not.toContain('fence-in-thinking');
  });
});

describe('unclosed-fence', () => {
  it('reports an answer whose code block never closes', () => {
    const findings = lintObject(withExample(1, { answer: '“我写给你看：”\n```text\n往东三里\n' }));

    expect(findingsOf(findings, 'unclosed-fence').map((finding) => finding.path)).toEqual(['examples[1].answer']);
  });

  it('passes a closed block in the preamble', () => {
    const pack = ferryPack();
    pack.preamble = `${String(pack.preamble)}\n\n格式：\n\`\`\`thinking\n独白\n\`\`\`\n回应`;

    expect(rulesOf(lintObject(pack))).not.toContain('unclosed-fence');
  });
});

describe('layout-tag-in-field', () => {
  it.each(['</human_message>', '</assistant_response>', '<example>'])('reports %s in an answer', (tag) => {
    const findings = findingsOf(lintObject(withExample(0, { answer: `“坐稳。”${tag}` })), 'layout-tag-in-field');

    expect(findings).toHaveLength(1);
    expect(findings[0]!.params.tag).toBe(tag);
  });

  it('reports a closing tag in the preamble', () => {
    const pack = ferryPack();
    pack.preamble = `${String(pack.preamble)}\n</assistant_response>`;

    expect(findingsOf(lintObject(pack), 'layout-tag-in-field').map((finding) => finding.path)).toEqual(['preamble']);
  });

  it('passes a tag written as code in the preamble', () => {
    const pack = ferryPack();
    pack.preamble = `${String(pack.preamble)}\n示例都放在 \`<examples>\` 里。`;

    expect(rulesOf(lintObject(pack))).not.toContain('layout-tag-in-field');
  });
});

describe('unclosed-tag', () => {
  it('reports an opening tag without its closing tag', () => {
    const findings = findingsOf(lintObject(withExample(1, { answer: '<b>“别动。”' })), 'unclosed-tag');

    expect(findings.map((finding) => finding.params.tag)).toEqual(['<b>']);
  });

  it('reports a stray closing tag', () => {
    const findings = findingsOf(lintObject(withExample(1, { answer: '“别动。”</think>' })), 'unclosed-tag');

    expect(findings.map((finding) => finding.params.tag)).toEqual(['</think>']);
  });

  it('passes balanced, void and code tags', () => {
    const findings = lintObject(withExample(1, { answer: '<b>“别动。”</b><br>（指了指 `<think>` 标签）' }));

    expect(rulesOf(findings)).not.toContain('unclosed-tag');
  });
});

describe('vague-request', () => {
  it.each(['你是谁？', 'Tell me about yourself.', '讲个故事'])('reports %j', (user) => {
    const findings = findingsOf(lintObject(withExample(0, { user })), 'vague-request');

    expect(findings.map((finding) => finding.path)).toEqual(['examples[0].user']);
    expect(findings[0]!.severity).toBe('warning');
  });

  it.each([
    '（我扮演书生）求你渡河。',
    '用三十字以内介绍你自己。',
    '我想过河，因为家里有人病了。',
  ])('passes a short request with a scene, motive or constraint: %j', (user) => {
    expect(rulesOf(lintObject(withExample(0, { user })))).not.toContain('vague-request');
  });
});

describe('report-monologue', () => {
  it('reports sequence words', () => {
    const thinking = '首先，浪很大。其次，书生很急。最后，我决定贴着东岸走。';
    const findings = findingsOf(lintObject(withExample(0, { thinking })), 'report-monologue');

    expect(findings).toHaveLength(1);
    expect(findings[0]!.params).toMatchObject({ kind: 'sequence-words', words: '首先…其次…最后' });
  });

  it('reports list lines', () => {
    const thinking = '要考虑的：\n1. 浪很大\n2. 书生很急\n我先让他坐稳。';
    const findings = findingsOf(lintObject(withExample(0, { thinking })), 'report-monologue');

    expect(findings[0]!.params).toMatchObject({ kind: 'list-lines', count: 2 });
  });

  it('reports numbered clauses', () => {
    const thinking = '第一，浪大；第二，天黑。我先让他坐稳。';

    expect(rulesOf(lintObject(withExample(0, { thinking })))).toContain('report-monologue');
  });

  it('passes a stream of thought that says 第一次', () => {
    const thinking = '这是我第一次夜里撑这段水，最后一段最难走。我先让他坐稳。';

    expect(rulesOf(lintObject(withExample(0, { thinking })))).not.toContain('report-monologue');
  });
});

describe('monologue-no-decision', () => {
  it('reports a monologue that ends on a description', () => {
    const thinking = '风从上游压下来。河水很冷，天很黑。';

    expect(findingsOf(lintObject(withExample(0, { thinking })), 'monologue-no-decision')).toHaveLength(1);
  });

  it.each(['天很黑。就这么办，贴着东岸走。', '天很黑。我先把灯点上。', 'It is dark. I will light the lamp.'])(
    'passes %j',
    (thinking) => {
      expect(rulesOf(lintObject(withExample(0, { thinking })))).not.toContain('monologue-no-decision');
    },
  );
});

describe('answer-no-action-or-speech', () => {
  it('reports plain narration', () => {
    const findings = lintObject(withExample(1, { answer: '好的，没问题，马上出发。' }));

    expect(findingsOf(findings, 'answer-no-action-or-speech').map((finding) => finding.path)).toEqual([
      'examples[1].answer',
    ]);
  });

  it.each(['（点点头）', '*点点头*', '“走吧。”', '「走吧。」', '"Let us go."'])('passes %j', (answer) => {
    expect(rulesOf(lintObject(withExample(1, { answer })))).not.toContain('answer-no-action-or-speech');
  });
});

describe('zh-answer-language', () => {
  it('reports zh-CN without a line asking for Chinese', () => {
    const pack = ferryPack();
    pack.preamble = String(pack.preamble).replace('始终用中文回答。', '');
    const findings = findingsOf(lintObject(pack), 'zh-answer-language');

    expect(findings).toHaveLength(1);
    expect(findings[0]!.line).toBe(3);
  });

  it('passes an English request for Chinese answers', () => {
    const pack = ferryPack();
    pack.preamble = String(pack.preamble).replace('始终用中文回答。', 'Always reply in Chinese.');

    expect(rulesOf(lintObject(pack))).not.toContain('zh-answer-language');
  });

  it('passes a pack in another language', () => {
    const pack = { ...ferryPack(), language: 'en', preamble: 'You play Ahuai, a ferry woman.' };

    expect(rulesOf(lintObject(pack))).not.toContain('zh-answer-language');
  });
});

describe('single-character', () => {
  it('reports a many-character pack whose examples all show its char', () => {
    const pack = { ...ferryPack(), characters: 'many' };
    pack.examples[0]!.answer = `（阿槐把缆绳一绕）${pack.examples[0]!.answer}`;
    pack.examples[1]!.answer = `（阿槐解下棉袄）${pack.examples[1]!.answer}`;
    const findings = findingsOf(lintObject(pack), 'single-character');

    expect(findings).toHaveLength(1);
    expect(findings[0]!.params).toEqual({ name: '阿槐', count: 2 });
  });

  it('reads the preamble and role names in requests', () => {
    const pack = ferryPack();
    delete pack.char;
    pack.preamble = `这个包适用于多个角色。${String(pack.preamble)}`;
    pack.examples[0]!.user = `（你扮演阿槐）${pack.examples[0]!.user}`;
    pack.examples[1]!.user = `（你扮演阿槐）${pack.examples[1]!.user}`;

    expect(findingsOf(lintObject(pack), 'single-character').map((finding) => finding.params.name)).toEqual(['阿槐']);
  });

  it('passes a many-character pack with different characters', () => {
    const pack = { ...ferryPack(), characters: 'many' };
    delete (pack as Record<string, unknown>).char;
    pack.examples[0]!.user = `（你扮演船娘阿槐）${pack.examples[0]!.user}`;
    pack.examples[1]!.user = `（你扮演渔夫老耿）${pack.examples[1]!.user}`;

    expect(rulesOf(lintObject(pack))).not.toContain('single-character');
  });

  it('passes a one-character pack', () => {
    expect(rulesOf(lintObject({ ...ferryPack(), characters: 'one' }))).not.toContain('single-character');
  });
});

describe('placeholder-text', () => {
  it('reports a placeholder monologue and skips its style rules', () => {
    const findings = lintObject(withExample(0, { thinking: PLACEHOLDER_MONOLOGUE }));

    expect(findingsOf(findings, 'placeholder-text').map((finding) => finding.path)).toEqual(['examples[0].thinking']);
    expect(rulesOf(findings)).not.toContain('monologue-no-decision');
  });

  it('passes written text', () => {
    expect(rulesOf(lintObject(ferryPack()))).not.toContain('placeholder-text');
  });
});

describe('placeholder rules', () => {
  it('warns about {{char}} without a char field', () => {
    const pack = ferryPack();
    delete pack.char;
    pack.preamble = `你要扮演{{char}}。${String(pack.preamble)}`;
    const findings = findingsOf(lintObject(pack), 'char-placeholder-unset');

    expect(findings.map((finding) => [finding.path, finding.severity])).toEqual([['preamble', 'warning']]);
  });

  it('notes {{user}} without a user field', () => {
    const findings = lintObject(withExample(1, { answer: '（点点头）“{{user}}，坐稳。”' }));

    expect(findingsOf(findings, 'user-placeholder-unset').map((finding) => [finding.path, finding.severity])).toEqual([
      ['examples[1].answer', 'info'],
    ]);
  });

  it('passes placeholders with their fields set', () => {
    const pack = withExample(1, { answer: '（点点头）“{{user}}，坐稳。”' });
    pack.user = '书生';
    pack.preamble = `你要扮演{{char}}。${String(pack.preamble)}`;
    const rules = rulesOf(lintObject(pack));

    expect(rules).not.toContain('char-placeholder-unset');
    expect(rules).not.toContain('user-placeholder-unset');
  });
});

describe('below-recommended-size', () => {
  it('notes a small pack with its token count', () => {
    const [finding] = findingsOf(lintObject(ferryPack()), 'below-recommended-size');

    expect(finding?.severity).toBe('info');
    expect(finding?.params.recommended).toBe(RECOMMENDED_MIN_TOKENS);
    expect(finding?.params.encoding).toBe('o200k_base');
    expect(Number(finding?.params.tokens)).toBeGreaterThan(100);
    expect(Number(finding?.params.tokens)).toBeLessThan(RECOMMENDED_MIN_TOKENS);
  });

  it('passes a bundled pack', () => {
    const { findings } = lintPackSource(readPackSource(path.join(PACKS_FOLDER, 'loyal-knight.yaml')));

    expect(rulesOf(findings)).not.toContain('below-recommended-size');
  });
});

describe('unclosed-tag exceptions', () => {
  it('passes SillyTavern separators and placeholders', () => {
    const pack = ferryPack();
    pack.preamble = `${String(pack.preamble)}\n<START> 之后是对话，<USER> 是用户，<BOT> 是角色。`;

    expect(rulesOf(lintObject(pack))).not.toContain('unclosed-tag');
  });
});
