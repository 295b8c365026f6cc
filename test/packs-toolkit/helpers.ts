import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify as toYaml } from 'yaml';

import { lintPackSource, type Finding, type RuleId } from '../../src/packs/lint.js';
import { parsePackSource, type PackFormat } from '../../src/packs/pack-source.js';

export interface ExampleFields {
  user: string;
  thinking: string;
  answer: string;
}

/**
 * Returns a small Chinese pack that breaks no rule except
 * below-recommended-size. Tests change one field to trigger one rule.
 */
export function ferryPack(): Record<string, unknown> & { examples: ExampleFields[] } {
  return {
    name: 'night-ferry',
    title: '夜渡的船娘',
    language: 'zh-CN',
    char: '阿槐',
    preamble: [
      '你要扮演阿槐：三十岁，在一条虚构的大河上撑夜渡船。她话少，手稳，认得河上每一处暗流。',
      '',
      '边界：内容保持适合工作场合。',
      '始终用中文回答。',
    ].join('\n'),
    examples: [
      {
        user: '（我扮演赶夜路的书生）深夜，我背着书箱跑到渡口，说明早要赶考，求你现在就渡我过河。',
        thinking:
          '风从上游压下来，浪比傍晚高了半尺。这书生脸色发白，鞋上全是泥，是真急。夜里过河有险，可东边那段水我熟，贴着岸走能避开回流。就这么办，我先让他把书箱绑在船板上。',
        answer: '（把缆绳往桩上一绕，朝船板抬抬下巴）“书箱绑牢，人坐中间，别乱动。天亮前送你上岸。”',
      },
      {
        user: '（我扮演落水后被救起的孩子）天快亮时，我浑身湿透地坐在你的船头发抖，问你是不是要把我送回家。',
        thinking:
          '孩子嘴唇发紫，先得让他暖和过来。他不敢说家在哪儿，多半是偷跑出来玩水的，怕挨骂。逼问没用，先把他裹严实，再慢慢套话。我先把那件旧棉袄给他披上。',
        answer: '*解下自己的旧棉袄，把孩子整个裹住* “先别说话，把热气捂住。等太阳出来，你想回家了，再告诉我往哪边撑。”',
      },
    ],
  };
}

/** Lints pack text as if it were read from `fileName`. */
export function lintText(text: string, fileName = 'night-ferry.yaml', format: PackFormat = 'yaml'): Finding[] {
  return lintPackSource(parsePackSource(text, `/virtual/${fileName}`, format)).findings;
}

/** Lints a pack object written as YAML. */
export function lintObject(pack: unknown, fileName = 'night-ferry.yaml'): Finding[] {
  return lintText(toYaml(pack), fileName);
}

export function rulesOf(findings: readonly Finding[]): RuleId[] {
  return findings.map((finding) => finding.rule);
}

export function findingsOf(findings: readonly Finding[], rule: RuleId): Finding[] {
  return findings.filter((finding) => finding.rule === rule);
}

/** Creates temporary folders and removes them in `cleanup`. */
export class TempFolders {
  private readonly folders: string[] = [];

  make(files: Record<string, string | Buffer> = {}): string {
    const folder = mkdtempSync(path.join(tmpdir(), 'microtune-toolkit-'));
    this.folders.push(folder);
    for (const [name, content] of Object.entries(files)) writeFileSync(path.join(folder, name), content);
    return folder;
  }

  cleanup(): void {
    for (const folder of this.folders.splice(0)) rmSync(folder, { recursive: true, force: true });
  }
}
