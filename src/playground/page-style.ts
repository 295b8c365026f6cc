/**
 * CSS of the playground page: one column, phone first, large tap targets,
 * light and dark colors. The font stack names only fonts installed on the
 * device, so the page loads nothing from outside.
 */
export const PAGE_STYLE = String.raw`
:root {
  color-scheme: light dark;
  --bg: #f5f6f8;
  --card: #ffffff;
  --text: #1c222a;
  --muted: #5a6572;
  --border: #d5dae0;
  --accent: #2c68d8;
  --accent-text: #ffffff;
  --user: #e4edff;
  --thinking: #f2eff9;
  --error-bg: #fdeced;
  --error: #a32626;
  --radius: 12px;
  font-family: system-ui, -apple-system, "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei",
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", sans-serif;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #14171b;
    --card: #1d2127;
    --text: #e5e8ec;
    --muted: #9aa4af;
    --border: #353c45;
    --accent: #5a8ef0;
    --user: #22324d;
    --thinking: #29243a;
    --error-bg: #3b1f23;
    --error: #f3a0a0;
  }
}
*, *::before, *::after { box-sizing: border-box; }
[hidden] { display: none !important; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body {
  margin: 0;
  background: var(--bg);
  color: var(--text);
  font-size: 16px;
  line-height: 1.6;
  overflow-wrap: anywhere;
}
.page {
  max-width: 860px;
  min-height: 100vh;
  min-height: 100dvh;
  margin: 0 auto;
  padding: 12px 12px 0;
  display: flex;
  flex-direction: column;
  gap: 12px;
}
header { display: flex; align-items: flex-start; justify-content: space-between; gap: 12px; }
h1 { margin: 0; font-size: 1.3rem; line-height: 1.3; }
h3 { margin: 8px 0 4px; font-size: 1rem; }
.tagline { margin: 4px 0 0; color: var(--muted); font-size: 0.9rem; }
button {
  flex: none;
  min-height: 44px;
  padding: 0 16px;
  border: 1px solid var(--border);
  border-radius: 10px;
  background: var(--card);
  color: var(--text);
  font: inherit;
  cursor: pointer;
}
button.primary { background: var(--accent); border-color: var(--accent); color: var(--accent-text); font-weight: 600; }
button:disabled { opacity: 0.5; cursor: not-allowed; }
button:focus-visible, select:focus-visible, input:focus-visible, textarea:focus-visible, summary:focus-visible {
  outline: 3px solid var(--accent);
  outline-offset: 2px;
}
.card {
  display: flex;
  flex-direction: column;
  gap: 8px;
  padding: 12px;
  border: 1px solid var(--border);
  border-radius: var(--radius);
  background: var(--card);
}
.card form { display: flex; flex-direction: column; gap: 8px; }
label { font-weight: 600; }
select, input[type="password"], textarea {
  width: 100%;
  min-height: 44px;
  padding: 8px 10px;
  border: 1px solid var(--border);
  border-radius: 10px;
  background: var(--bg);
  color: var(--text);
  font: inherit;
  font-size: 16px;
}
p { margin: 0; }
.row { display: flex; flex-wrap: wrap; gap: 8px; }
.muted { color: var(--muted); font-size: 0.875rem; }
.switch { display: flex; align-items: center; gap: 10px; min-height: 44px; cursor: pointer; }
.switch input { flex: none; width: 22px; height: 22px; margin: 0; accent-color: var(--accent); }
details > summary { display: flex; flex-wrap: wrap; align-items: center; gap: 8px; min-height: 44px; cursor: pointer; font-weight: 600; }
#prompt-panel { border-top: 1px solid var(--border); }
#prompt-panel[open] > summary { margin-bottom: 4px; }
#prompt-list { display: flex; flex-direction: column; gap: 8px; margin-top: 8px; }
pre {
  margin: 0;
  white-space: pre-wrap;
  overflow-wrap: anywhere;
  font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "Noto Sans Mono CJK SC", monospace;
  font-size: 0.85rem;
}
.pack-text {
  max-height: 50vh;
  overflow: auto;
  padding: 10px;
  border: 1px solid var(--border);
  border-radius: 8px;
  background: var(--bg);
}
.pack-problem { color: var(--error); }
#status { padding: 10px 12px; border-radius: 10px; }
#status.error { background: var(--error-bg); color: var(--error); }
#status.info { background: var(--card); color: var(--muted); border: 1px solid var(--border); }
#status-detail, .detail { display: block; margin-top: 4px; font-size: 0.85rem; opacity: 0.9; }
#chat { flex: 1; display: flex; flex-direction: column; gap: 12px; }
.turn { display: flex; flex-direction: column; gap: 8px; }
.message { max-width: 100%; padding: 10px 12px; border-radius: var(--radius); }
.message.user { align-self: flex-end; max-width: 90%; background: var(--user); }
.message.assistant { border: 1px solid var(--border); background: var(--card); }
.role { margin-bottom: 2px; color: var(--muted); font-size: 0.8rem; font-weight: 600; }
.text, .answer { white-space: pre-wrap; }
.waiting { color: var(--muted); }
.thinking { margin-bottom: 8px; padding: 0 10px; border-radius: 8px; background: var(--thinking); }
.thinking > summary { color: var(--muted); font-size: 0.9rem; }
.thinking-text { padding-bottom: 10px; color: var(--muted); font-size: 0.9rem; white-space: pre-wrap; }
.turn-note { margin-top: 6px; color: var(--error); font-size: 0.85rem; }
.visually-hidden {
  position: absolute;
  width: 1px;
  height: 1px;
  overflow: hidden;
  clip: rect(0 0 0 0);
  white-space: nowrap;
}
.composer {
  position: sticky;
  bottom: 0;
  display: flex;
  flex-direction: column;
  gap: 8px;
  padding: 8px 0 calc(10px + env(safe-area-inset-bottom));
  background: var(--bg);
}
textarea { min-height: 76px; max-height: 40vh; resize: vertical; }
.actions { display: flex; gap: 8px; }
.actions .primary { flex: 1; }
`;
