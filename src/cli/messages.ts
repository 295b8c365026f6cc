// Every message of the `microtune` command, in Chinese and English, and the
// texts of lint findings and import problems. The pack loader uses the
// English texts for its log lines and failure reasons.

import type { ImportNote, ImportNoteCode, ImportParams, ImportProblem, ImportProblemCode } from '../packs/import-problems.js';
import type { Finding, FindingParams, RuleId } from '../packs/lint.js';

export type Lang = 'zh' | 'en';

interface Entry<P> {
  zh: (params: P) => string;
  en: (params: P) => string;
}

function entry<P = Record<string, never>>(zh: (params: P) => string, en: (params: P) => string): Entry<P> {
  return { zh, en };
}

/** "1 file", "2 files". */
function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}

const USAGE_ZH = `用法：microtune packs <命令> [参数] [选项]

命令：
  lint [文件|目录]          检查 pack 文件，每条发现一行：文件:行 级别 规则 说明
  render <名字|文件>        打印代理发送给上游的系统提示词（末尾另加一个换行）
  stats [名字|文件]         每个 pack 渲染后的词元数，以及按配置价格估算的每次请求费用
  new <名字>                在 pack 目录里创建带中文注释的新 pack：<名字>.yaml
  import <文件>             把三段式系统提示词（.txt/.md）、SillyTavern 角色卡（.json/.png）转成 pack YAML

选项：
  --config <文件>           配置文件（默认：环境变量 MICROTUNE_CONFIG，否则 config/microtune.yaml）
  --lang zh|en              消息语言（默认中文；LC_ALL、LC_MESSAGES 或 LANG 以 en 开头时用英文）
  --user <名字>             render、stats：用这个名字填 {{user}}，和请求头 x-microtune-user 的效果一样
  -o, --output <文件>       import：写入这个文件，不写标准输出
  --name <名字>             import：pack 的名字（默认取输出文件名，否则取输入文件名）
  --force                   import：覆盖已有的输出文件
  -h, --help                显示这段帮助

没有给出文件或目录时，使用配置里的 packsDir；找不到配置文件时使用 ./packs。
退出码：0 成功（可以有警告），1 有错误级的发现，2 用法错误或读取失败。`;

const USAGE_EN = `Usage: microtune packs <command> [arguments] [options]

Commands:
  lint [file|folder]        check pack files, one line per finding: file:line severity rule message
  render <pack|file>        print the system prompt the proxy sends upstream (plus one newline)
  stats [pack|file]         tokens of each rendered pack and the estimated cost per request from config prices
  new <pack>                create <pack>.yaml with commented guidance (in Chinese) in the packs folder
  import <file>             convert a three-part system prompt (.txt/.md) or a SillyTavern card (.json/.png) to pack YAML

Options:
  --config <file>           config file (default: MICROTUNE_CONFIG, else config/microtune.yaml)
  --lang zh|en              message language (default Chinese; English when LC_ALL, LC_MESSAGES or LANG starts with en)
  --user <name>             render, stats: fill {{user}} with this name, as the x-microtune-user header does
  -o, --output <file>       import: write to this file instead of standard output
  --name <pack>             import: pack name (default: the output file name, else the input file name)
  --force                   import: overwrite an existing output file
  -h, --help                show this help

Without a file or folder, the packsDir of the config is used, or ./packs when there is no config file.
Exit status: 0 success (warnings allowed), 1 error findings, 2 usage or read error.`;

export const MESSAGES = {
  usage: entry(() => USAGE_ZH, () => USAGE_EN),
  usageHint: entry(
    () => '运行 microtune --help 查看用法。',
    () => 'Run microtune --help for usage.',
  ),
  unknownCommand: entry<{ command: string }>(
    (p) => `未知命令“${p.command}”。可用命令：packs lint、 packs render、 packs stats、 packs new、 packs import。`,
    (p) => `Unknown command "${p.command}". Commands: packs lint, packs render, packs stats, packs new, packs import.`,
  ),
  missingCommand: entry(
    () => '缺少命令。',
    () => 'No command given.',
  ),
  invalidOption: entry<{ detail: string }>(
    (p) => `选项无效：${p.detail}`,
    (p) => `Invalid option: ${p.detail}`,
  ),
  unknownOption: entry<{ option: string }>(
    (p) => `未知选项 ${p.option}。`,
    (p) => `Unknown option ${p.option}.`,
  ),
  optionNeedsValue: entry<{ option: string }>(
    (p) => `选项 ${p.option} 需要一个值。`,
    (p) => `Option ${p.option} needs a value.`,
  ),
  optionNotForCommand: entry<{ option: string; command: string }>(
    (p) => `选项 ${p.option} 不能用于 packs ${p.command}。`,
    (p) => `Option ${p.option} does not apply to packs ${p.command}.`,
  ),
  invalidLang: entry<{ value: string }>(
    (p) => `--lang 的值“${p.value}”无效，只能是 zh 或 en。`,
    (p) => `Invalid --lang value "${p.value}": use zh or en.`,
  ),
  missingArgument: entry<{ command: string; argument: string }>(
    (p) => `packs ${p.command} 缺少参数 <${p.argument}>。`,
    (p) => `packs ${p.command} needs the argument <${p.argument}>.`,
  ),
  tooManyArguments: entry<{ command: string; extra: string }>(
    (p) => `packs ${p.command} 的参数太多：${p.extra}`,
    (p) => `Too many arguments for packs ${p.command}: ${p.extra}`,
  ),
  configInvalid: entry<{ detail: string }>(
    (p) => `配置文件无效：\n${p.detail}`,
    (p) => `Invalid config file:\n${p.detail}`,
  ),
  readFailed: entry<{ file: string; reason: string }>(
    (p) => `无法读取 ${p.file}：${p.reason}`,
    (p) => `Cannot read ${p.file}: ${p.reason}`,
  ),
  writeFailed: entry<{ file: string; reason: string }>(
    (p) => `无法写入 ${p.file}：${p.reason}`,
    (p) => `Cannot write ${p.file}: ${p.reason}`,
  ),
  reasonNotFound: entry(
    () => '文件或目录不存在',
    () => 'file or folder not found',
  ),
  reasonIsFolder: entry(
    () => '这是一个目录，需要文件',
    () => 'it is a folder, a file is expected',
  ),
  reasonNoPermission: entry(
    () => '没有读取权限',
    () => 'permission denied',
  ),
  noPackFiles: entry<{ folder: string }>(
    (p) => `${p.folder} 里没有 pack 文件（.yaml、.yml、.json、.txt、.md）。`,
    (p) => `No pack files (.yaml, .yml, .json, .txt, .md) in ${p.folder}.`,
  ),
  unsupportedFileType: entry<{ file: string }>(
    (p) => `不支持的文件类型：${p.file}。pack 文件的扩展名是 .yaml、.yml、.json、.txt 或 .md。`,
    (p) => `Unsupported file type: ${p.file}. Pack files end in .yaml, .yml, .json, .txt or .md.`,
  ),
  lintSummary: entry<{ files: number; errors: number; warnings: number; infos: number }>(
    (p) => `检查了 ${p.files} 个文件：${p.errors} 个错误，${p.warnings} 个警告，${p.infos} 条提示。`,
    (p) =>
      `Checked ${plural(p.files, 'file')}: ${plural(p.errors, 'error')}, ${plural(p.warnings, 'warning')}, ${plural(p.infos, 'note')}.`,
  ),
  packNotFound: entry<{ name: string; folder: string }>(
    (p) => `${p.folder} 里没有名为“${p.name}”的 pack。`,
    (p) => `No pack named "${p.name}" in ${p.folder}.`,
  ),
  packLeftOut: entry<{ file: string; problem: string }>(
    (p) => `${p.file}：这个 pack 不会被加载：${p.problem}`,
    (p) => `${p.file}: this pack is left out: ${p.problem}`,
  ),
  invalidPackName: entry<{ name: string }>(
    (p) => `pack 名“${p.name}”无效：只能用小写字母、数字和“-”。`,
    (p) => `Invalid pack name "${p.name}": use lowercase letters, digits and "-".`,
  ),
  invalidOutputName: entry<{ name: string }>(
    (p) => `从输出文件名得到的 pack 名“${p.name}”无效：只能用小写字母、数字和“-”。用 --name 指定 pack 名，或者换一个输出文件名。`,
    (p) =>
      `The pack name "${p.name}" taken from the output file name is invalid: use lowercase letters, digits and "-". Give one with --name or rename the output file.`,
  ),
  packExists: entry<{ file: string }>(
    (p) => `${p.file} 已存在，不会覆盖。换一个 pack 名，或者先移走旧文件。`,
    (p) => `${p.file} already exists and is not overwritten. Choose another name or move the old file away.`,
  ),
  packCreated: entry<{ file: string }>(
    (p) => `已创建 ${p.file}。把所有“【待填写】”换成你的内容，然后运行：microtune packs lint ${p.file}`,
    (p) => `Created ${p.file}. Replace every "【待填写】" with your text, then run: microtune packs lint ${p.file}`,
  ),
  outputExists: entry<{ file: string }>(
    (p) => `${p.file} 已存在。加 --force 覆盖它。`,
    (p) => `${p.file} already exists. Add --force to overwrite it.`,
  ),
  importFailed: entry<{ where: string; detail: string }>(
    (p) => `${p.where}：无法导入：${p.detail}`,
    (p) => `${p.where}: cannot import: ${p.detail}`,
  ),
  importWritten: entry<{ file: string; examples: number }>(
    (p) => `已写入 ${p.file}（${p.examples} 个示例）。`,
    (p) => `Wrote ${p.file} (${plural(p.examples, 'example')}).`,
  ),
  importHeader: entry<{ input: string }>(
    (p) => `由 microtune packs import 从 ${p.input} 导入。`,
    (p) => `Imported from ${p.input} by microtune packs import.`,
  ),
  importHeaderLint: entry<{ file: string }>(
    (p) => `改完后运行：microtune packs lint ${p.file}`,
    (p) => `After editing, run: microtune packs lint ${p.file}`,
  ),
  importNote: entry<{ detail: string }>(
    (p) => `注意：${p.detail}`,
    (p) => `Note: ${p.detail}`,
  ),
  importFindings: entry(
    () => '导入结果的检查发现：',
    () => 'Lint findings for the imported pack:',
  ),
  statsEncoding: entry<{ encoding: string }>(
    (p) =>
      `词元数按 ${p.encoding} 编码计算（OpenAI GPT-4o 系列的分词器）；DeepSeek、Qwen、Llama 等其他模型有自己的分词器，这些数字只是估算。`,
    (p) =>
      `Token counts use the ${p.encoding} encoding (the tokenizer of OpenAI's GPT-4o family); other models such as DeepSeek, Qwen and Llama have tokenizers of their own, so for them the counts are estimates.`,
  ),
  statsPack: entry<{ name: string; tokens: number }>(
    (p) => `${p.name}：${p.tokens} 个词元`,
    (p) => `${p.name}: ${plural(p.tokens, 'token')}`,
  ),
  statsAliasCost: entry<{
    alias: string;
    model: string;
    upstream: string;
    price: string;
    currency: string;
    perRequest: string;
    perThousand: string;
    source: 'alias' | 'upstream';
  }>(
    (p) =>
      `  别名 ${p.alias}（${p.upstream} 上的 ${p.model}，输入价 ${p.price} ${p.currency}/百万词元，${p.source === 'alias' ? '来自别名' : '来自上游'}）：每次请求 ${p.perRequest} ${p.currency}，每 1,000 次请求 ${p.perThousand} ${p.currency}`,
    (p) =>
      `  alias ${p.alias} (${p.model} on ${p.upstream}, input ${p.price} ${p.currency} per million tokens, ${p.source} price): ${p.perRequest} ${p.currency} per request, ${p.perThousand} ${p.currency} per 1,000 requests`,
  ),
  statsAliasNoPrice: entry<{ alias: string; upstream: string }>(
    (p) => `  别名 ${p.alias}：没有配置价格（在 aliases.${p.alias}.price 或 upstreams.${p.upstream}.price 里设置 inputPerMillion）`,
    (p) => `  alias ${p.alias}: no price configured (set inputPerMillion in aliases.${p.alias}.price or upstreams.${p.upstream}.price)`,
  ),
  statsNoAlias: entry(
    () => '  没有别名使用这个 pack，无法估算费用。',
    () => '  no alias uses this pack, so there is no cost estimate.',
  ),
  statsNoConfig: entry(
    () => '没有找到配置文件，只统计词元数。',
    () => 'No config file found, so only tokens are counted.',
  ),
  statsCostNote: entry(
    () => '费用 = pack 的词元数 × 输入价，只算 pack 这段前缀，不含对话本身和输出；上游有前缀缓存时，重复的前缀可能按更低的缓存价计费。',
    () =>
      'Cost = pack tokens × input price: the pack prefix only, without the conversation or the output. Where the upstream caches prompt prefixes, the repeated prefix may be billed at a lower cached price.',
  ),
  unexpectedError: entry<{ detail: string }>(
    (p) => `内部错误：${p.detail}`,
    (p) => `Internal error: ${p.detail}`,
  ),
} as const;

export type MessageId = keyof typeof MESSAGES;
type ParamsOf<K extends MessageId> = Parameters<(typeof MESSAGES)[K]['zh']>[0];
/** The parameters a message takes: none, or one object. */
export type MessageArgs<K extends MessageId> = ParamsOf<K> extends Record<string, never> ? [] : [ParamsOf<K>];

/** Returns the message `id` in `lang`. */
export function message<K extends MessageId>(lang: Lang, id: K, ...params: MessageArgs<K>): string {
  const text = MESSAGES[id][lang] as (params: ParamsOf<K> | Record<string, never>) => string;
  return text(params[0] ?? {});
}

/**
 * Picks the message language: `--lang` first, then the first set variable of
 * LC_ALL, LC_MESSAGES and LANG (POSIX order); English when it starts with
 * `en`, Chinese otherwise. Returns undefined for an invalid `--lang`.
 */
export function resolveLang(option: string | undefined, env: Record<string, string | undefined>): Lang | undefined {
  if (option !== undefined) {
    const value = option.toLowerCase();
    if (value === 'zh' || value.startsWith('zh-') || value.startsWith('zh_')) return 'zh';
    if (value === 'en' || value.startsWith('en-') || value.startsWith('en_')) return 'en';
    return undefined;
  }
  const locale = [env.LC_ALL, env.LC_MESSAGES, env.LANG].find((value) => value !== undefined && value !== '');
  return locale?.toLowerCase().startsWith('en') ? 'en' : 'zh';
}

const n = (value: string | number | undefined) => String(value ?? '?');

/** Texts of the lint rules; each follows the field path (`examples[1].user: …`). */
const RULE_MESSAGES: Record<RuleId, Entry<FindingParams>> = {
  syntax: entry(
    (p) => `无法解析：${n(p.detail)}`,
    (p) => `cannot parse: ${n(p.detail)}`,
  ),
  'prompt-layout': entry(
    (p) => importProblemText('zh', p),
    (p) => importProblemText('en', p),
  ),
  schema: entry(
    (p) => `不符合 pack 格式：${n(p.detail)}`,
    (p) => n(p.detail),
  ),
  'name-mismatch': entry(
    (p) => `是“${n(p.name)}”，但必须和文件名“${n(p.fileName)}”相同`,
    (p) => `is "${n(p.name)}" but must equal the file name "${n(p.fileName)}"`,
  ),
  'duplicate-name': entry(
    (p) => `另一个文件 ${n(p.other)} 也定义了 pack“${n(p.name)}”；两个都不会加载`,
    (p) => `another file, ${n(p.other)}, also defines pack "${n(p.name)}"; neither is loaded`,
  ),
  'empty-field': entry(
    () => '字段是空的；每个示例的 user、thinking、answer 都要写内容',
    () => 'the field is empty; every example needs a user, thinking and answer text',
  ),
  'duplicate-example': entry(
    (p) => `示例 ${n(p.example)} 和示例 ${n(p.first)} 完全相同；删掉其中一个`,
    (p) => `example ${n(p.example)} is identical to example ${n(p.first)}; delete one of them`,
  ),
  'fence-in-thinking': entry(
    () => '独白里有以 ``` 开头的行，它会提前关闭 ```thinking 代码块；去掉这一行或改写',
    () => 'a line of the monologue starts with ```, which closes the ```thinking block early; remove or reword it',
  ),
  'unclosed-fence': entry(
    () => '这里开始的代码块没有闭合；在它后面加一行单独的 ```',
    () => 'the code fence opened here is never closed; add a line with the closing fence',
  ),
  'layout-tag-in-field': entry(
    (p) => `字段里有版式标签 ${n(p.tag)}，会打乱示例的结构；删掉它，或在 preamble 里用 \`反引号\` 括起来`,
    (p) => `the field contains the layout tag ${n(p.tag)}, which breaks the example structure; remove it, or wrap it in \`backticks\` in the preamble`,
  ),
  'unclosed-tag': entry(
    (p) => `标签 ${n(p.tag)} 没有配对；补上对应的开始或结束标签，或用 \`反引号\` 括起来`,
    (p) => `the tag ${n(p.tag)} has no partner; add the matching opening or closing tag, or wrap it in \`backticks\``,
  ),
  'vague-request': entry(
    (p) =>
      `示例 ${n(p.example)} 的请求太短，没有场景、动机或限制；模型会学到“任何扮演请求都答成这个角色”。写清是谁、在什么情境下、想要什么`,
    (p) =>
      `the request of example ${n(p.example)} is short and has no scene, motive or constraint, which teaches the model to answer any role request as this character; say who asks, in what situation and for what`,
  ),
  'repeated-request': entry(
    (p) => `示例 ${n(p.example)} 的请求和示例 ${n(p.first)} 相同，回答却不同；换一个请求，或合并两个示例`,
    (p) => `example ${n(p.example)} repeats the request of example ${n(p.first)} with a different reply; change the request or merge the examples`,
  ),
  'report-monologue': entry(
    (p) =>
      `示例 ${n(p.example)} 的独白像一份报告（${p.kind === 'list-lines' ? `${n(p.count)} 行列表或标题` : n(p.words)}）；改成第一人称、自言自语式的念头`,
    (p) =>
      `the monologue of example ${n(p.example)} reads like a report (${p.kind === 'list-lines' ? `${n(p.count)} list or heading lines` : n(p.words)}); rewrite it as a first-person stream of thought`,
  ),
  'monologue-no-decision': entry(
    (p) => `示例 ${n(p.example)} 的独白结尾没有决定或打算；用一句“我先……”“就这么办”之类的话收尾`,
    (p) => `the monologue of example ${n(p.example)} does not end on a decision or an intention; close it with what the character will do`,
  ),
  'answer-no-action-or-speech': entry(
    (p) => `示例 ${n(p.example)} 的回答里没有动作（（括号）或 *星号*）也没有台词（“引号”）`,
    (p) => `the answer of example ${n(p.example)} has no action (in brackets or *asterisks*) and no speech (in quotation marks)`,
  ),
  'zh-answer-language': entry(
    (p) => `language 是 ${n(p.language)}，但 preamble 里没有要求用中文回答的一句话；加一行“始终用中文回答。”`,
    (p) => `language is ${n(p.language)} but no line of the preamble asks for answers in Chinese; add one such as "始终用中文回答。"`,
  ),
  'single-character': entry(
    (p) =>
      `这个 pack 写明用于多个角色，但全部 ${n(p.count)} 个示例都是“${n(p.name)}”；加入其他角色的示例，否则模型会把所有角色都演成这一个`,
    (p) =>
      `the pack is meant for many characters, but all ${n(p.count)} examples show "${n(p.name)}"; add examples of other characters, or the model plays every role as this one`,
  ),
  'placeholder-text': entry(
    (p) => `还有待填写的占位文字（${n(p.marker)}）；换成真实内容`,
    (p) => `still contains placeholder text (${n(p.marker)}); replace it with real content`,
  ),
  'char-placeholder-unset': entry(
    () => '用到了 {{char}}，但 pack 没有 char 字段，{{char}} 会原样发给模型；加上 char: 角色名',
    () => 'uses {{char}} but the pack has no char field, so {{char}} reaches the model as written; add char: <name>',
  ),
  'user-placeholder-unset': entry(
    () => '用到了 {{user}}，但 pack 没有 user 字段；请求不带 x-microtune-user 头时，{{user}} 会原样发给模型',
    () => 'uses {{user}} but the pack has no user field; without an x-microtune-user header, {{user}} reaches the model as written',
  ),
  'below-recommended-size': entry(
    (p) => `渲染后的系统提示词有 ${n(p.tokens)} 个词元（${n(p.encoding)}），少于建议的 ${n(p.recommended)}；考虑多写几个示例`,
    (p) => `the rendered system prompt has ${n(p.tokens)} tokens (${n(p.encoding)}), under the recommended ${n(p.recommended)}; consider more examples`,
  ),
};

/** Returns the finding's text: its field path, then the rule's message. */
export function findingMessage(finding: Finding, lang: Lang): string {
  const text = RULE_MESSAGES[finding.rule][lang](finding.params);
  return finding.path === '' ? text : `${finding.path}: ${text}`;
}

/** Returns a finding as one lint output line: `file:line severity rule-id message`. */
export function formatFindingLine(file: string, finding: Finding, lang: Lang): string {
  return `${file}:${finding.line} ${finding.severity} ${finding.rule} ${findingMessage(finding, lang)}`;
}

const IMPORT_PROBLEMS: Record<ImportProblemCode, Entry<ImportParams>> = {
  'closing-tag-without-opening': entry(
    (p) => `${n(p.tag)} 前面没有对应的开始标签`,
    (p) => `${n(p.tag)} has no opening tag before it`,
  ),
  'examples-nested': entry(
    () => '<examples> 里又出现了 <examples>',
    () => '<examples> inside <examples>',
  ),
  'examples-not-closed': entry(
    () => '<examples> 没有对应的 </examples>',
    () => '<examples> is never closed with </examples>',
  ),
  'example-not-closed': entry(
    (p) => `第 ${n(p.example)} 个 <example> 没有单独一行的 </example>`,
    (p) => `<example> number ${n(p.example)} has no </example> line`,
  ),
  'text-outside-example': entry(
    () => '示例之外还有文字；<examples> 之后只能有 <example> 块，其他文字请移到 preamble（第一个 <example> 之前）',
    () => 'text outside any example; after the preamble only <example> blocks may follow, so move other text before the first <example>',
  ),
  'missing-human-message': entry(
    (p) => `第 ${n(p.example)} 个 <example> 里没有 <human_message>`,
    (p) => `<example> number ${n(p.example)} has no <human_message>`,
  ),
  'human-message-not-closed': entry(
    (p) => `第 ${n(p.example)} 个示例的 <human_message> 没有 </human_message>`,
    (p) => `the <human_message> of example ${n(p.example)} is never closed`,
  ),
  'missing-assistant-response': entry(
    (p) => `第 ${n(p.example)} 个 <example> 里 </human_message> 之后没有 <assistant_response>`,
    (p) => `<example> number ${n(p.example)} has no <assistant_response> after </human_message>`,
  ),
  'assistant-response-not-closed': entry(
    (p) => `第 ${n(p.example)} 个示例的 <assistant_response> 没有 </assistant_response>`,
    (p) => `the <assistant_response> of example ${n(p.example)} is never closed`,
  ),
  'unexpected-text-in-example': entry(
    (p) => `第 ${n(p.example)} 个示例里，<human_message> 和 <assistant_response> 之外还有文字`,
    (p) => `example ${n(p.example)} has text outside <human_message> and <assistant_response>`,
  ),
  'missing-thinking': entry(
    (p) => `第 ${n(p.example)} 个示例的 <assistant_response> 没有以 \`\`\`thinking 代码块开头`,
    (p) => `the <assistant_response> of example ${n(p.example)} does not start with a \`\`\`thinking block`,
  ),
  'thinking-not-closed': entry(
    (p) => `第 ${n(p.example)} 个示例的独白代码块没有闭合（缺少单独一行的 \`\`\`）`,
    (p) => `the thinking block of example ${n(p.example)} is never closed (no line with \`\`\` alone)`,
  ),
  'png-signature': entry(
    () => '不是 PNG 文件（开头没有 PNG 签名）',
    () => 'not a PNG file (no PNG signature at the start)',
  ),
  'png-truncated': entry(
    (p) => `PNG 文件在第 ${n(p.offset)} 字节处的块被截断了`,
    (p) => `the PNG chunk at byte ${n(p.offset)} runs past the end of the file`,
  ),
  'png-crc': entry(
    (p) => `PNG 的 ${n(p.chunk)} 块（第 ${n(p.offset)} 字节）CRC 校验失败，文件可能损坏`,
    (p) => `CRC mismatch in the PNG ${n(p.chunk)} chunk at byte ${n(p.offset)}; the file may be damaged`,
  ),
  'png-no-card-chunk': entry(
    (p) => `PNG 里没有角色卡：没有关键字为 chara（V2）或 ccv3（V3）的文本块（找到的文本块：${n(p.keywords)}）`,
    (p) => `no character card in the PNG: no text chunk with keyword chara (V2) or ccv3 (V3) (text chunks found: ${n(p.keywords)})`,
  ),
  'png-text-chunk': entry(
    (p) => `PNG 的 ${n(p.chunk)} 块（第 ${n(p.offset)} 字节）格式无效`,
    (p) => `the PNG ${n(p.chunk)} chunk at byte ${n(p.offset)} is malformed`,
  ),
  'card-base64': entry(
    (p) => `PNG 的 ${n(p.keyword)} 块不是有效的 base64`,
    (p) => `the PNG ${n(p.keyword)} chunk is not valid base64`,
  ),
  'card-utf8': entry(
    (p) => `PNG 的 ${n(p.keyword)} 块解码后不是有效的 UTF-8 文本`,
    (p) => `the PNG ${n(p.keyword)} chunk does not decode to valid UTF-8 text`,
  ),
  'card-json': entry(
    (p) => `角色卡不是有效的 JSON：${n(p.detail)}`,
    (p) => `the card is not valid JSON: ${n(p.detail)}`,
  ),
  'card-not-object': entry(
    () => '角色卡的 JSON 不是一个对象',
    () => 'the card JSON is not an object',
  ),
  'card-spec': entry(
    (p) => `spec 是“${n(p.spec)}”；只支持 chara_card_v2 和 chara_card_v3`,
    (p) => `spec is "${n(p.spec)}"; only chara_card_v2 and chara_card_v3 are supported`,
  ),
  'card-data-missing': entry(
    (p) => `${n(p.spec)} 角色卡缺少 data 对象`,
    (p) => `the ${n(p.spec)} card has no data object`,
  ),
  'card-field-type': entry(
    (p) => `${n(p.field)} 必须是字符串`,
    (p) => `${n(p.field)} must be a string`,
  ),
  'card-name-missing': entry(
    () => '角色卡缺少 data.name',
    () => 'the card has no data.name',
  ),
};

function importProblemText(lang: Lang, params: FindingParams): string {
  const code = params.problem as ImportProblemCode;
  const text = IMPORT_PROBLEMS[code];
  return text === undefined ? String(code) : text[lang](params);
}

/** Returns an import problem as `where: cannot import: …`. */
export function formatImportProblem(file: string, problem: ImportProblem, lang: Lang): string {
  const where = problem.line === undefined ? file : `${file}:${problem.line}`;
  return message(lang, 'importFailed', { where, detail: IMPORT_PROBLEMS[problem.code][lang](problem.params) });
}

const IMPORT_NOTES: Record<ImportNoteCode, Entry<ImportParams>> = {
  'card-field-left-out': entry(
    (p) => `未导入 data.${n(p.field)}：pack 里没有对应的位置`,
    (p) => `left out data.${n(p.field)}: a pack has no place for it`,
  ),
  'card-book-left-out': entry(
    (p) => `未导入 data.character_book（${n(p.entries)} 个条目）：pack 没有世界书，需要的设定请手动写进 preamble`,
    (p) => `left out data.character_book (${n(p.entries)} entries): a pack has no lorebook, so copy what you need into the preamble`,
  ),
  'card-greetings-left-out': entry(
    (p) => `未导入 data.${n(p.field)}（${n(p.count)} 条）：pack 没有开场白；想保留的话，可以改写成一个示例`,
    (p) => `left out data.${n(p.field)} (${n(p.count)}): a pack has no greeting; rewrite one as an example to keep it`,
  ),
  'card-original-macro-removed': entry(
    (p) => `删掉了 data.${n(p.field)} 里的 {{original}}：它代表 SillyTavern 自己的默认提示词，pack 里没有对应内容`,
    (p) => `removed {{original}} from data.${n(p.field)}: it stands for SillyTavern's own default prompt, which a pack does not have`,
  ),
  'card-legacy-placeholders': entry(
    (p) => `把 data.${n(p.field)} 里的 <USER>、<BOT> 改写成了 {{user}}、{{char}}`,
    (p) => `rewrote <USER> and <BOT> in data.${n(p.field)} as {{user}} and {{char}}`,
  ),
  'card-turn-without-request': entry(
    (p) => `未导入第 ${n(p.block)} 段示例对话里一条前面没有 {{user}} 发言的 {{char}} 发言`,
    (p) => `left out a {{char}} turn without a {{user}} turn before it in example dialogue ${n(p.block)}`,
  ),
  'card-request-without-answer': entry(
    (p) => `未导入第 ${n(p.block)} 段示例对话末尾一条没有 {{char}} 回应的 {{user}} 发言`,
    (p) => `left out the last {{user}} turn of example dialogue ${n(p.block)}, which has no {{char}} reply`,
  ),
  'card-text-before-turns': entry(
    (p) => `未导入第 ${n(p.block)} 段示例对话里第一条发言之前的文字`,
    (p) => `left out the text before the first turn of example dialogue ${n(p.block)}`,
  ),
  'card-no-examples': entry(
    () => 'mes_example 里没有成对的 {{user}}: / {{char}}: 发言，pack 里没有示例',
    () => 'mes_example has no {{user}}: / {{char}}: pair, so the pack has no examples',
  ),
  'card-placeholder-monologues': entry(
    (p) => `${n(p.count)} 个示例的 thinking 是带“【待填写】”标记的占位独白；请换成角色真实的内心独白（lint 的 placeholder-text 规则会提示）`,
    (p) => `the thinking of ${n(p.count)} examples is a placeholder monologue marked "【待填写】"; replace it with the character's real inner monologue (lint rule placeholder-text reports it)`,
  ),
  'card-format-paragraph-added': entry(
    () => '在 preamble 末尾加了一段输出格式说明（先写 ```thinking 独白，再写回应）；按需要修改',
    () => 'added an output-format paragraph (a ```thinking monologue, then the reply) at the end of the preamble; edit it as needed',
  ),
  'png-both-chunks': entry(
    () => 'PNG 里同时有 ccv3 和 chara 两个块，使用了 ccv3（V3）',
    () => 'the PNG has both a ccv3 and a chara chunk; the ccv3 (V3) card was used',
  ),
};

export function formatImportNote(note: ImportNote, lang: Lang): string {
  return message(lang, 'importNote', { detail: IMPORT_NOTES[note.code][lang](note.params) });
}

/** Returns the English text of a finding, for the pack loader's failure reasons and warnings. */
export function findingMessageEn(finding: Finding): string {
  return findingMessage(finding, 'en');
}
