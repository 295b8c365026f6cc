import { PAGE_SCRIPT_SOURCE } from './page-script.js';
import { PLAYGROUND_STRINGS } from './page-strings.js';
import { PAGE_STYLE } from './page-style.js';
import { SSE_PARSER_SOURCE } from './sse-parser-source.js';

/**
 * Serialises a value as a JavaScript literal that is safe inside a <script>
 * element: `<` is escaped so no string can close the element, and U+2028 and
 * U+2029 are escaped for engines that predate ES2019.
 */
function scriptLiteral(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** The page's one inline script: the UI dictionary, the SSE parser, then the page logic. */
export const PLAYGROUND_SCRIPT = `
'use strict';
const STRINGS = ${scriptLiteral(PLAYGROUND_STRINGS)};
${SSE_PARSER_SOURCE}
${PAGE_SCRIPT_SOURCE}`;

/** The page's one inline style sheet. */
export const PLAYGROUND_STYLE = PAGE_STYLE;

/**
 * The whole playground page. The markup has no text of its own: the script
 * fills every `data-i18n` element from the dictionary, Chinese first.
 */
export const PLAYGROUND_HTML = `<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<meta name="referrer" content="no-referrer">
<title>microtune</title>
<link rel="icon" href="data:,">
<style>${PLAYGROUND_STYLE}</style>
</head>
<body>
<div class="page">
  <header>
    <div>
      <h1 data-i18n="pageTitle"></h1>
      <p class="tagline" data-i18n="tagline"></p>
    </div>
    <button type="button" id="language" data-i18n="switchLanguage" data-i18n-aria-label="switchLanguageLabel"></button>
  </header>

  <section class="card" id="key-panel" hidden>
    <form id="key-form">
      <label for="key-input" data-i18n="keyTitle"></label>
      <p class="muted" data-i18n="keyHint"></p>
      <input id="key-input" type="password" autocomplete="off" spellcheck="false" data-i18n-placeholder="keyPlaceholder">
      <div class="row">
        <button type="submit" class="primary" id="key-save" data-i18n="keySave"></button>
        <button type="button" id="key-forget" data-i18n="keyForget"></button>
      </div>
    </form>
  </section>

  <section class="card" id="setup">
    <label for="alias" data-i18n="aliasLabel"></label>
    <select id="alias" disabled></select>
    <p class="muted" id="alias-info" hidden></p>
    <label class="switch" for="show-thinking">
      <input type="checkbox" id="show-thinking">
      <span data-i18n="thinkingToggle"></span>
    </label>
    <p class="muted" data-i18n="thinkingToggleHint"></p>
    <details id="prompt-panel" hidden>
      <summary><span data-i18n="promptTitle"></span><span class="muted" id="prompt-summary-tokens"></span></summary>
      <p class="muted" id="encoding-note"></p>
      <div id="prompt-list"></div>
    </details>
  </section>

  <p id="status" hidden><span id="status-text"></span><span id="status-detail" hidden></span></p>

  <section id="chat" aria-busy="false">
    <p class="muted" id="empty-chat" data-i18n="emptyChat"></p>
  </section>

  <form class="composer" id="composer">
    <label for="input" class="visually-hidden" data-i18n="inputLabel"></label>
    <textarea id="input" rows="3" data-i18n-placeholder="inputPlaceholder"></textarea>
    <div class="actions">
      <button type="submit" class="primary" id="send" data-i18n="send"></button>
      <button type="button" id="stop" data-i18n="stop" hidden></button>
      <button type="button" id="clear" data-i18n="clear"></button>
    </div>
  </form>
</div>
<noscript>这个页面需要 JavaScript。This page needs JavaScript.</noscript>
<script>${PLAYGROUND_SCRIPT}</script>
</body>
</html>
`;
