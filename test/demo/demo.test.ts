import { describe, expect, it } from 'vitest';
import { runDemo } from '../../src/demo/run-demo.js';
import { SCRIPTED_ANSWER, SCRIPTED_THINKING } from '../../src/demo/scripted-upstream.js';

describe('offline demo', () => {
  it('shows the injected pack and stripped answers', async () => {
    const lines: string[] = [];
    await runDemo({ print: (line) => lines.push(line) });
    const output = lines.join('\n');

    expect(output).toContain('messages[0] (system, the rendered pack');
    expect(lines).toContain('  | </examples>');
    expect(lines).toContain('  | 你要扮演林晓：二十四岁，一家虚构的市立医院内科的规培医生，今晚是她第一次独立值夜班。她做事认真，病历写得工工整整，性格却很腼腆，跟陌生人说话前常常先道歉，一紧张就去捏白大褂口袋里的那支笔。她怕出错，遇事会先核对、再请示上级；她也心软，看到病人和家属着急，会不自觉地放慢语速，蹲下来跟人平视着说话。');
    const answers = lines.filter((line) => line.startsWith('content: '));
    expect(answers).toEqual([`content: ${SCRIPTED_ANSWER}`, `content: ${SCRIPTED_ANSWER}`]);
    expect(answers.join('\n')).not.toContain(SCRIPTED_THINKING);
    expect(output).toContain('model: intern-doctor');
  });
});
