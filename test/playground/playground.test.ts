import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { ServerResponse } from 'node:http';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { countTokens } from '../../src/packs/count-tokens.js';
import { startProxy, type TestProxy } from '../helpers/proxy.js';
import { sleep, sseChunk, startUpstream, type RecordedRequest, type TestUpstream } from '../helpers/upstream.js';
import { launchChromium, openPage, type OpenedPage } from './browser.js';

const SCREENSHOT_PATH = path.join('test-artifacts', 'playground.png');

const DOCTOR_PACK = {
  name: 'night-doctor',
  title: '第一次夜班的实习医生',
  preamble: '你是林晓，第一次独立值夜班的规培医生。始终用中文回答。',
  examples: [
    {
      user: '医生，我爸发烧了，你们管不管？',
      thinking: '她急得很，我先让她坐下，把做过的事讲清楚。',
      answer: '（站起来）“我就是值班医生，您先坐，我慢慢跟您说。”',
    },
  ],
};

const MONOLOGUE = '她问我是不是第一次值班……手心全是汗，但不能让病人看出来。';
const REASONING_FIELD = '上游推理字段：先核对床号。';
const ANSWER_HEAD = '（捏了捏口袋里的笔）“是、是第一次，';
const ANSWER_TAIL = '但我会把每一床都看好的。”';
const ANSWER = ANSWER_HEAD + ANSWER_TAIL;

// The upstream behaves according to the last user message.
const SLOW_QUESTION = '林医生，今晚是你第一次值夜班吗？';
const BROKEN_QUESTION = '喂？信号不太好……';
const LONG_WORD = 'x'.repeat(240);

/** How long the upstream holds the second half of a slow answer if the test never releases it. */
const MAX_PAUSE_MS = 10_000;

let releaseSlowAnswer: (() => void) | undefined;

function lastUserText(request: RecordedRequest): string {
  const messages = (request.json?.messages ?? []) as { role: string; content: unknown }[];
  const last = messages.filter((message) => message.role === 'user').at(-1);
  return typeof last?.content === 'string' ? last.content : '';
}

/** Waits until the test calls releaseSlowAnswer, or MAX_PAUSE_MS. */
function slowAnswerGate(): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, MAX_PAUSE_MS);
    releaseSlowAnswer = () => {
      clearTimeout(timer);
      resolve();
    };
  });
}

/**
 * A reasoning model that writes a `reasoning` field, then a ```thinking
 * fence with the monologue, then the answer in two parts.
 */
async function answerWithThinking(request: RecordedRequest, response: ServerResponse): Promise<void> {
  const question = lastUserText(request);
  response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
  response.flushHeaders();
  const send = (text: string) => {
    if (!response.destroyed) response.write(text);
  };

  send(sseChunk({ role: 'assistant', content: '' }));
  send(sseChunk({ reasoning: REASONING_FIELD }));
  send(sseChunk({ content: '```thinking\n' }));
  send(sseChunk({ content: `${MONOLOGUE}\n` }));
  send(sseChunk({ content: '```\n' }));
  send(sseChunk({ content: ANSWER_HEAD }));

  if (question === BROKEN_QUESTION) {
    await sleep(50);
    response.socket?.destroy();
    return;
  }
  // Longer than the proxy's keepAliveCommentMs (250 here), so the stream carries `: keep-alive` comments.
  if (question === SLOW_QUESTION) await slowAnswerGate();
  else await sleep(600);

  const tail = question.includes(LONG_WORD) ? `${ANSWER_TAIL}${LONG_WORD}` : ANSWER_TAIL;
  send(sseChunk({ content: tail }));
  send(sseChunk({}, { finishReason: 'stop' }));
  send('data: [DONE]\n\n');
  response.end();
}

let upstream: TestUpstream;
let proxy: TestProxy;
let browser: Browser;
const openedPages: OpenedPage[] = [];

async function startPlaygroundProxy(extraConfig: Record<string, unknown> = {}): Promise<TestProxy> {
  return startProxy({
    config: {
      server: { keepAliveCommentMs: 250 },
      upstreams: { default: { baseUrl: upstream.baseUrl, apiKey: 'sk-upstream-secret', retry: { maxRetries: 0 } } },
      aliases: { 'night-doctor': { pack: 'night-doctor', upstream: 'default', model: 'reasoner-8b', thinking: 'strip' } },
      ...extraConfig,
    },
    packs: { 'night-doctor.yaml': DOCTOR_PACK },
  });
}

async function open(url: string, viewport?: { width: number; height: number }): Promise<OpenedPage> {
  const opened = await openPage(browser, url, viewport);
  openedPages.push(opened);
  return opened;
}

/** Waits for the alias list, selects the alias, sends `text` and returns the new assistant message's locators. */
async function sendMessage(opened: OpenedPage, text: string, via: 'button' | 'enter' = 'button') {
  const { page } = opened;
  await page.locator('#alias option[value="night-doctor"]').waitFor({ state: 'attached' });
  await page.selectOption('#alias', 'night-doctor');
  const turnsBefore = await page.locator('.turn').count();
  await page.fill('#input', text);
  if (via === 'enter') await page.press('#input', 'Enter');
  else await page.click('#send');
  const turn = page.locator('.turn').nth(turnsBefore);
  await turn.waitFor();
  return {
    turn,
    answer: turn.locator('.message.assistant .answer'),
    thinking: turn.locator('.message.assistant .thinking'),
    thinkingText: turn.locator('.message.assistant .thinking-text'),
    note: turn.locator('.turn-note'),
  };
}

async function waitUntilIdle(opened: OpenedPage): Promise<void> {
  await opened.page.locator('#stop').waitFor({ state: 'hidden', timeout: 15_000 });
}

beforeAll(async () => {
  upstream = await startUpstream(answerWithThinking);
  proxy = await startPlaygroundProxy();
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await proxy?.close();
  await upstream?.close();
});

afterEach(async () => {
  releaseSlowAnswer?.();
  for (const opened of openedPages.splice(0)) {
    const { problems, requestedUrls } = opened;
    await opened.context.close();
    expect(problems, 'script errors on the page').toEqual([]);
    const foreign = requestedUrls.filter((url) => !url.startsWith('http://127.0.0.1:') && !url.startsWith('data:'));
    expect(foreign, 'requests to other hosts').toEqual([]);
  }
});

describe('playground page over HTTP', () => {
  it('serves self-contained HTML', async () => {
    const response = await fetch(`${proxy.url}/playground`);
    const html = await response.text();

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('content-security-policy')).toContain("connect-src 'self'");
    expect(html).toContain('<meta name="viewport"');
    const urls = html.match(/https?:\/\/[^\s"'<>)]+/gi) ?? [];
    const ownOrigin = new URL(proxy.url).host;
    expect(urls.filter((url) => new URL(url).host !== ownOrigin), 'URLs to other hosts').toEqual([]);
    expect(html, 'no external scripts, styles or fonts').not.toMatch(/<(script|link|img)[^>]+(src|href)=["'](?!data:)/i);
  });

  it('redirects the trailing slash', async () => {
    const response = await fetch(`${proxy.url}/playground/`, { redirect: 'manual' });

    expect(response.status).toBe(308);
    expect(new URL(response.headers.get('location') ?? '', `${proxy.url}/playground/`).pathname).toBe('/playground');
  });

  it('stays open when proxy keys are on', async () => {
    const keyed = await startPlaygroundProxy({ auth: { apiKeys: ['sk-proxy-key'] } });
    try {
      const page = await fetch(`${keyed.url}/playground`);
      const aliases = await fetch(`${keyed.url}/v1/microtune/aliases`);
      expect(page.status).toBe(200);
      expect(aliases.status).toBe(401);
    } finally {
      await keyed.close();
    }
  });
});

describe('playground page in Chromium', { timeout: 60_000 }, () => {
  it('streams an answer without the monologue', async () => {
    const opened = await open(`${proxy.url}/playground`);
    const { answer, thinking } = await sendMessage(opened, SLOW_QUESTION);

    // The upstream holds the second half until released, so this text can only come from a live stream.
    await expect.poll(() => answer.textContent(), { timeout: 10_000 }).toContain(ANSWER_HEAD);
    expect(await answer.textContent()).not.toContain(ANSWER_TAIL);
    expect(await opened.page.locator('#stop').isVisible(), 'stop button while streaming').toBe(true);

    releaseSlowAnswer?.();
    await waitUntilIdle(opened);
    expect(await answer.textContent()).toBe(ANSWER);
    expect(await thinking.isVisible(), 'thinking block with the toggle off').toBe(false);
    const pageText = await opened.page.locator('#chat').innerText();
    expect(pageText).not.toContain(MONOLOGUE);
    expect(pageText).not.toContain(REASONING_FIELD);
    expect(pageText).not.toContain('```');
    expect(upstream.requests.at(-1)?.json?.model).toBe('reasoner-8b');
  });

  it('shows thinking when the toggle is on', async () => {
    const opened = await open(`${proxy.url}/playground`);
    // Records the text the page decodes from the stream: CDP keeps no body of a streamed fetch.
    await opened.context.addInitScript(() => {
      const decode = TextDecoder.prototype.decode;
      (window as unknown as { decodedText: string }).decodedText = '';
      TextDecoder.prototype.decode = function (this: TextDecoder, ...args: Parameters<TextDecoder['decode']>) {
        const text = decode.apply(this, args);
        (window as unknown as { decodedText: string }).decodedText += text;
        return text;
      };
    });
    await opened.page.reload();
    await opened.page.check('#show-thinking');
    const { answer, thinking, thinkingText } = await sendMessage(opened, '你怕不怕？');
    await waitUntilIdle(opened);

    // The upstream pauses longer than keepAliveCommentMs, so the page parsed past SSE comments.
    const decodedText = await opened.page.evaluate(() => (window as unknown as { decodedText: string }).decodedText);
    expect(decodedText).toContain(': keep-alive');
    expect(decodedText).toContain('data: [DONE]');

    expect(await thinking.isVisible()).toBe(true);
    expect(await thinkingText.textContent()).toContain(MONOLOGUE);
    expect(await thinkingText.textContent()).toContain(REASONING_FIELD);
    expect(await answer.textContent()).toBe(ANSWER);
    const thinkingBox = await thinking.boundingBox();
    const answerBox = await answer.boundingBox();
    expect(thinkingBox!.y, 'thinking block above the answer').toBeLessThan(answerBox!.y);

    await thinking.locator('summary').click();
    expect(await thinkingText.isVisible(), 'thinking block collapses').toBe(false);

    // The proxy does not forward x-microtune-* headers, so the toggle is checked by what the page shows.
    await opened.page.uncheck('#show-thinking');
    const second = await sendMessage(opened, '那你现在做什么？');
    await waitUntilIdle(opened);
    expect(await second.thinking.isVisible()).toBe(false);
    expect(await second.answer.textContent()).toBe(ANSWER);
  });

  it('keeps history and clears it', async () => {
    const opened = await open(`${proxy.url}/playground`);
    await sendMessage(opened, '第一句');
    await waitUntilIdle(opened);
    await sendMessage(opened, '第二句', 'enter');
    await waitUntilIdle(opened);

    const sent = upstream.requests.at(-1)?.json?.messages as { role: string; content: string }[];
    expect(sent.slice(1)).toEqual([
      { role: 'user', content: '第一句' },
      { role: 'assistant', content: ANSWER },
      { role: 'user', content: '第二句' },
    ]);

    await opened.page.click('#clear');
    expect(await opened.page.locator('.turn').count()).toBe(0);
    await sendMessage(opened, '重新开始');
    await waitUntilIdle(opened);
    const afterClear = upstream.requests.at(-1)?.json?.messages as { role: string; content: string }[];
    expect(afterClear.slice(1)).toEqual([{ role: 'user', content: '重新开始' }]);
  });

  it('shows the pack prompt and token count', async () => {
    const opened = await open(`${proxy.url}/playground`);
    await sendMessage(opened, '你好');
    await waitUntilIdle(opened);
    const renderedText = upstream.requests.at(-1)?.json?.messages[0]?.content as string;
    expect(renderedText).toContain(DOCTOR_PACK.preamble);

    await opened.page.click('#prompt-panel summary');
    const packText = opened.page.locator('.pack[data-pack="night-doctor"] .pack-text');
    const tokens = opened.page.locator('.pack[data-pack="night-doctor"] .pack-tokens');
    expect(await packText.isVisible()).toBe(true);
    expect(await packText.textContent()).toBe(renderedText);
    expect(await tokens.getAttribute('data-tokens')).toBe(String(countTokens(renderedText)));
    expect(await tokens.textContent()).toContain(String(countTokens(renderedText)));
    expect(await opened.page.locator('#encoding-note').textContent()).toContain('o200k_base');
    expect(await opened.page.locator('#alias-info').textContent()).toContain('reasoner-8b');
  });

  it('switches to English', async () => {
    const opened = await open(`${proxy.url}/playground`);
    const { page } = opened;
    await page.locator('#alias option').first().waitFor({ state: 'attached' });

    expect(await page.locator('#send').textContent()).toBe('发送');
    expect(await page.getAttribute('html', 'lang')).toBe('zh-CN');
    await page.click('#language');
    expect(await page.locator('#send').textContent()).toBe('Send');
    expect(await page.locator('label[for="alias"]').textContent()).toBe('Alias');
    expect(await page.getAttribute('html', 'lang')).toBe('en');

    await page.reload();
    expect(await page.locator('#send').textContent(), 'language kept after reload').toBe('Send');
  });

  it('stops a streaming answer', async () => {
    const opened = await open(`${proxy.url}/playground`);
    const { answer, note } = await sendMessage(opened, SLOW_QUESTION);
    await expect.poll(() => answer.textContent(), { timeout: 10_000 }).toContain(ANSWER_HEAD);
    await opened.page.click('#stop');
    await waitUntilIdle(opened);

    expect(await note.textContent()).toContain('已停止');
    expect(await note.textContent()).toContain('没有计入对话');
    expect(await opened.page.locator('#status').isVisible(), 'no error line for a stop').toBe(false);
    releaseSlowAnswer?.();
    await sendMessage(opened, '再说一遍？');
    await waitUntilIdle(opened);
    const sent = upstream.requests.at(-1)?.json?.messages as { role: string; content: string }[];
    expect(sent.slice(1)).toEqual([{ role: 'user', content: '再说一遍？' }]);
  });

  it('reports a broken stream', async () => {
    const opened = await open(`${proxy.url}/playground`);
    const { answer, note } = await sendMessage(opened, BROKEN_QUESTION);
    await waitUntilIdle(opened);

    expect(await answer.textContent()).toBe(ANSWER_HEAD);
    expect(await note.textContent()).toContain('回答中途出错');
    expect(await opened.page.locator('#status').isVisible()).toBe(true);
    expect(await opened.page.locator('#status').getAttribute('role')).toBe('alert');

    // A failed turn is not sent with the next message.
    await sendMessage(opened, '现在呢？');
    await waitUntilIdle(opened);
    const sent = upstream.requests.at(-1)?.json?.messages as { role: string; content: string }[];
    expect(sent.slice(1)).toEqual([{ role: 'user', content: '现在呢？' }]);
  });

  it('reports an unreachable proxy', async () => {
    const spare = await startPlaygroundProxy();
    const opened = await open(`${spare.url}/playground`);
    await opened.page.locator('#alias option').first().waitFor({ state: 'attached' });
    await spare.close();

    const { note } = await sendMessage(opened, '还在吗？');
    await waitUntilIdle(opened);
    expect(await note.textContent()).toContain('连不上代理');
  });

  it('fits a phone screen', async () => {
    const opened = await open(`${proxy.url}/playground`, { width: 390, height: 844 });
    const { page } = opened;
    await page.check('#show-thinking');
    await sendMessage(opened, SLOW_QUESTION);
    releaseSlowAnswer?.();
    await waitUntilIdle(opened);
    await sendMessage(opened, `一个很长的词：${LONG_WORD}`);
    await waitUntilIdle(opened);
    await page.click('#prompt-panel summary');

    const overflow = await page.evaluate(() => {
      const width = document.documentElement.clientWidth;
      const offenders = [...document.querySelectorAll('body *')]
        .filter((element) => element.getBoundingClientRect().right > width + 0.5)
        .map((element) => `${element.tagName.toLowerCase()}#${element.id}.${element.className}`);
      return { width, scrollWidth: document.documentElement.scrollWidth, offenders };
    });
    expect(overflow.scrollWidth, 'page width').toBeLessThanOrEqual(overflow.width);
    expect(overflow.offenders, 'elements past the right edge').toEqual([]);

    const smallTargets = await page.evaluate(() =>
      [...document.querySelectorAll('button, select, summary, textarea')]
        .filter((element) => (element as HTMLElement).offsetParent !== null)
        .filter((element) => element.getBoundingClientRect().height < 44)
        .map((element) => `${element.tagName.toLowerCase()}#${element.id}`),
    );
    expect(smallTargets, 'tap targets under 44 px').toEqual([]);

    // The picture shows what a phone shows: the first turn with its thinking, and the composer.
    await page.click('#prompt-panel summary');
    await page.evaluate(() => window.scrollTo(0, 0));
    mkdirSync(path.dirname(SCREENSHOT_PATH), { recursive: true });
    await page.screenshot({ path: SCREENSHOT_PATH });
  });

  it('asks for the proxy key', async () => {
    const keyed = await startPlaygroundProxy({ auth: { apiKeys: ['sk-proxy-key'] } });
    try {
      const opened = await open(`${keyed.url}/playground`);
      const { page } = opened;
      await page.locator('#key-panel').waitFor({ state: 'visible' });
      expect(await page.locator('#status-text').textContent()).toContain('需要密钥');

      await page.fill('#key-input', 'sk-wrong');
      await page.click('#key-save');
      await expect.poll(() => page.locator('#status-text').textContent()).toContain('不接受这个密钥');
      expect(await page.locator('#key-panel').isVisible()).toBe(true);

      await page.fill('#key-input', 'sk-proxy-key');
      await page.click('#key-save');
      await page.locator('#key-panel').waitFor({ state: 'hidden' });
      const { answer } = await sendMessage(opened, '你好');
      await waitUntilIdle(opened);
      expect(await answer.textContent()).toBe(ANSWER);
      const upstreamRequest = upstream.requests.at(-1);
      expect(upstreamRequest?.headers.authorization, 'the upstream gets its own key').toBe('Bearer sk-upstream-secret');

      // The stored key is sent again after the first 401 of a new page load.
      await page.reload();
      await page.locator('#alias option[value="night-doctor"]').waitFor({ state: 'attached' });
      expect(await page.locator('#key-panel').isVisible()).toBe(false);
    } finally {
      await keyed.close();
    }
  });

  it('sends no key to a proxy without keys', async () => {
    const opened = await open(`${proxy.url}/playground`);
    const { page } = opened;
    await page.evaluate(() => localStorage.setItem('microtune.playground.apiKey', 'sk-stale'));
    const sentAuthorization: (string | undefined)[] = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname.startsWith('/v1/')) sentAuthorization.push(request.headers().authorization);
    });
    await page.reload();
    await sendMessage(opened, '你好');
    await waitUntilIdle(opened);

    expect(sentAuthorization.length, 'requests to /v1').toBe(2);
    expect(sentAuthorization, 'Authorization headers sent').toEqual([undefined, undefined]);
    expect(await page.locator('#key-panel').isVisible()).toBe(false);
  });
});
