#!/usr/bin/env node
// A/B micro-benchmark of ChatStreamTransform builds on the exact stream that the harness's
// mock upstream writes, with no sockets.
//
//   npx tsc -p tsconfig.build.json --outDir /tmp/a/dist   (once per build to compare)
//   taskset -c 1 node bench/stream-transform-bench.mjs [--impl NAME=DIST_DIR]... [--rounds 3] [--ms 1500] [--json]
//
// Each --impl names a built dist/ folder (default: this repository's dist/). A dist/ folder
// outside the repository needs node_modules next to it, for example a symlink to this
// repository's node_modules.
//
// The main stream is the mock's: one role chunk, 64 content chunks (a ```thinking block over the
// first quarter, then answer pieces of 2-4 Chinese characters), a finish_reason chunk, and a
// last write that holds the usage chunk and `data: [DONE]`. That is 67 writes, 68 SSE events.
// The upstream model is `bench-model:chunks=64` and the client's alias `microtune-bench`, so
// the transform rewrites `model` in every chunk, as behind the benchmark's aliases. One more
// case sends English pieces in the same frames.
//
// Before timing, the script checks that every build returns the same text, byte for byte,
// for every case. Times are CPU time of this process (process.cpuUsage). Every round runs
// each case on each build in turn, and the figures are the median of the rounds.
import { Buffer } from 'node:buffer';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const runMs = Number(valueOf('--ms') ?? 1500);
const rounds = Number(valueOf('--rounds') ?? 3);
const asJson = args.includes('--json');
if (!Number.isFinite(runMs) || runMs <= 0) fail(`--ms must be a positive number of milliseconds, got ${valueOf('--ms')}`);
if (!Number.isInteger(rounds) || rounds <= 0) fail(`--rounds must be a positive integer, got ${valueOf('--rounds')}`);

function valueOf(flag) {
  const index = args.indexOf(flag);
  return index >= 0 ? args[index + 1] : undefined;
}

function valuesOf(flag) {
  const values = [];
  for (let index = 0; index < args.length; index++) {
    if (args[index] === flag && args[index + 1] !== undefined) values.push(args[index + 1]);
  }
  return values;
}

function fail(message) {
  process.stderr.write(`stream-transform-bench: ${message}\n`);
  process.exit(2);
}

// ---------------------------------------------------------------- the builds
const REPOSITORY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const implSpecs = valuesOf('--impl');
if (implSpecs.length === 0) implSpecs.push(`current=${path.join(REPOSITORY, 'dist')}`);

const IMPLS = [];
for (const spec of implSpecs) {
  const equals = spec.indexOf('=');
  if (equals <= 0) fail(`--impl takes NAME=DIST_DIR, got ${spec}`);
  const name = spec.slice(0, equals);
  const distDir = path.resolve(spec.slice(equals + 1));
  const module = await import(pathToFileURL(path.join(distDir, 'sse', 'chat-stream-transform.js')).href);
  IMPLS.push({ name, distDir, ChatStreamTransform: module.ChatStreamTransform });
}

// ---------------------------------------------------------------- the stream
// Text pieces and framing copied from the harness's mock upstream (mock-upstream.mjs).
const THINK = ['嗯，用户', '想了解', '西湖的', '特点，', '我应该', '先概括', '位置，', '再说', '景点和', '文化。', '注意', '简洁。'];
const ANSWER = ['西湖位于', '浙江省', '杭州市', '西部，', '是中国', '著名的', '风景', '名胜区。', '湖中有', '三潭', '印月、', '湖心亭', '等景点，', '周边有', '苏堤、', '白堤', '和雷峰', '塔。', '它在', '2011年', '被列入', '世界文化', '遗产', '名录。', '春天', '桃红', '柳绿，', '夏天', '荷花', '盛开，', '秋天', '桂香', '满城，', '冬天', '断桥', '残雪，', '四季', '各有', '韵味。'];
const CONTENT_CHUNKS = 64;
const UPSTREAM_MODEL = 'bench-model:chunks=64';
const RESPONSE_MODEL = 'microtune-bench';

// English pieces of the same lengths in words, for a stream whose decoded text V8 stores as one-byte strings.
const THINK_ASCII = ['Well, the', 'user asks', 'about the', 'West Lake,', 'so I', 'sum up', 'where it is,', 'then', 'sights and', 'culture.', 'Keep', 'it short.'];
const ANSWER_ASCII = ['West Lake', 'lies in', 'the west', 'of Hangzhou,', 'a famous', 'scenic', 'area', 'of China.', 'In the', 'lake are', 'islands', 'and', 'pavilions;', 'around it', 'run two', 'causeways.'];

function contentPieces(count, think = THINK, answer = ANSWER) {
  const thinkLength = Math.max(2, Math.round(count / 4));
  const pieces = [];
  for (let i = 0; i < count; i++) {
    if (i === 0) pieces.push('```thinking\n');
    else if (i < thinkLength - 1) pieces.push(think[(i - 1) % think.length]);
    else if (i === thinkLength - 1) pieces.push('\n```\n');
    else pieces.push(answer[(i - thinkLength) % answer.length]);
  }
  return pieces;
}

/** Returns the mock's writes for one stream, in order. */
function mockWrites(pieces = contentPieces(CONTENT_CHUNKS)) {
  const usage = { prompt_tokens: 2865, completion_tokens: CONTENT_CHUNKS, total_tokens: 2865 + CONTENT_CHUNKS };
  const pre = `data: {"id":"chatcmpl-mock1a","object":"chat.completion.chunk","created":1764820000,"model":${JSON.stringify(UPSTREAM_MODEL)},"system_fingerprint":"fp_mock_bench","choices":[`;
  const writes = [`${pre}{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n`];
  for (const piece of pieces) {
    writes.push(`${pre}{"index":0,"delta":{"content":${JSON.stringify(piece)}},"logprobs":null,"finish_reason":null}]}\n\n`);
  }
  writes.push(`${pre}{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}\n\n`);
  writes.push(`${pre}],"usage":${JSON.stringify(usage)}}\n\ndata: [DONE]\n\n`);
  return writes;
}

const WRITE_BUFFERS = mockWrites().map((write) => Buffer.from(write, 'utf8'));
const WHOLE_BUFFER = Buffer.concat(WRITE_BUFFERS);
const STREAM_BYTES = WHOLE_BUFFER.length;
const ASCII_BUFFERS = mockWrites(contentPieces(CONTENT_CHUNKS, THINK_ASCII, ANSWER_ASCII)).map((write) => Buffer.from(write, 'utf8'));

// ---------------------------------------------------------------- the cases
const CASES = [
  { name: 'strip, one read per write', mode: 'strip', reads: WRITE_BUFFERS },
  { name: 'strip, whole stream in one read', mode: 'strip', reads: [WHOLE_BUFFER] },
  { name: 'keep, one read per write', mode: 'keep', reads: WRITE_BUFFERS },
  { name: 'separate, one read per write', mode: 'separate', reads: WRITE_BUFFERS },
  { name: 'strip, English text, one read per write', mode: 'strip', reads: ASCII_BUFFERS },
];

/** Runs one stream through a new transform and returns what each push() and end() returned. */
function runStream(impl, testCase) {
  const transform = new impl.ChatStreamTransform({ mode: testCase.mode, responseModel: RESPONSE_MODEL, emptyAnswerFallback: true });
  const writes = testCase.reads.map((read) => transform.push(read));
  writes.push(transform.end());
  return writes;
}

/**
 * Runs one stream and returns the UTF-8 length of the client's writes. Buffer.byteLength
 * flattens each returned string, as the socket write does, so a build that returns
 * concatenated strings pays for flattening them here.
 */
function timeStream(impl, testCase) {
  const transform = new impl.ChatStreamTransform({ mode: testCase.mode, responseModel: RESPONSE_MODEL, emptyAnswerFallback: true });
  let bytes = 0;
  for (const read of testCase.reads) bytes += Buffer.byteLength(transform.push(read), 'utf8');
  return bytes + Buffer.byteLength(transform.end(), 'utf8');
}

// Every build must return the same bytes, and the stream must come out stripped, before anything is timed.
for (const testCase of CASES) {
  const expectedWrites = runStream(IMPLS[0], testCase);
  const expected = expectedWrites.join('');
  if (!expected.endsWith('data: [DONE]\n\n') || !expected.includes(`"model":"${RESPONSE_MODEL}"`)) {
    fail(`${IMPLS[0].name} did not return a finished stream with the alias for "${testCase.name}":\n${expected.slice(0, 600)}`);
  }
  if (testCase.mode === 'strip' && (expected.includes('用户') || expected.includes('user asks'))) fail(`${IMPLS[0].name} left the thinking block in "${testCase.name}"`);
  for (const impl of IMPLS.slice(1)) {
    const actualWrites = runStream(impl, testCase);
    if (actualWrites.length !== expectedWrites.length || actualWrites.some((write, index) => write !== expectedWrites[index])) {
      fail(`${impl.name} and ${IMPLS[0].name} return different text for "${testCase.name}"`);
    }
  }
}

/** Returns the CPU microseconds per stream of one case on one build, after a warm-up of runMs. */
function measure(impl, testCase) {
  let sink = 0;
  const warmUntil = performance.now() + runMs;
  while (performance.now() < warmUntil) sink += timeStream(impl, testCase);

  let streams = 0;
  const until = performance.now() + runMs;
  const cpuStart = process.cpuUsage();
  do {
    for (let i = 0; i < 20; i++) sink += timeStream(impl, testCase);
    streams += 20;
  } while (performance.now() < until);
  const cpu = process.cpuUsage(cpuStart);
  if (sink === 0) fail('no output');
  return (cpu.user + cpu.system) / streams;
}

const samples = new Map();
for (let round = 0; round < rounds; round++) {
  for (const testCase of CASES) {
    for (const impl of IMPLS) {
      const key = `${testCase.name}\u0000${impl.name}`;
      if (!samples.has(key)) samples.set(key, []);
      samples.get(key).push(measure(impl, testCase));
    }
  }
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const results = [];
for (const testCase of CASES) {
  for (const impl of IMPLS) {
    const values = samples.get(`${testCase.name}\u0000${impl.name}`);
    results.push({
      case: testCase.name,
      impl: impl.name,
      us_per_stream: Number(median(values).toFixed(1)),
      rounds_us: values.map((value) => Number(value.toFixed(1))),
    });
  }
}

const meta = { node: process.version, writes: WRITE_BUFFERS.length, bytes: STREAM_BYTES, run_ms: runMs, rounds };
if (asJson) {
  process.stdout.write(`${JSON.stringify({ meta, impls: IMPLS.map(({ name, distDir }) => ({ name, distDir })), results }, null, 2)}\n`);
} else {
  process.stdout.write(`stream-transform-bench: node ${meta.node}, ${meta.writes} writes, ${STREAM_BYTES} bytes per stream, ${rounds} rounds of ${runMs} ms per case and build, CPU time\n\n`);
  const rows = [['case', 'build', 'CPU us/stream (median)', 'rounds'], ...results.map((r) => [r.case, r.impl, r.us_per_stream.toFixed(1), r.rounds_us.join(' ')])];
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  for (const row of rows) {
    process.stdout.write(`${row.map((cell, column) => (column === 2 ? cell.padStart(widths[column]) : cell.padEnd(widths[column]))).join('  ')}\n`);
  }
}
