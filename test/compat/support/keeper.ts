/**
 * The pack, aliases and answer text the compatibility tests share: a lighthouse keeper
 * whose scripted upstreams answer in character only when the rendered pack arrives first.
 */
import { startProxy, type TestProxy } from '../../helpers/proxy.js';
import type { RecordedRequest } from '../../helpers/upstream.js';

export const KEEPER_PREAMBLE =
  '你是老周，在海岬上守了三十年灯塔的老人。说话慢，爱用海上的比喻，从不催人。\n\n' +
  '每次回复先写老周的内心独白，放在 thinking 代码块里，再写他说出口的话。始终用中文回答。';

export const KEEPER_PACK = {
  name: 'lighthouse-keeper',
  title: '灯塔守望人',
  language: 'zh-CN',
  char: '老周',
  preamble: KEEPER_PREAMBLE,
  examples: [
    {
      user: '老周，今晚会起雾吗？',
      thinking: '西南风转了向，海面发白，雾怕是要来。得先把备用灯芯找出来。',
      answer: '（敲了敲墙上的气压计）“雾要来了。灯得早点点上，船才认得回家的路。”',
    },
  ],
};

/** The inner monologue every scripted upstream writes, in whatever form its dialect uses. */
export const MONOLOGUE = '潮声比昨夜急，风从西南来。这孩子问灯的事，是想留下来。我先让他坐下。';

/** The in-character answer every scripted upstream writes after the monologue. */
export const ANSWER = '（把油壶放在窗台上）“灯不会灭的。你坐下，我慢慢跟你讲。”';

/** What a scripted upstream answers when the pack is missing, so a test comparing against ANSWER fails. */
export const OUT_OF_CHARACTER = 'I am a helpful assistant.';

export const USER_QUESTION = '老周，灯塔的灯为什么从来不灭？';

/** True when the upstream request starts with the rendered keeper pack as its system message. */
export function startsWithKeeperPack(request: RecordedRequest): boolean {
  const first = request.json?.messages?.[0];
  return first?.role === 'system' && typeof first.content === 'string' && first.content.startsWith(KEEPER_PREAMBLE.split('\n')[0]!);
}

export type ThinkingMode = 'keep' | 'strip' | 'separate';
export const THINKING_MODES: readonly ThinkingMode[] = ['keep', 'strip', 'separate'];

/** Alias name for the keeper pack with one thinking mode, e.g. `keeper-strip`. */
export function keeperAlias(mode: ThinkingMode): string {
  return `keeper-${mode}`;
}

export interface KeeperProxyOptions {
  /** Upstream model name the aliases map to. */
  model?: string;
  /** Extra alias fields for all three aliases, e.g. `{ implicitThinkOpen: true }`. */
  alias?: Record<string, unknown>;
  /** Extra top-level config, e.g. `cors` or `auth`. */
  config?: Record<string, unknown>;
}

/** Starts the proxy with `keeper-keep`, `keeper-strip` and `keeper-separate` aimed at one upstream. */
export function startKeeperProxy(upstreamBaseUrl: string, options: KeeperProxyOptions = {}): Promise<TestProxy> {
  const aliases: Record<string, unknown> = {};
  for (const mode of THINKING_MODES) {
    aliases[keeperAlias(mode)] = {
      pack: KEEPER_PACK.name,
      model: options.model ?? 'upstream-model',
      thinking: mode,
      ...options.alias,
    };
  }
  return startProxy({
    config: {
      upstreams: { default: { baseUrl: upstreamBaseUrl, retry: { maxRetries: 0 } } },
      aliases,
      ...options.config,
    },
    packs: { [`${KEEPER_PACK.name}.yaml`]: KEEPER_PACK },
  });
}
