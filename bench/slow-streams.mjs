#!/usr/bin/env node
// Memory of many concurrent slow streams through the built proxy: N clients each hold one
// streaming chat request open while a local mock upstream sends one SSE frame every
// --interval-ms milliseconds. Prints the proxy's idle and peak RSS, the RSS per open stream,
// how many streams were open at once at the client and at the upstream, the time to the
// first SSE frame, and the proxy's CPU time per frame.
//
//   npm run build && node bench/slow-streams.mjs [--streams 1000] [--frames 30]
//     [--interval-ms 500] [--ramp-ms 3000] [--deadline-s 120] [--json FILE]
//
// The proxy is `node dist/main.js` with bench/microtune.bench.yaml (alias
// microtune-bench:chunks=64, a ~2,000-token pack, thinking strip, info logging, metrics on),
// pinned to CPU 1 when there are two CPUs. The mock and the clients run in this process.
// Each stream is a role chunk, a ```thinking block over the first quarter of the frames
// (which the proxy strips), answer text, finish_reason, usage and [DONE]. Everything listens
// on and connects to 127.0.0.1. The run stops by itself: clients still open at --deadline-s
// are closed and counted as unfinished, then the proxy is stopped.
import { Buffer } from 'node:buffer';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { clearInterval, clearTimeout, setImmediate, setInterval } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const settings = {
  streams: integerOption('--streams', 1000),
  frames: integerOption('--frames', 30),
  intervalMs: integerOption('--interval-ms', 500),
  rampMs: integerOption('--ramp-ms', 3000),
  deadlineS: integerOption('--deadline-s', 120),
  proxyPort: integerOption('--port', 18870),
  mockPort: integerOption('--mock-port', 18871),
};
const jsonFile = stringOption('--json');
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

function stringOption(flag) {
  const index = args.indexOf(flag);
  return index >= 0 ? args[index + 1] : undefined;
}
function integerOption(flag, fallback) {
  const text = stringOption(flag);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) {
    process.stderr.write(`slow-streams: ${flag} must be a non-negative integer, got "${text}"\n`);
    process.exit(2);
  }
  return value;
}
function log(message) {
  process.stderr.write(`[slow-streams] ${message}\n`);
}

if (!existsSync(path.join(REPO, 'dist', 'main.js'))) {
  process.stderr.write('slow-streams: dist/main.js not found; run npm run build first\n');
  process.exit(2);
}

// ---------------------------------------------------------------- slow mock upstream
const THINK = ['嗯，用户', '想了解', '西湖的', '特点，', '我应该', '先概括', '位置，'];
const ANSWER = ['西湖位于', '浙江省', '杭州市', '西部，', '是中国', '著名的', '风景', '名胜区。'];
let upstreamOpen = 0;
let upstreamMaxOpen = 0;
let upstreamStarted = 0;

function contentPiece(i, frames) {
  const thinkLength = Math.max(2, Math.round(frames / 4));
  if (i === 0) return '```thinking\n';
  if (i < thinkLength - 1) return THINK[(i - 1) % THINK.length];
  if (i === thinkLength - 1) return '\n```\n';
  return ANSWER[(i - thinkLength) % ANSWER.length];
}

const mock = http.createServer((req, res) => {
  const parts = [];
  req.on('data', (part) => parts.push(part));
  req.on('end', () => {
    let body;
    try {
      body = JSON.parse(Buffer.concat(parts).toString('utf8'));
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":{"message":"invalid JSON body"}}');
      return;
    }
    if (body.stream !== true) {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":{"message":"this mock only streams"}}');
      return;
    }
    // Warm-up requests ask for no delay with this header, which the proxy forwards.
    const intervalMs = req.headers['x-bench-interval-ms'] !== undefined ? Number(req.headers['x-bench-interval-ms']) : settings.intervalMs;
    const head = `data: {"id":"chatcmpl-slow${++upstreamStarted}","object":"chat.completion.chunk","created":1700000000,"model":${JSON.stringify(body.model)},"choices":[`;
    upstreamOpen++;
    upstreamMaxOpen = Math.max(upstreamMaxOpen, upstreamOpen);
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    res.write(`${head}{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n`);
    let sent = 0;
    let timer;
    const step = () => {
      if (res.destroyed) return;
      if (sent < settings.frames) {
        res.write(`${head}{"index":0,"delta":{"content":${JSON.stringify(contentPiece(sent, settings.frames))}},"finish_reason":null}]}\n\n`);
        sent++;
        timer = intervalMs > 0 ? setTimeout(step, intervalMs) : setImmediate(step);
        return;
      }
      res.write(`${head}{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n`);
      res.end(`${head}],"usage":{"prompt_tokens":2865,"completion_tokens":${settings.frames},"total_tokens":${2865 + settings.frames}}}\n\ndata: [DONE]\n\n`);
    };
    res.on('close', () => {
      upstreamOpen--;
      clearTimeout(timer);
    });
    step();
  });
});

// ---------------------------------------------------------------- clients (raw sockets)
const REQUEST_BODY = Buffer.from(JSON.stringify({
  model: 'microtune-bench:chunks=64',
  messages: [{ role: 'user', content: '请用三句话介绍一下杭州的西湖。' }],
  stream: true,
  stream_options: { include_usage: true },
}));
const DONE = Buffer.from('data: [DONE]');

function requestBytes(extraHeaders = '') {
  return Buffer.concat([
    Buffer.from(`POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:${settings.proxyPort}\r\nContent-Type: application/json\r\nAuthorization: Bearer sk-bench-not-a-real-key\r\n${extraHeaders}Content-Length: ${REQUEST_BODY.length}\r\nConnection: close\r\n\r\n`, 'latin1'),
    REQUEST_BODY,
  ]);
}

const clients = { open: 0, maxOpen: 0, done: 0, failed: 0, ttfbMs: [], totalMs: [], sockets: new Set() };

/** Opens one stream and resolves when it closes, with true when it ended with [DONE] after a 200. */
function openStream(request, record) {
  return new Promise((resolve) => {
    const started = performance.now();
    let firstFrameAt;
    let status = 0;
    let tail = Buffer.alloc(0);
    const socket = net.connect({ host: '127.0.0.1', port: settings.proxyPort });
    clients.sockets.add(socket);
    if (record) {
      clients.open++;
      clients.maxOpen = Math.max(clients.maxOpen, clients.open);
    }
    socket.setNoDelay(true);
    socket.on('connect', () => socket.write(request));
    socket.on('data', (data) => {
      if (status === 0) {
        const text = data.toString('latin1', 0, Math.min(data.length, 16));
        status = Number(text.split(' ')[1]) || -1;
      }
      if (firstFrameAt === undefined && data.includes('data: ')) firstFrameAt = performance.now();
      // Keep only the last bytes, enough to find [DONE] at the end.
      tail = Buffer.concat([tail, data]).subarray(-64);
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clients.sockets.delete(socket);
      const ok = status === 200 && tail.includes(DONE);
      if (record) {
        clients.open--;
        if (ok) {
          clients.done++;
          clients.totalMs.push(performance.now() - started);
          if (firstFrameAt !== undefined) clients.ttfbMs.push(firstFrameAt - started);
        } else {
          clients.failed++;
        }
      }
      resolve(ok);
    });
  });
}

// ---------------------------------------------------------------- proxy process and sampling
function procStatus(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { rssKb: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0), ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return null;
  }
}

async function waitPort(port, child) {
  for (let i = 0; i < 150; i++) {
    if (child.exitCode !== null) throw new Error(`the proxy exited with status ${child.exitCode} before listening`);
    const open = await new Promise((resolve) => {
      const socket = net.connect({ port, host: '127.0.0.1' });
      socket.once('connect', () => { socket.destroy(); resolve(true); });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await sleep(100);
  }
  throw new Error(`the proxy did not listen on 127.0.0.1:${port} within 15 s`);
}

function percentile(values, p) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main() {
  await new Promise((resolve) => mock.listen(settings.mockPort, '127.0.0.1', resolve));
  const pin = os.cpus().length >= 2;
  const nodeArgs = [path.join(REPO, 'dist', 'main.js')];
  const proxy = spawn(pin ? 'taskset' : process.execPath, pin ? ['-c', '1', process.execPath, ...nodeArgs] : nodeArgs, {
    cwd: REPO,
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: String(settings.proxyPort),
      UPSTREAM_BASE_URL: `http://127.0.0.1:${settings.mockPort}/v1`,
      MICROTUNE_CONFIG: path.join(REPO, 'bench', 'microtune.bench.yaml'),
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const deadline = setTimeout(() => {
    log(`deadline of ${settings.deadlineS} s reached; closing ${clients.sockets.size} open client connections`);
    for (const socket of clients.sockets) socket.destroy();
  }, settings.deadlineS * 1000);
  try {
    await waitPort(settings.proxyPort, proxy);

    // Warm-up: unpaced streams, so the JIT and the upstream pool are warm before the idle figure.
    const warmRequest = requestBytes('x-bench-interval-ms: 0\r\n');
    for (let batch = 0; batch < 10; batch++) await Promise.all(Array.from({ length: 50 }, () => openStream(warmRequest, false)));
    await sleep(2000);
    const idle = procStatus(proxy.pid);
    log(`proxy pid ${proxy.pid}: idle RSS after warm-up ${(idle.rssKb / 1024).toFixed(1)} MB`);

    let peakRssKb = idle.rssKb;
    let rssAtMaxOpenKb = idle.rssKb;
    let samples = 0;
    const sampler = setInterval(() => {
      const now = procStatus(proxy.pid);
      if (now === null) return;
      samples++;
      peakRssKb = Math.max(peakRssKb, now.rssKb);
      if (clients.open === settings.streams) rssAtMaxOpenKb = Math.max(rssAtMaxOpenKb, now.rssKb);
    }, 100);

    const request = requestBytes();
    const startedAt = performance.now();
    const running = [];
    for (let i = 0; i < settings.streams; i++) {
      running.push(openStream(request, true));
      const due = startedAt + ((i + 1) * settings.rampMs) / settings.streams;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
    }
    log(`${settings.streams} streams opened in ${((performance.now() - startedAt) / 1000).toFixed(1)} s`);
    await Promise.all(running);
    const elapsedS = (performance.now() - startedAt) / 1000;
    clearInterval(sampler);
    const end = procStatus(proxy.pid);

    const frames = settings.frames + 4; // role, content, finish_reason, usage + [DONE]
    const cpuTicks = (end?.ticks ?? idle.ticks) - idle.ticks;
    const result = {
      settings,
      node: process.version,
      proxy: 'node dist/main.js, MICROTUNE_CONFIG=bench/microtune.bench.yaml, LOG_LEVEL=info',
      stream_seconds_planned: (settings.frames * settings.intervalMs) / 1000,
      elapsed_s: Number(elapsedS.toFixed(1)),
      completed: clients.done,
      failed_or_unfinished: clients.failed,
      client_max_open: clients.maxOpen,
      upstream_max_open: upstreamMaxOpen,
      idle_rss_mb: Number((idle.rssKb / 1024).toFixed(1)),
      peak_rss_mb: Number((peakRssKb / 1024).toFixed(1)),
      rss_with_all_open_mb: Number((rssAtMaxOpenKb / 1024).toFixed(1)),
      per_stream_kb: Number(((peakRssKb - idle.rssKb) / settings.streams).toFixed(1)),
      rss_samples: samples,
      ttfb_ms: { p50: round(percentile(clients.ttfbMs, 50)), p99: round(percentile(clients.ttfbMs, 99)), max: round(percentile(clients.ttfbMs, 100)) },
      stream_ms: { p50: round(percentile(clients.totalMs, 50)), max: round(percentile(clients.totalMs, 100)) },
      proxy_cpu_s: Number((cpuTicks / CLK_TCK).toFixed(2)),
      proxy_cpu_us_per_frame: clients.done > 0 ? Math.round((cpuTicks * 1e6) / CLK_TCK / (clients.done * frames)) : null,
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    if (jsonFile !== undefined) writeFileSync(jsonFile, `${JSON.stringify(result, null, 2)}\n`);
    if (upstreamMaxOpen < settings.streams) {
      log(`NOTE: at most ${upstreamMaxOpen} upstream streams were open at once; the other requests waited in the proxy's upstream pool queue (see ttfb_ms)`);
    }
  } finally {
    clearTimeout(deadline);
    proxy.kill('SIGTERM');
    const exited = await Promise.race([new Promise((resolve) => proxy.once('exit', () => resolve(true))), sleep(15000).then(() => false)]);
    if (!exited) {
      log(`the proxy (pid ${proxy.pid}) did not exit within 15 s of SIGTERM; sending SIGKILL`);
      proxy.kill('SIGKILL');
    }
    mock.closeAllConnections();
    mock.close();
  }
}

function round(value) {
  return value === null ? null : Number(value.toFixed(1));
}

main().catch((error) => {
  process.stderr.write(`slow-streams: ${error.stack ?? error}\n`);
  process.exit(1);
});
