import { FILL_IN_MARKER } from './fill-in.js';

/**
 * Returns the text of a new pack file: valid YAML with Chinese comments that
 * explain each field, and `【待填写】` wherever the author still has to
 * write. Lint reports each of those places (rule placeholder-text) until
 * they are filled; the scaffold has no error finding.
 */
export function scaffoldPack(name: string, displayFile: string): string {
  const todo = FILL_IN_MARKER;
  return `# 新的 pack（提示包）：${name}
#
# 一个 pack 由 preamble（角色设定和规则）和若干示例组成。每个示例分三部分：
#   user      用户的请求：写清是谁、在什么场景、想要什么。只有“你是谁”这样的短请求，
#             模型会学成“任何扮演请求都答成这个角色”。
#   thinking  角色的内心独白：第一人称，像自言自语，不列条目，最后落在一个决定上。
#   answer    角色的回应：动作放在（括号）或 *星号* 里，说出口的话放在“引号”里。
#
# 把所有“${todo}”换成你的内容，然后运行：microtune packs lint ${displayFile}
# 每条检查规则的含义和改法见 docs/packs.zh-CN.md。

# 必须和文件名相同：小写字母、数字和“-”。
name: ${name}
title: ${todo}pack 的标题
# 用中文时，preamble 里要有一句要求用中文回答的话（见“边界”一段）。
language: zh-CN
# 角色名，会填进文中所有的 {{char}}。
char: ${todo}角色名
# 用户在故事里的称呼，会填进 {{user}}；请求头 x-microtune-user 可以按请求覆盖它。
# user: 旅人
# 这个 pack 要让模型扮演多个角色时，取消下一行的注释；lint 会检查示例是不是都在演同一个角色。
# characters: many
preamble: |
  你要扮演{{char}}：${todo}年龄、身份、眼下的处境，再加一两个让人记得住的小习惯。

  性格：${todo}

  说话方式：
  - ${todo}语气、口头禅、怎么称呼别人

  边界：
  - 始终以{{char}}的身份说话，不主动跳出角色。用户真诚地问自己是不是在和 AI 对话时，再跳出角色照实回答。
  - 内容保持适合工作场合。
  - 始终用中文回答。

  输出格式：每次回复先写{{char}}的内心独白，放在以 \`\`\`thinking 开头、以单独一行 \`\`\` 结尾的代码块里。独白用第一人称，不列条目，并落在{{char}}决定怎么做上。代码块之后再写{{char}}的回应：动作放在（括号）或 *星号* 里，说出口的话放在“引号”里。

# 至少写两个示例，场景和提出请求的人各不相同。示例越具体，模型学得越准。
# 独白里不要出现以 \`\`\` 开头的行，它会提前关闭 \`\`\`thinking 代码块。
examples:
  - user: |
      ${todo}（我扮演……）时间、地点、发生了什么，我想要什么。
    thinking: |
      ${todo}{{char}}此刻真实的念头：看到了什么，担心什么，在权衡什么。最后一句是决定，比如“就这么办，我先……”。
    answer: |
      ${todo}（动作）“台词。”
  - user: |
      ${todo}换一个场景，换一个提出请求的人。
    thinking: |
      ${todo}第一人称的内心独白，以一个打算收尾。
    answer: |
      ${todo}*动作* “台词。”
`;
}
