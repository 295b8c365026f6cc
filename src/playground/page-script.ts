/**
 * Browser JavaScript of the playground page, run as an inline script after
 * `STRINGS` (the UI dictionary) and `createSseParser` are defined. It talks
 * only to the proxy that served the page, through relative URLs, so the page
 * also works behind a reverse proxy that mounts microtune under a path.
 *
 * The source avoids backticks and dollar-brace pairs because it lives in a
 * String.raw template literal.
 */
export const PAGE_SCRIPT_SOURCE = String.raw`
(() => {
  const ALIASES_URL = 'v1/microtune/aliases';
  const CHAT_URL = 'v1/chat/completions';
  const STORAGE = {
    apiKey: 'microtune.playground.apiKey',
    language: 'microtune.playground.language',
    showThinking: 'microtune.playground.showThinking',
    alias: 'microtune.playground.alias',
  };
  const MAX_DETAIL_CHARS = 400;

  const byId = (id) => document.getElementById(id);
  const elements = {
    language: byId('language'),
    keyPanel: byId('key-panel'),
    keyForm: byId('key-form'),
    keyInput: byId('key-input'),
    keyForget: byId('key-forget'),
    alias: byId('alias'),
    aliasInfo: byId('alias-info'),
    showThinking: byId('show-thinking'),
    promptPanel: byId('prompt-panel'),
    promptSummaryTokens: byId('prompt-summary-tokens'),
    encodingNote: byId('encoding-note'),
    promptList: byId('prompt-list'),
    status: byId('status'),
    statusText: byId('status-text'),
    statusDetail: byId('status-detail'),
    chat: byId('chat'),
    emptyChat: byId('empty-chat'),
    composer: byId('composer'),
    input: byId('input'),
    send: byId('send'),
    stop: byId('stop'),
    clear: byId('clear'),
  };

  // localStorage throws in some private browsing modes, so there nothing is kept across reloads.
  function readStored(name) {
    try {
      return window.localStorage.getItem(name);
    } catch (error) {
      return null;
    }
  }

  function writeStored(name, value) {
    try {
      if (value === null) window.localStorage.removeItem(name);
      else window.localStorage.setItem(name, value);
    } catch (error) {
      // Nothing to do: the value lives only as long as the page.
    }
  }

  const state = {
    language: readStored(STORAGE.language) === 'en' ? 'en' : 'zh',
    aliases: [],
    tokenEncoding: '',
    // Set after the first 401. Until then no key is sent, because a proxy
    // without keys forwards the client's Authorization to the upstream.
    keyRequired: false,
    // Completed turns only, in the order sent. The next request carries them.
    history: [],
    controller: null,
  };

  // --- text and language ------------------------------------------------------

  function translate(key, params) {
    const table = STRINGS[state.language];
    let text = Object.prototype.hasOwnProperty.call(table, key) ? table[key] : key;
    if (params) {
      text = text.replace(/\{(\w+)\}/g, (whole, name) =>
        Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole,
      );
    }
    return text;
  }

  // Sets the text from the dictionary and records the key, so that a language switch redoes it.
  function setText(element, key, params) {
    element.dataset.i18n = key;
    if (params) element.dataset.i18nParams = JSON.stringify(params);
    else delete element.dataset.i18nParams;
    element.textContent = translate(key, params);
  }

  function applyLanguage() {
    document.documentElement.lang = state.language === 'zh' ? 'zh-CN' : 'en';
    document.title = translate('pageTitle');
    for (const element of document.querySelectorAll('[data-i18n]')) {
      const params = element.dataset.i18nParams ? JSON.parse(element.dataset.i18nParams) : undefined;
      element.textContent = translate(element.dataset.i18n, params);
    }
    for (const element of document.querySelectorAll('[data-i18n-placeholder]')) {
      element.placeholder = translate(element.dataset.i18nPlaceholder);
    }
    for (const element of document.querySelectorAll('[data-i18n-aria-label]')) {
      element.setAttribute('aria-label', translate(element.dataset.i18nAriaLabel));
    }
  }

  function makeElement(tag, className) {
    const element = document.createElement(tag);
    if (className) element.className = className;
    return element;
  }

  function shorten(text) {
    return text.length > MAX_DETAIL_CHARS ? text.slice(0, MAX_DETAIL_CHARS) + '…' : text;
  }

  // --- status line ------------------------------------------------------------

  function showStatus(key, params, detail, kind) {
    setText(elements.statusText, key, params);
    if (detail) {
      elements.statusDetail.hidden = false;
      setDetail(elements.statusDetail, detail);
    } else {
      elements.statusDetail.hidden = true;
      elements.statusDetail.textContent = '';
    }
    elements.status.className = kind === 'info' ? 'info' : 'error';
    elements.status.setAttribute('role', kind === 'info' ? 'status' : 'alert');
    elements.status.hidden = false;
  }

  function hideStatus() {
    elements.status.hidden = true;
  }

  // A detail line: a translated label followed by the server's own words, which stay untranslated.
  function setDetail(element, detail) {
    element.textContent = '';
    const label = makeElement('span');
    setText(label, 'details');
    element.append(label, document.createTextNode(shorten(detail)));
  }

  // --- requests to the proxy --------------------------------------------------

  function storedKey() {
    const key = readStored(STORAGE.apiKey);
    return key !== null && key.trim() !== '' ? key.trim() : null;
  }

  // Fetches from the proxy. The first 401 turns keyRequired on, and the request is
  // repeated once with the stored key when there is one.
  async function requestProxy(url, init) {
    const attempt = () => {
      const headers = new Headers(init.headers || {});
      const key = storedKey();
      if (state.keyRequired && key !== null) headers.set('authorization', 'Bearer ' + key);
      return fetch(url, Object.assign({}, init, { headers, cache: 'no-store', credentials: 'same-origin' }));
    };
    let response = await attempt();
    if (response.status === 401 && !state.keyRequired) {
      state.keyRequired = true;
      if (storedKey() !== null) {
        await discardBody(response);
        response = await attempt();
      }
    }
    return response;
  }

  async function discardBody(response) {
    try {
      if (response.body) await response.body.cancel();
    } catch (error) {
      // The body is unused either way.
    }
  }

  // Reads an error body: message and code from OpenAI's error shape, or the raw text as the message.
  async function readError(response) {
    let text = '';
    try {
      text = await response.text();
    } catch (error) {
      return { message: '', code: null };
    }
    try {
      const body = JSON.parse(text);
      if (body && typeof body === 'object' && body.error && typeof body.error === 'object') {
        return {
          message: typeof body.error.message === 'string' ? body.error.message : text,
          code: typeof body.error.code === 'string' ? body.error.code : null,
        };
      }
    } catch (error) {
      // Not JSON: the raw text is the message.
    }
    return { message: text.trim(), code: null };
  }

  function errorKeyFor(status, code) {
    if (status === 429) return 'errorRateLimit';
    if (code === 'pack_unavailable') return 'errorPack';
    if (status === 502 || status === 504) return 'errorUpstream';
    return 'errorHttp';
  }

  function askForKey(error) {
    elements.keyPanel.hidden = false;
    showStatus(error.code === 'invalid_api_key' ? 'errorKeyInvalid' : 'errorKeyMissing', null, error.message);
    elements.keyInput.focus();
  }

  // --- aliases and the system prompt panel ------------------------------------

  function currentAlias() {
    return state.aliases.find((alias) => alias.id === elements.alias.value);
  }

  function isAliasList(body) {
    return (
      body !== null &&
      typeof body === 'object' &&
      Array.isArray(body.data) &&
      body.data.every((alias) => alias && typeof alias.id === 'string' && Array.isArray(alias.packs))
    );
  }

  async function loadAliases() {
    elements.alias.disabled = true;
    showStatus('aliasLoading', null, null, 'info');
    let response;
    try {
      response = await requestProxy(ALIASES_URL, { headers: { accept: 'application/json' } });
    } catch (error) {
      showStatus('errorNetwork', null, String(error && error.message ? error.message : error));
      return false;
    }
    if (response.status === 401) {
      askForKey(await readError(response));
      return false;
    }
    if (!response.ok) {
      const error = await readError(response);
      showStatus('errorAliases', { status: response.status }, error.message);
      return false;
    }
    let body;
    try {
      body = await response.json();
    } catch (error) {
      body = null;
    }
    if (!isAliasList(body)) {
      showStatus('errorAliasesFormat');
      return false;
    }

    state.aliases = body.data;
    state.tokenEncoding = typeof body.tokenEncoding === 'string' ? body.tokenEncoding : '';
    fillAliasSelect();
    if (state.aliases.length === 0) showStatus('errorNoAliases');
    else hideStatus();
    return true;
  }

  function fillAliasSelect() {
    const previous = elements.alias.value || readStored(STORAGE.alias);
    elements.alias.textContent = '';
    for (const alias of state.aliases) {
      const option = makeElement('option');
      option.value = alias.id;
      const titles = alias.packs.map((pack) => pack.title).filter((title) => typeof title === 'string' && title !== '');
      option.textContent = titles.length > 0 ? alias.id + ' · ' + titles.join(' / ') : alias.id;
      elements.alias.append(option);
    }
    if (state.aliases.some((alias) => alias.id === previous)) elements.alias.value = previous;
    elements.alias.disabled = state.aliases.length === 0;
    renderAlias();
  }

  function renderAlias() {
    const alias = currentAlias();
    elements.promptList.textContent = '';
    elements.promptSummaryTokens.textContent = '';
    if (!alias) {
      elements.aliasInfo.hidden = true;
      elements.promptPanel.hidden = true;
      return;
    }
    elements.aliasInfo.hidden = false;
    setText(elements.aliasInfo, 'aliasInfo', { upstream: alias.upstream, model: alias.model, thinking: alias.thinking });
    elements.promptPanel.hidden = false;
    setText(elements.encodingNote, 'encodingNote', { encoding: state.tokenEncoding || 'o200k_base' });

    if (alias.packs.length === 0) {
      const note = makeElement('p', 'muted');
      setText(note, 'promptNone');
      elements.promptList.append(note);
      return;
    }
    if (alias.packs.length > 1) {
      const note = makeElement('p', 'muted');
      setText(note, 'promptVariants', { count: alias.packs.length });
      elements.promptList.append(note);
    }
    for (const pack of alias.packs) elements.promptList.append(renderPack(pack));
    const loaded = alias.packs.filter((pack) => typeof pack.tokens === 'number');
    if (alias.packs.length === 1 && loaded.length === 1) {
      setText(elements.promptSummaryTokens, 'promptTokens', { count: loaded[0].tokens });
    }
  }

  function renderPack(pack) {
    const block = makeElement('div', 'pack');
    block.dataset.pack = pack.name;
    const heading = makeElement('h3', 'pack-name');
    heading.textContent = pack.title ? pack.title + ' (' + pack.name + ')' : pack.name;
    block.append(heading);
    if (typeof pack.systemPrompt !== 'string') {
      const problem = makeElement('p', 'pack-problem');
      setText(problem, 'packProblem', { problem: pack.problem || '' });
      block.append(problem);
      return block;
    }
    const tokens = makeElement('p', 'muted pack-tokens');
    tokens.dataset.tokens = String(pack.tokens);
    setText(tokens, 'promptTokens', { count: pack.tokens });
    const text = makeElement('pre', 'pack-text');
    text.textContent = pack.systemPrompt;
    block.append(tokens, text);
    return block;
  }

  // --- the conversation -------------------------------------------------------

  function isNearBottom() {
    return window.innerHeight + window.scrollY >= document.documentElement.scrollHeight - 160;
  }

  function keepScrolled(wasNearBottom) {
    if (wasNearBottom) window.scrollTo(0, document.documentElement.scrollHeight);
  }

  function addTurn(text, aliasId) {
    elements.emptyChat.hidden = true;
    const turn = makeElement('article', 'turn');

    const user = makeElement('div', 'message user');
    const userRole = makeElement('div', 'role');
    setText(userRole, 'you');
    const userText = makeElement('div', 'text');
    userText.textContent = text;
    user.append(userRole, userText);

    const assistant = makeElement('div', 'message assistant');
    const assistantRole = makeElement('div', 'role');
    assistantRole.textContent = aliasId;
    const thinking = makeElement('details', 'thinking');
    thinking.open = true;
    thinking.hidden = true;
    const thinkingSummary = makeElement('summary');
    setText(thinkingSummary, 'thinkingTitle');
    const thinkingText = makeElement('div', 'thinking-text');
    thinking.append(thinkingSummary, thinkingText);
    const answer = makeElement('div', 'answer');
    const waiting = makeElement('span', 'waiting');
    setText(waiting, 'waiting');
    answer.append(waiting);
    const note = makeElement('p', 'turn-note');
    note.hidden = true;
    assistant.append(assistantRole, thinking, answer, note);

    turn.append(user, assistant);
    elements.chat.append(turn);
    window.scrollTo(0, document.documentElement.scrollHeight);
    return { element: turn, thinking, thinkingText, answer, waiting, note, answerText: '', finishReason: null };
  }

  function appendTo(target, text, turn) {
    if (text === '') return;
    const wasNearBottom = isNearBottom();
    turn.waiting.remove();
    target.append(document.createTextNode(text));
    keepScrolled(wasNearBottom);
  }

  function addNote(turn, key, params, detail) {
    const line = makeElement('span');
    setText(line, key, params);
    turn.note.append(line);
    if (detail) {
      const detailLine = makeElement('span', 'detail');
      setDetail(detailLine, detail);
      turn.note.append(' ', detailLine);
    }
    turn.note.append(' ');
    turn.note.hidden = false;
  }

  // Adds one chat.completion.chunk to the turn: thinking (when shown), answer text and finish reason.
  function applyChunk(payload, turn, showThinking) {
    const choices = payload && Array.isArray(payload.choices) ? payload.choices : [];
    const choice = choices.find((item) => item && item.index === 0) || choices[0];
    if (!choice) return;

    const delta = choice.delta || {};
    if (showThinking && typeof delta.reasoning_content === 'string' && delta.reasoning_content !== '') {
      turn.thinking.hidden = false;
      appendTo(turn.thinkingText, delta.reasoning_content, turn);
    }
    if (typeof delta.content === 'string' && delta.content !== '') {
      turn.answerText += delta.content;
      appendTo(turn.answer, delta.content, turn);
    }
    if (choice.finish_reason) turn.finishReason = choice.finish_reason;
  }

  // Handles one SSE event. Returns { done: true } for [DONE], { failure } for an
  // error event or unparsable data, and null after applying a chunk.
  function handleEvent(event, turn, showThinking) {
    if (event.data === '[DONE]') return { done: true };

    let payload;
    try {
      payload = JSON.parse(event.data);
    } catch (error) {
      return { failure: { key: 'errorBadEvent', detail: event.data } };
    }
    if (event.type === 'error' || (payload && payload.error)) {
      const message = payload && payload.error && payload.error.message;
      return { failure: { key: 'errorStream', detail: typeof message === 'string' ? message : event.data } };
    }
    applyChunk(payload, turn, showThinking);
    return null;
  }

  // Reads the SSE body into the turn. Returns whether [DONE] arrived, or the failure to show.
  async function readStream(response, turn, showThinking) {
    let done = false;
    let failure = null;
    const parser = createSseParser((event) => {
      if (done || failure) return;
      const result = handleEvent(event, turn, showThinking);
      if (result && result.done) done = true;
      if (result && result.failure) failure = result.failure;
    });

    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    // Ends when the body ends, at [DONE] or at an error event. The proxy's
    // upstream timeouts bound how long the body can stay silent.
    for (;;) {
      const { value, done: bodyEnded } = await reader.read();
      if (bodyEnded) {
        parser.push(decoder.decode());
        parser.end();
        break;
      }
      parser.push(decoder.decode(value, { stream: true }));
      if (done || failure) {
        await reader.cancel().catch(() => undefined);
        break;
      }
    }
    if (failure) return { complete: false, failure };
    if (!done) return { complete: false, failure: { key: 'errorCutOff', detail: null } };
    return { complete: true, failure: null };
  }

  async function sendMessage(text) {
    const alias = currentAlias();
    if (!alias) {
      showStatus('errorNoAlias');
      return;
    }
    hideStatus();
    const showThinking = elements.showThinking.checked;
    const userMessage = { role: 'user', content: text };
    const messages = state.history.concat([userMessage]);
    const turn = addTurn(text, alias.id);
    const controller = new AbortController();
    state.controller = controller;
    setBusy(true);

    const headers = { 'content-type': 'application/json', accept: 'text/event-stream' };
    if (showThinking) headers['x-microtune-thinking'] = 'separate';
    let outcome;
    try {
      const response = await requestProxy(CHAT_URL, {
        method: 'POST',
        headers,
        body: JSON.stringify({ model: alias.id, messages, stream: true }),
        signal: controller.signal,
      });
      outcome = await readResponse(response, turn, showThinking);
    } catch (error) {
      outcome = controller.signal.aborted
        ? { complete: false, failure: { key: 'stopped', detail: null, quiet: true } }
        : { complete: false, failure: { key: 'errorNetwork', detail: String(error && error.message ? error.message : error) } };
    } finally {
      if (state.controller === controller) state.controller = null;
      setBusy(false);
    }
    finishTurn(turn, outcome, userMessage);
  }

  async function readResponse(response, turn, showThinking) {
    if (response.status === 401) {
      const error = await readError(response);
      askForKey(error);
      return { complete: false, failure: { key: error.code === 'invalid_api_key' ? 'errorKeyInvalid' : 'errorKeyMissing', detail: null, quiet: true } };
    }
    if (!response.ok) {
      const error = await readError(response);
      return { complete: false, failure: { key: errorKeyFor(response.status, error.code), params: { status: response.status }, detail: error.message } };
    }
    const contentType = response.headers.get('content-type') || '';
    if (!contentType.toLowerCase().includes('text/event-stream') || !response.body) {
      const text = await response.text().catch(() => '');
      return { complete: false, failure: { key: 'errorNotStream', detail: text } };
    }
    return readStream(response, turn, showThinking);
  }

  function finishTurn(turn, outcome, userMessage) {
    if (!turn.element.isConnected) return;
    turn.waiting.remove();
    if (outcome.complete) {
      if (turn.answerText === '') setText(turn.answer, 'emptyAnswer');
      if (turn.finishReason === 'length') addNote(turn, 'finishLength');
      state.history.push(userMessage, { role: 'assistant', content: turn.answerText });
      return;
    }
    const failure = outcome.failure;
    turn.element.classList.add('failed');
    addNote(turn, failure.key, failure.params, failure.detail);
    addNote(turn, 'turnNotKept');
    if (!failure.quiet) showStatus(failure.key, failure.params, failure.detail);
  }

  function setBusy(busy) {
    elements.send.disabled = busy;
    elements.stop.hidden = !busy;
    elements.chat.setAttribute('aria-busy', busy ? 'true' : 'false');
  }

  function clearConversation() {
    if (state.controller) state.controller.abort();
    state.history = [];
    for (const turn of elements.chat.querySelectorAll('.turn')) turn.remove();
    elements.emptyChat.hidden = false;
    hideStatus();
  }

  // --- wiring -----------------------------------------------------------------

  function submitInput() {
    const text = elements.input.value;
    if (text.trim() === '' || state.controller) return;
    elements.input.value = '';
    void sendMessage(text);
  }

  elements.composer.addEventListener('submit', (event) => {
    event.preventDefault();
    submitInput();
  });

  // Enter sends on a keyboard, except while an input method is composing (Chinese
  // pinyin input confirms with Enter). On touch screens Enter starts a new line.
  const coarsePointer = window.matchMedia('(pointer: coarse)').matches;
  elements.input.addEventListener('keydown', (event) => {
    if (event.key !== 'Enter' || event.shiftKey || event.isComposing || event.keyCode === 229 || coarsePointer) return;
    event.preventDefault();
    submitInput();
  });

  elements.stop.addEventListener('click', () => {
    if (state.controller) state.controller.abort();
  });
  elements.clear.addEventListener('click', clearConversation);

  elements.alias.addEventListener('change', () => {
    writeStored(STORAGE.alias, elements.alias.value);
    renderAlias();
  });

  elements.showThinking.checked = readStored(STORAGE.showThinking) === 'true';
  elements.showThinking.addEventListener('change', () => {
    writeStored(STORAGE.showThinking, elements.showThinking.checked ? 'true' : 'false');
  });

  elements.language.addEventListener('click', () => {
    state.language = state.language === 'zh' ? 'en' : 'zh';
    writeStored(STORAGE.language, state.language);
    applyLanguage();
  });

  elements.keyInput.value = storedKey() || '';
  elements.keyForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const key = elements.keyInput.value.trim();
    if (key === '') {
      showStatus('keyEmpty');
      return;
    }
    writeStored(STORAGE.apiKey, key);
    state.keyRequired = true;
    if (await loadAliases()) {
      elements.keyPanel.hidden = true;
      showStatus('keySaved', null, null, 'info');
    }
  });
  elements.keyForget.addEventListener('click', () => {
    writeStored(STORAGE.apiKey, null);
    elements.keyInput.value = '';
    elements.keyInput.focus();
  });

  applyLanguage();
  void loadAliases();
})();
`;
