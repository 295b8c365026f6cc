#!/usr/bin/env node
// Summarises a V8 CPU profile (node --cpu-prof) by self time: the top functions and the time
// per area (logging, metrics, undici, Fastify, the SSE transform, ...), as a share of the
// busy time, which leaves out (idle).
//
//   node bench/profile-summary.mjs FILE.cpuprofile [--top 25] [--callers NAME] [--json]
//
// V8 counts time spent in built-ins such as JSON.parse and JSON.stringify as self time of the
// JavaScript function that called them (parseJson in dist/sse/ for the stream transform's
// JSON.parse). Native functions that get their own node (writev, writeString, decode) are
// charged to the area of their nearest JavaScript caller in the area table. That caller is
// often Node's own code: a log line's file write counts under node:fs, not under logging.
// The function table lists native functions under their own names.
// --callers NAME prints the call stacks that lead to functions named NAME, with their time.
import { readFileSync } from 'node:fs';
import path from 'node:path';

const args = process.argv.slice(2);
const files = args.filter((arg, index) => !arg.startsWith('--') && args[index - 1] !== '--top' && args[index - 1] !== '--callers');
const callersIndex = args.indexOf('--callers');
const callersOf = callersIndex >= 0 ? args[callersIndex + 1] : undefined;
const topIndex = args.indexOf('--top');
const top = topIndex >= 0 ? Number(args[topIndex + 1]) : 25;
const asJson = args.includes('--json');
if (files.length !== 1 || !Number.isInteger(top) || top <= 0) {
  process.stderr.write('usage: node bench/profile-summary.mjs FILE.cpuprofile [--top N] [--callers NAME] [--json]\n');
  process.exit(2);
}

// First match wins. Paths are matched against the script URL of each function.
const AREAS = [
  ['logging (pino)', /node_modules\/(pino|pino-std-serializers|sonic-boom|fast-redact|@pinojs\/redact|thread-stream|on-exit-leak-free|atomic-sleep|quick-format-unescaped|fast-safe-stringify)\//],
  ['metrics (prom-client)', /node_modules\/(prom-client|tdigest|bintrees)\//],
  ['undici', /node_modules\/undici\//],
  ['fastify', /node_modules\/(fastify|@fastify\/[^/]+|find-my-way|avvio|fast-json-stringify|secure-json-parse|fast-querystring|toad-cache|abstract-logging|process-warning|rfdc|light-my-request|fastq)\//],
  ['request validation (zod)', /node_modules\/zod\//],
  ['SSE parsing (eventsource-parser)', /node_modules\/eventsource-parser\//],
  ['other npm packages', /node_modules\//],
  // llhttp, the HTTP parser that undici runs as WebAssembly.
  ['undici', /^wasm:\/\//],
  ['microtune: SSE transform (dist/sse)', /\/dist\/sse\//],
  ['microtune: thinking filter (dist/thinking)', /\/dist\/thinking\//],
  ['microtune: proxy (dist/proxy)', /\/dist\/proxy\//],
  ['microtune: other (dist/)', /\/dist\//],
  ['naive baseline peer', /\/peers\//],
  ['node: http', /^node:(_http_|http$|internal\/http)/],
  ['node: streams', /^node:(internal\/streams|stream)/],
  ['node: net, timers, events, other internals', /^node:/],
];

function areaOf(callFrame) {
  const url = callFrame.url;
  if (url === '') {
    if (callFrame.functionName === '(garbage collector)') return 'garbage collector';
    if (callFrame.functionName === '(idle)') return 'idle';
    if (callFrame.functionName === '(program)') return '(program): native code outside JavaScript';
    return 'V8 built-ins and native code';
  }
  for (const [area, pattern] of AREAS) if (pattern.test(url)) return area;
  return 'other';
}

function shortUrl(url) {
  const nodeModules = url.lastIndexOf('node_modules/');
  if (nodeModules >= 0) return url.slice(nodeModules + 'node_modules/'.length);
  const dist = url.lastIndexOf('/dist/');
  if (dist >= 0) return url.slice(dist + 1);
  return url.startsWith('file://') ? path.basename(url) : url;
}

const profile = JSON.parse(readFileSync(files[0], 'utf8'));
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const parents = new Map();
for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);

/** Returns the area of a profile node, charging native code to its nearest JavaScript caller. */
function chargedArea(id) {
  const own = areaOf(nodes.get(id).callFrame);
  if (own !== 'V8 built-ins and native code') return own;
  for (let parent = parents.get(id); parent !== undefined; parent = parents.get(parent)) {
    const frame = nodes.get(parent).callFrame;
    if (frame.url !== '') return areaOf(frame);
  }
  return own;
}

function frameName(frame) {
  return `${frame.functionName || '(anonymous)'} ${shortUrl(frame.url)}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
}
const selfUs = new Map();
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i];
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}

const byFunction = new Map();
const byArea = new Map();
let busyUs = 0;
let idleUs = 0;
for (const [id, us] of selfUs) {
  const frame = nodes.get(id).callFrame;
  const area = areaOf(frame);
  if (area === 'idle') {
    idleUs += us;
    continue;
  }
  busyUs += us;
  const charged = chargedArea(id);
  byArea.set(charged, (byArea.get(charged) ?? 0) + us);
  const key = frameName(frame);
  const entry = byFunction.get(key) ?? { name: key, area, us: 0 };
  entry.us += us;
  byFunction.set(key, entry);
}

const share = (us) => Number(((100 * us) / busyUs).toFixed(1));

// Call stacks (callee first, up to 8 frames) of the functions named `callersOf`.
const stacks = new Map();
if (callersOf !== undefined) {
  for (const [id, us] of selfUs) {
    if (nodes.get(id).callFrame.functionName !== callersOf) continue;
    const names = [];
    for (let node = id; node !== undefined && names.length < 8; node = parents.get(node)) names.push(frameName(nodes.get(node).callFrame));
    const key = names.join(' <- ');
    stacks.set(key, (stacks.get(key) ?? 0) + us);
  }
}
const summary = {
  file: files[0],
  busy_ms: Math.round(busyUs / 1000),
  idle_ms: Math.round(idleUs / 1000),
  areas: [...byArea].sort((a, b) => b[1] - a[1]).map(([area, us]) => ({ area, ms: Math.round(us / 1000), percent: share(us) })),
  functions: [...byFunction.values()].sort((a, b) => b.us - a.us).slice(0, top)
    .map((entry) => ({ function: entry.name, area: entry.area, ms: Math.round(entry.us / 1000), percent: share(entry.us) })),
  callers: [...stacks].sort((a, b) => b[1] - a[1]).slice(0, top).map(([stack, us]) => ({ stack, ms: Math.round(us / 1000), percent: share(us) })),
};

if (asJson) {
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
} else {
  const lines = [`${files[0]}`, `busy ${summary.busy_ms} ms, idle ${summary.idle_ms} ms; shares are of busy time`, '', 'self time by area (native code charged to its JavaScript caller):'];
  for (const row of summary.areas) lines.push(`  ${String(row.percent).padStart(5)}%  ${String(row.ms).padStart(6)} ms  ${row.area}`);
  lines.push('', `top ${top} functions by self time:`);
  for (const row of summary.functions) lines.push(`  ${String(row.percent).padStart(5)}%  ${String(row.ms).padStart(6)} ms  ${row.function}  [${row.area}]`);
  if (callersOf !== undefined) {
    lines.push('', `call stacks of ${callersOf}:`);
    for (const row of summary.callers) lines.push(`  ${String(row.percent).padStart(5)}%  ${String(row.ms).padStart(6)} ms  ${row.stack}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}
