/**
 * Debian's Chromium driven through playwright-core, for the playground tests.
 * Nothing is downloaded: the browser must already be at CHROMIUM_PATH (the
 * CI script installs the `chromium` package).
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Flags that keep the browser off the network except for the page's own
 * server. Playwright adds `--user-data-dir` with a new temporary profile on
 * every launch and deletes it on close.
 */
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`Chromium not found at ${CHROMIUM_PATH}. Install it with: apt-get update && apt-get install -y chromium`);
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, timeout: 30_000 });
}

export interface OpenedPage {
  context: BrowserContext;
  page: Page;
  /** Uncaught exceptions and console errors, except failed loads that the test caused on purpose. */
  problems: string[];
  /** Every URL the page requested. */
  requestedUrls: string[];
}

/** Opens `url` in a new context (empty localStorage) and records script errors and requests. */
export async function openPage(
  browser: Browser,
  url: string,
  viewport: { width: number; height: number } = { width: 1200, height: 900 },
): Promise<OpenedPage> {
  const context = await browser.newContext({ viewport, locale: 'zh-CN' });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  const problems: string[] = [];
  const requestedUrls: string[] = [];
  page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
  page.on('console', (message) => {
    // Chromium logs every 4xx/5xx fetch as "Failed to load resource"; the
    // tests cause those on purpose (401 before a key is entered).
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
      problems.push(`console: ${message.text()}`);
    }
  });
  page.on('request', (request) => requestedUrls.push(request.url()));
  await page.goto(url, { waitUntil: 'load' });
  return { context, page, problems, requestedUrls };
}
