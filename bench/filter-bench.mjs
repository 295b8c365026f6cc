#!/usr/bin/env node
// Micro-benchmark of microtune's stream rewriting on its own, with no sockets: the
// ChatStreamTransform (SSE parse, JSON parse, thinking filter, model rename, re-encode) and
// its parts, on the stream that the benchmark's mock upstream sends.
//
//   npm run build && node bench/filter-bench.mjs [--ms 1500] [--only TEXT] [--json]
//
// It imports the built code from dist/, so no TypeScript loader is needed. The stream is one
// role chunk, 64 content chunks of 2-4 Chinese characters (a ```thinking block over the first
// quarter, then the answer), a finish_reason chunk, a usage chunk and `data: [DONE]`:
// 68 SSE frames, about 16.5 KB. Each case runs for --ms milliseconds after a warm-up of the
// same length and prints MB/s of upstream SSE (per CPU second), CPU microseconds per stream
// and per frame.
// --only runs just the cases whose name contains TEXT (for a CPU profile of one case).
import { Buffer } from 'node:buffer';
import { performance } from 'node:perf_hooks';
import { TextDecoder } from 'node:util';
import { createParser } from 'eventsource-parser';
import { ChatStreamTransform } from '../dist/sse/chat-stream-transform.js';
import { ThinkingFilter } from '../dist/thinking/filter.js';

const args = process.argv.slice(2);
const runMs = Number(valueOf('--ms') ?? 1500);
const asJson = args.includes('--json');
const only = valueOf('--only');
if (!Number.isFinite(runMs) || runMs <= 0) {
  process.stderr.write(`filter-bench: --ms must be a positive number of milliseconds, got ${valueOf('--ms')}\n`);
  process.exit(2);
}

function valueOf(flag) {
  const index = args.indexOf(flag);
  return index >= 0 ? args[index + 1] : undefined;
}

// ---------------------------------------------------------------- the stream
// The same text pieces and framing as the harness's mock upstream, so figures here line up
// with the per-stream CPU figures of bench/run.sh.
const THINK = ['嗯，用户', '想了解', '西湖的', '特点，', '我应该', '先概括', '位置，', '再说', '景点和', '文化。', '注意', '简洁。'];
const ANSWER = ['西湖位于', '浙江省', '杭州市', '西部，', '是中国', '著名的', '风景', '名胜区。', '湖中有', '三潭', '印月、', '湖心亭', '等景点，', '周边有', '苏堤、', '白堤', '和雷峰', '塔。', '它在', '2011年', '被列入', '世界文化', '遗产', '名录。', '春天', '桃红', '柳绿，', '夏天', '荷花', '盛开，', '秋天', '桂香', '满城，', '冬天', '断桥', '残雪，', '四季', '各有', '韵味。'];
const CONTENT_CHUNKS = 64;

function contentPieces(count) {
  const thinkLength = Math.max(2, Math.round(count / 4));
  const pieces = [];
  for (let i = 0; i < count; i++) {
    if (i === 0) pieces.push('```thinking\n');
    else if (i < thinkLength - 1) pieces.push(THINK[(i - 1) % THINK.length]);
    else if (i === thinkLength - 1) pieces.push('\n```\n');
    else pieces.push(ANSWER[(i - thinkLength) % ANSWER.length]);
  }
  return pieces;
}

function sseFrames() {
  const head = '{"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"bench-model:chunks=64","system_fingerprint":"fp_mock_bench","choices":[';
  const frames = [`data: ${head}{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n`];
  for (const piece of contentPieces(CONTENT_CHUNKS)) {
    frames.push(`data: ${head}{"index":0,"delta":{"content":${JSON.stringify(piece)}},"logprobs":null,"finish_reason":null}]}\n\n`);
  }
  frames.push(`data: ${head}{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}\n\n`);
  frames.push(`data: ${head}],"usage":{"prompt_tokens":2865,"completion_tokens":64,"total_tokens":2929}}\n\n`);
  frames.push('data: [DONE]\n\n');
  return frames;
}

const FRAMES = sseFrames();
const FRAME_BUFFERS = FRAMES.map((frame) => Buffer.from(frame, 'utf8'));
const WHOLE_BUFFER = Buffer.concat(FRAME_BUFFERS);
const STREAM_BYTES = WHOLE_BUFFER.length;
const DATA = FRAMES.map((frame) => frame.slice('data: '.length, -2));
const CHUNK_DATA = DATA.slice(0, -1);
const PARSED = CHUNK_DATA.map((data) => JSON.parse(data));
const PIECES = contentPieces(CONTENT_CHUNKS);
const UPSTREAM_MODEL_FIELD = '"model":"bench-model:chunks=64"';
const CLIENT_MODEL_FIELD = '"model":"bench-model"';

// ---------------------------------------------------------------- cases
const transformOptions = (mode) => ({ mode, responseModel: 'bench-model', emptyAnswerFallback: true });

// Each case processes one whole stream and returns a value so the work cannot be optimised away.
const CASES = [
  {
    name: 'ChatStreamTransform strip, one push per frame',
    note: 'what a paced upstream causes: one read per SSE frame',
    run() {
      const transform = new ChatStreamTransform(transformOptions('strip'));
      let out = 0;
      for (const buffer of FRAME_BUFFERS) out += transform.push(buffer).length;
      return out + transform.end().length;
    },
  },
  {
    name: 'ChatStreamTransform strip, whole stream in one push',
    note: 'what a burst upstream causes on loopback: few large reads',
    run() {
      const transform = new ChatStreamTransform(transformOptions('strip'));
      return transform.push(WHOLE_BUFFER).length + transform.end().length;
    },
  },
  {
    name: 'ChatStreamTransform keep, one push per frame',
    note: 'no thinking filter work, model rename still on',
    run() {
      const transform = new ChatStreamTransform(transformOptions('keep'));
      let out = 0;
      for (const buffer of FRAME_BUFFERS) out += transform.push(buffer).length;
      return out + transform.end().length;
    },
  },
  {
    name: 'bound: decode + SSE split + model splice, no JSON',
    note: 'a lower bound for a text-level pass-through of chunks after the thinking block',
    run() {
      const decoder = new TextDecoder('utf-8');
      let out = 0;
      const parser = createParser({
        onEvent: (message) => {
          const data = message.data;
          const at = data.indexOf(UPSTREAM_MODEL_FIELD);
          out += (at === -1 ? data : `${data.slice(0, at)}${CLIENT_MODEL_FIELD}${data.slice(at + UPSTREAM_MODEL_FIELD.length)}`).length;
        },
      });
      for (const buffer of FRAME_BUFFERS) parser.feed(decoder.decode(buffer, { stream: true }));
      return out;
    },
  },
  {
    name: 'part: TextDecoder + eventsource-parser',
    note: 'decode and split into events, nothing else',
    run() {
      const decoder = new TextDecoder('utf-8');
      let out = 0;
      const parser = createParser({ onEvent: (message) => { out += message.data.length; } });
      for (const buffer of FRAME_BUFFERS) parser.feed(decoder.decode(buffer, { stream: true }));
      return out;
    },
  },
  {
    name: 'part: JSON.parse of every chunk',
    note: '67 chunks',
    run() {
      let out = 0;
      for (const data of CHUNK_DATA) out += JSON.parse(data).created;
      return out;
    },
  },
  {
    name: 'part: JSON.stringify of every chunk',
    note: 'the transform re-serialises every chunk whose model or delta it changes',
    run() {
      let out = 0;
      for (const chunk of PARSED) out += JSON.stringify(chunk).length;
      return out;
    },
  },
  {
    name: 'part: ThinkingFilter strip, content pieces only',
    note: '64 pushContent calls and finish()',
    run() {
      const filter = new ThinkingFilter({ mode: 'strip' });
      let out = 0;
      for (const piece of PIECES) out += filter.pushContent(piece).content.length;
      return out + filter.finish('stop').content.length;
    },
  },
];

// Times are CPU time of this process (process.cpuUsage), not wall-clock time, so that other
// processes on a shared machine inflate them less. Each case runs in 5 slices after its
// warm-up; the figures are the median slice and the fastest slice.
function measure(testCase) {
  let sink = 0;
  const warmUntil = performance.now() + runMs;
  while (performance.now() < warmUntil) sink += testCase.run();
  const slices = [];
  for (let slice = 0; slice < 5; slice++) {
    let streams = 0;
    const sliceEnd = performance.now() + runMs / 5;
    const cpuStart = process.cpuUsage();
    do {
      for (let i = 0; i < 20; i++) sink += testCase.run();
      streams += 20;
    } while (performance.now() < sliceEnd);
    const cpu = process.cpuUsage(cpuStart);
    slices.push((cpu.user + cpu.system) / streams);
  }
  slices.sort((a, b) => a - b);
  const usPerStream = slices[2];
  return {
    name: testCase.name,
    note: testCase.note,
    us_per_stream: Number(usPerStream.toFixed(2)),
    us_per_stream_min: Number(slices[0].toFixed(2)),
    us_per_frame: Number((usPerStream / FRAMES.length).toFixed(3)),
    mb_per_s: Number((STREAM_BYTES / usPerStream).toFixed(1)),
    sink: sink % 10,
  };
}

// Check the transform's output once, so a broken build is not timed as a fast one.
{
  const transform = new ChatStreamTransform(transformOptions('strip'));
  const text = FRAME_BUFFERS.map((buffer) => transform.push(buffer)).join('') + transform.end();
  const content = [...text.matchAll(/"content":"([^"]*)"/g)].map((match) => match[1]).join('');
  if (!text.endsWith('data: [DONE]\n\n') || content.includes('用户') || !content.startsWith('西湖位于')) {
    process.stderr.write(`filter-bench: the transform's output is not the stripped stream:\n${text.slice(0, 600)}\n`);
    process.exit(1);
  }
}

const selected = only === undefined ? CASES : CASES.filter((testCase) => testCase.name.includes(only));
if (selected.length === 0) {
  process.stderr.write(`filter-bench: no case name contains "${only}"; the cases are:\n${CASES.map((c) => `  ${c.name}`).join('\n')}\n`);
  process.exit(2);
}
const results = selected.map(measure);
const meta = {
  node: process.version,
  stream: { frames: FRAMES.length, bytes: STREAM_BYTES, content_chunks: CONTENT_CHUNKS },
  run_ms: runMs,
};
if (asJson) {
  process.stdout.write(`${JSON.stringify({ meta, results }, null, 2)}\n`);
} else {
  process.stdout.write(`filter-bench: node ${meta.node}, ${FRAMES.length} frames, ${STREAM_BYTES} bytes per stream, ${runMs} ms per case, CPU time (median of 5 slices)\n\n`);
  const rows = [['case', 'CPU us/stream', 'fastest slice', 'us/frame', 'MB/s'], ...results.map((r) => [r.name, r.us_per_stream.toFixed(1), r.us_per_stream_min.toFixed(1), r.us_per_frame.toFixed(2), r.mb_per_s.toFixed(1)])];
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  for (const row of rows) {
    process.stdout.write(`${row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join('  ')}\n`);
  }
}
