#!/usr/bin/env node
// Fault-and-load run against the built proxy. A mock upstream in this process
// fails on purpose (5xx, 429, resets before and during a stream, garbage
// bodies, stalled headers and stalled streams), one upstream refuses
// connections, and a share of clients hang up mid-stream. The run checks that
// the proxy process never exits, responds to every request in the expected way, leaves
// no upstream response or used socket open, and keeps its memory flat.
//
//   npm run build && node bench/fault-load.mjs [--requests 3000] [--concurrency 32]
//     [--max-seconds 120] [--seed 1] [--json FILE] [--proxy-node-args "--max-old-space-size=96"]
//
// Everything listens on and connects to 127.0.0.1. The run stops by itself:
// no new request starts after --max-seconds, every request has a 15 s client
// timeout, and the proxy gets SIGTERM at the end. Exit status 1 when a
// must-hold check fails, 2 for a usage or set-up error.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { setInterval, clearInterval } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import { sendChat } from './fault-load/client.mjs';
import { startMockUpstream } from './fault-load/mock-upstream.mjs';
import { freePort, readRss, startServer } from './fault-load/server-process.mjs';

/**
 * With V8's default heap sizing the proxy's RSS grows for the first ~6000
 * requests of this mix before major collections keep it level, which hides
 * a leak behind heap growth. A capped old space makes V8 collect early, so
 * RSS shows retained memory, and a leak ends in an out-of-memory exit.
 */
const DEFAULT_PROXY_NODE_ARGS = '--max-old-space-size=96';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MAIN_FILE = path.join(REPO, 'dist', 'main.js');
const CLIENT_TIMEOUT_MS = 15_000;
/** RSS after the run may exceed RSS after warm-up by at most this factor. */
const RSS_GROWTH_LIMIT = 1.3;
/** The first share of requests warms the proxy up before its RSS is taken as the baseline. */
const WARM_UP_SHARE = 0.1;
/**
 * The refusing upstream. A port below 1024 is outside the ephemeral range,
 * so no other program's port-0 listener takes it during the run, as could
 * happen to a port that was merely free at the start.
 */
const DEAD_PORT = 1;
/** Wait after the last request before the upstream is checked for open responses and used sockets. */
const SETTLE_MS = 5000;
/** Maximum wait for every upstream socket to close: the proxy's undici keep-alive timeout (30 s) plus a margin. */
const ALL_CLOSED_MS = 40_000;

const args = process.argv.slice(2);
const settings = {
  requests: integerOption('--requests', 3000),
  concurrency: integerOption('--concurrency', 32),
  maxSeconds: integerOption('--max-seconds', 120),
  seed: integerOption('--seed', 1),
  /** Node options for the proxy process, split at spaces; "" runs it with V8's default heap sizing. */
  proxyNodeArgs: (stringOption('--proxy-node-args') ?? DEFAULT_PROXY_NODE_ARGS).split(' ').filter((arg) => arg !== ''),
};
const jsonFile = stringOption('--json');

function stringOption(flag) {
  const index = args.indexOf(flag);
  return index >= 0 ? args[index + 1] : undefined;
}

function integerOption(flag, fallback) {
  const text = stringOption(flag);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    process.stderr.write(`fault-load: ${flag} must be a positive integer, got "${text}"\n`);
    process.exit(2);
  }
  return value;
}

function log(message) {
  process.stderr.write(`[fault-load] ${message}\n`);
}

/**
 * The request mix: weight (out of 100), whether the request streams, and
 * the outcomes the proxy may give for it. `model` picks the alias; the
 * `dead` alias points at a port where nothing listens.
 */
const KINDS = {
  'ok-json': { weight: 22, stream: false, expected: ['ok_json'] },
  'ok-stream': { weight: 22, stream: true, expected: ['ok_stream'] },
  'slow-stream': { weight: 5, stream: true, expected: ['ok_stream'] },
  'stall-stream': { weight: 5, stream: true, expected: ['stream_error_event:upstream_stream_error'] },
  'stall-headers': { weight: 3, stream: false, expected: ['http_504:upstream_timeout'] },
  'status-5xx': { weight: 6, stream: false, expected: ['http_500:mock_failure', 'http_503:mock_failure'] },
  'status-429': { weight: 3, stream: true, expected: ['http_429:mock_rate_limit'] },
  'reset-mid': { weight: 7, stream: true, expected: ['stream_error_event:upstream_stream_error'] },
  'reset-before': { weight: 4, stream: false, expected: ['http_502:upstream_unreachable'] },
  garbage: { weight: 4, stream: false, expected: ['http_502:upstream_bad_response'] },
  'client-abort': { weight: 15, stream: true, expected: ['client_aborted'] },
  refused: { weight: 4, stream: false, model: 'dead', expected: ['http_502:upstream_unreachable'] },
};

/** mulberry32: a small seeded generator, so a run's request mix can be repeated. */
function seededRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pickKinds(count, random) {
  const table = Object.entries(KINDS).flatMap(([kind, spec]) => Array(spec.weight).fill(kind));
  return Array.from({ length: count }, () => table[Math.floor(random() * table.length)]);
}

function writeTempConfig(mockBaseUrl, deadPort) {
  const folder = mkdtempSync(path.join(os.tmpdir(), 'microtune-fault-load-'));
  mkdirSync(path.join(folder, 'packs'));
  writeFileSync(
    path.join(folder, 'packs', 'lighthouse.yaml'),
    [
      'name: lighthouse',
      'title: 灯塔守望人',
      'preamble: |',
      '  你是老周，在海岬上守了三十年灯塔。说话简短，带着海风的味道。',
      'examples:',
      '  - user: 今晚会起雾吗？',
      '    thinking: 看看气压计，再看看海面。',
      '    answer: "*敲了敲气压计* 会的，后半夜。"',
      '',
    ].join('\n'),
  );
  // Short timeouts so that stalls resolve within a second; the defaults are minutes.
  const timeouts = 'timeouts: { connectMs: 1000, firstByteMs: 1000, idleMs: 600, totalMs: 8000 }';
  const retry = 'retry: { maxRetries: 1, baseDelayMs: 10, maxDelayMs: 50, maxRetryAfterMs: 100 }';
  const configFile = path.join(folder, 'microtune.yaml');
  writeFileSync(
    configFile,
    [
      'packsDir: packs',
      'server: { shutdownGraceMs: 3000 }',
      'upstreams:',
      `  default: { baseUrl: "${mockBaseUrl}", ${timeouts}, ${retry} }`,
      `  dead: { baseUrl: "http://127.0.0.1:${deadPort}/v1", ${timeouts}, ${retry} }`,
      'aliases:',
      '  lighthouse: { pack: lighthouse, model: mock-model, thinking: strip }',
      '  dead: { pack: lighthouse, upstream: dead, model: mock-model }',
      '',
    ].join('\n'),
  );
  return { folder, configFile };
}

/** Bytes to MiB with one decimal. */
function mb(bytes) {
  return bytes === undefined ? undefined : Math.round((bytes / 1024 / 1024) * 10) / 10;
}

function percentile(sorted, share) {
  if (sorted.length === 0) return undefined;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))]);
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
function portAnswers(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(2000, () => socket.destroy());
    socket.on('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
    socket.on('close', () => resolve(false));
  });
}

async function getStatus(url) {
  return new Promise((resolve) => {
    const request = http.get(url, { agent: false, timeout: 3000 }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(0));
  });
}

async function main() {
  if (!existsSync(MAIN_FILE)) {
    log(`${MAIN_FILE} not found: run "npm run build" first`);
    process.exit(2);
  }
  const mock = await startMockUpstream({ keepAliveTimeoutMs: 1000 });
  const deadPort = DEAD_PORT;
  if (await portAnswers(deadPort)) {
    log(`127.0.0.1:${deadPort} accepts connections, so it cannot stand for a refusing upstream`);
    await mock.close();
    process.exit(2);
  }
  const { folder, configFile } = writeTempConfig(mock.baseUrl, deadPort);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/v1/chat/completions`;

  let server;
  try {
    server = await startServer({ mainFile: MAIN_FILE, configFile, port, nodeArgs: settings.proxyNodeArgs });
  } catch (error) {
    log(error.message);
    await mock.close();
    rmSync(folder, { recursive: true, force: true });
    process.exit(2);
  }

  const rssTimeline = [];
  const rss = { atReady: readRss(server.pid()), afterWarmUp: undefined, peak: 0, afterRun: undefined };
  const sampler = setInterval(() => {
    const value = readRss(server.pid());
    if (value !== undefined) rss.peak = Math.max(rss.peak, value);
  }, 250);

  const kinds = pickKinds(settings.requests, seededRandom(settings.seed));
  const warmUpCount = Math.floor(settings.requests * WARM_UP_SHARE);
  const outcomes = new Map();
  const unexpected = new Map();
  const latencies = { ok_json: [], ok_stream: [] };
  const agent = new http.Agent({ keepAlive: true, maxSockets: settings.concurrency });
  const startedAt = performance.now();
  const deadline = startedAt + settings.maxSeconds * 1000;
  let next = 0;
  let done = 0;
  let cutByTimeCap = 0;

  log(`proxy pid ${server.pid()} on 127.0.0.1:${port}; ${settings.requests} requests, concurrency ${settings.concurrency}, seed ${settings.seed}`);
  const worker = async () => {
    while (next < kinds.length) {
      if (performance.now() >= deadline) {
        cutByTimeCap = kinds.length - next;
        next = kinds.length;
        return;
      }
      const kind = kinds[next];
      next += 1;
      const spec = KINDS[kind];
      const { outcome, ms } = await sendChat({
        url,
        agent,
        fault: kind,
        model: spec.model ?? 'lighthouse',
        stream: spec.stream,
        abortAfterFirstChunk: kind === 'client-abort',
        timeoutMs: CLIENT_TIMEOUT_MS,
      });
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      if (!spec.expected.includes(outcome)) {
        const key = `${kind} -> ${outcome}`;
        unexpected.set(key, (unexpected.get(key) ?? 0) + 1);
      }
      if (outcome in latencies && spec.expected.includes(outcome) && (kind === 'ok-json' || kind === 'ok-stream')) latencies[outcome].push(ms);
      done += 1;
      if (done === warmUpCount) rss.afterWarmUp = readRss(server.pid());
      if (done % 500 === 0) {
        const value = readRss(server.pid());
        rssTimeline.push({ requests: done, rssMb: mb(value) });
        log(`${done} requests done after ${((performance.now() - startedAt) / 1000).toFixed(1)} s, proxy RSS ${mb(value)} MB`);
      }
    }
  };
  await Promise.all(Array.from({ length: settings.concurrency }, () => worker()));
  const elapsedS = (performance.now() - startedAt) / 1000;
  agent.destroy();

  // Settle, first part: stalled upstream responses end only when the proxy
  // closes them, and sockets that carried requests close after the mock's 1 s
  // keep-alive timeout.
  const settleStartedAt = performance.now();
  const settled = () => mock.responsesInProgress() === 0 && mock.openSockets() === 0;
  while (performance.now() - settleStartedAt < SETTLE_MS && !settled()) await sleep(100);
  const afterSettle = {
    responsesInProgress: mock.responsesInProgress(),
    socketsThatCarriedRequests: mock.openSocketBytesRead().filter((bytes) => bytes > 0).length,
    socketsWithoutRequests: mock.openSocketBytesRead().filter((bytes) => bytes === 0).length,
  };
  // Second part: undici opens spare connections after aborted requests, which
  // carry no request and close at the proxy's 30 s keep-alive timeout.
  while (performance.now() - settleStartedAt < ALL_CLOSED_MS && !settled()) await sleep(250);
  const allClosedAfterMs = settled() ? Math.round(performance.now() - settleStartedAt) : undefined;
  const healthStatus = await getStatus(`http://127.0.0.1:${port}/healthz`);
  rss.afterRun = readRss(server.pid());
  clearInterval(sampler);

  const restarts = server.state.restarts;
  const stopped = await server.stop();
  await mock.close();
  rmSync(folder, { recursive: true, force: true });

  const sortedJson = latencies.ok_json.sort((a, b) => a - b);
  const sortedStream = latencies.ok_stream.sort((a, b) => a - b);
  const rssGrowth = rss.afterWarmUp && rss.afterRun ? rss.afterRun / rss.afterWarmUp : undefined;
  const checks = [
    ['the proxy process never exited during the run (restarts = 0)', restarts === 0],
    ['every request got an answer in time (no client timeouts)', (outcomes.get('client_timeout') ?? 0) === 0],
    ['every answer matched its fault kind (no unexpected outcomes)', unexpected.size === 0],
    ['all requests ran before the time cap', cutByTimeCap === 0],
    [`no upstream response in progress ${SETTLE_MS / 1000} s after the last request`, afterSettle.responsesInProgress === 0],
    [`no upstream socket that carried a request open ${SETTLE_MS / 1000} s after the last request`, afterSettle.socketsThatCarriedRequests === 0],
    [`every upstream socket closed within ${ALL_CLOSED_MS / 1000} s after the last request`, allClosedAfterMs !== undefined],
    [`RSS after the run within ${RSS_GROWTH_LIMIT}x of RSS after warm-up`, rssGrowth !== undefined && rssGrowth <= RSS_GROWTH_LIMIT],
    ['/healthz answers 200 after the run', healthStatus === 200],
    ['SIGTERM stops the proxy with exit status 0', stopped.code === 0],
  ];

  const report = {
    settings,
    machine: { cpus: os.cpus().length, node: process.version, platform: `${os.platform()} ${os.release()}` },
    elapsedS: Math.round(elapsedS * 10) / 10,
    requestsDone: done,
    requestsPerSecond: Math.round(done / elapsedS),
    outcomes: Object.fromEntries([...outcomes].sort((a, b) => b[1] - a[1])),
    unexpected: Object.fromEntries(unexpected),
    latencyMs: {
      okJson: { p50: percentile(sortedJson, 0.5), p95: percentile(sortedJson, 0.95), p99: percentile(sortedJson, 0.99) },
      okStream: { p50: percentile(sortedStream, 0.5), p95: percentile(sortedStream, 0.95), p99: percentile(sortedStream, 0.99) },
    },
    upstream: { requestsByKind: mock.requestsByKind(), afterSettle, allClosedAfterMs },
    restarts,
    exits: server.state.exits,
    rssMb: { atReady: mb(rss.atReady), afterWarmUp: mb(rss.afterWarmUp), peak: mb(rss.peak), afterRun: mb(rss.afterRun), growthAfterWarmUp: rssGrowth && Math.round(rssGrowth * 1000) / 1000, timeline: rssTimeline },
    proxyLogLinesByLevel: server.state.linesByLevel,
    stop: stopped,
    checks: checks.map(([name, passed]) => ({ name, passed })),
  };
  if (restarts > 0) report.lastStderr = server.state.lastStderr;

  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  if (jsonFile !== undefined) writeFileSync(jsonFile, `${JSON.stringify(report, null, 2)}\n`);
  for (const [name, passed] of checks) log(`${passed ? 'PASS' : 'FAIL'} ${name}`);
  process.exitCode = checks.every(([, passed]) => passed) ? 0 : 1;
}

main().catch((error) => {
  log(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(2);
});
