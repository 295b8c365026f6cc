#!/usr/bin/env node
// A/B comparison of microtune builds (and the naive fastify-undici baseline) under the same
// load, for checking a performance change: CPU time per request is the main figure, because
// on a shared machine it moves less than throughput does.
//
//   node bench/compare.mjs [--rounds 5] [--duration 8] [--phases ns,stream,paced] \
//     base=/path/to/checkout-a change=/path/to/checkout-b [peer:fastify-undici] [peer:floor]
//
// Each NAME=DIR is a microtune checkout with dist/ built; it is started as
// `node DIR/dist/main.js` with this repo's bench/microtune.bench.yaml and LOG_LEVEL=info.
// NAME=DIR,KEY=VALUE,... adds environment variables (quiet=DIR,LOG_LEVEL=warn measures the
// cost of the per-request log line). `peer:fastify-undici`
// adds the harness's naive baseline (needs the npm packages that bench/run.sh installs into
// BENCH_SCRATCH). `peer:floor` adds bench/floor-proxy.mjs, the least work a Fastify + undici
// proxy can do for the same request (it runs on this repo's node_modules). All targets run at once on CPU 1, idle except while measured; the mock and
// wrk share CPU 0. Each round measures every phase on every target in turn (the order
// rotates per round) and the figures are medians over rounds. Phases: ns = non-stream c=64,
// stream = 64-chunk stream c=16, paced = the same stream with 5 ms between chunks, c=16.
// The targets' standard output, microtune's log lines included, goes to /dev/null, which makes
// logging cheaper here than with a log file. Everything listens on 127.0.0.1, and the servers
// started here are stopped at the end.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SHARED = process.env.MICROTUNE_SHARED_BENCH ?? path.join(REPO, '..', 'shared', 'bench');
const SCRATCH = process.env.BENCH_SCRATCH ?? path.join(process.env.TMPDIR ?? '/tmp', 'microtune-bench-harness');
const MOCK_PORT = 18090;
const FIRST_PORT = 18800;
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
const PIN = os.cpus().length >= 2;

const args = process.argv.slice(2);
const options = { rounds: 5, duration: 8, phases: ['ns', 'stream', 'paced'] };
const targets = [];
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  if (arg === '--rounds') options.rounds = Number(args[++i]);
  else if (arg === '--duration') options.duration = Number(args[++i]);
  else if (arg === '--phases') options.phases = args[++i].split(',');
  else if (arg === 'peer:fastify-undici') targets.push({ name: 'fastify-undici', peer: true });
  else if (arg === 'peer:floor') targets.push({ name: 'floor', peer: true, floor: true });
  else if (arg.includes('=')) {
    const [location, ...settings] = arg.slice(arg.indexOf('=') + 1).split(',');
    const env = {};
    for (const setting of settings) {
      if (!setting.includes('=')) fail(`"${setting}" in "${arg}" is not KEY=VALUE`);
      env[setting.slice(0, setting.indexOf('='))] = setting.slice(setting.indexOf('=') + 1);
    }
    targets.push({ name: arg.slice(0, arg.indexOf('=')), dir: path.resolve(location), env });
  } else fail(`unknown argument "${arg}"; see the usage at the top of bench/compare.mjs`);
}
if (targets.length === 0) fail('name at least one target: NAME=DIR (a microtune checkout with dist/ built), peer:fastify-undici or peer:floor');
if (!existsSync(path.join(SHARED, 'mock-upstream.mjs'))) fail(`no mock upstream at ${SHARED}/mock-upstream.mjs; set MICROTUNE_SHARED_BENCH`);
for (const target of targets) {
  if (target.peer && !target.floor && !existsSync(path.join(SCRATCH, 'node_modules', 'fastify', 'package.json'))) fail(`no harness npm packages in ${SCRATCH}; run bench/run.sh once first`);
  if (target.dir && !existsSync(path.join(target.dir, 'dist', 'main.js'))) fail(`${target.dir}/dist/main.js not found; run npm run build there`);
}
for (const phase of options.phases) if (!['ns', 'stream', 'paced'].includes(phase)) fail(`unknown phase "${phase}"; use ns, stream or paced`);

function fail(message) {
  process.stderr.write(`compare: ${message}\n`);
  process.exit(2);
}

const children = [];
function start(command, commandArgs, env) {
  const [file, fileArgs] = PIN ? ['taskset', ['-c', env.CPU, command, ...commandArgs]] : [command, commandArgs];
  const child = spawn(file, fileArgs, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(child);
  return child;
}
function stopAll() {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
}
process.on('exit', stopAll);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => { stopAll(); process.exit(130); });

async function waitPort(port) {
  for (let i = 0; i < 100; i++) {
    const open = await new Promise((resolve) => {
      const socket = net.connect({ port, host: '127.0.0.1' });
      socket.once('connect', () => { socket.destroy(); resolve(true); });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await sleep(100);
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after 10 s`);
}

function cpuTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}
function hwmMb(pid) {
  const match = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : null;
}

const bodyDir = mkdtempSync(path.join(os.tmpdir(), 'microtune-compare-'));
function bodyFile(target, phase) {
  const model = target.peer
    ? (phase === 'paced' ? 'bench-model:chunks=64,delay=5' : 'bench-model:chunks=64')
    : (phase === 'paced' ? 'microtune-bench:chunks=64,delay=5' : 'microtune-bench:chunks=64');
  const body = { model, messages: [{ role: 'user', content: '请用三句话介绍一下杭州的西湖。' }], stream: phase !== 'ns' };
  if (phase !== 'ns') body.stream_options = { include_usage: true };
  const file = path.join(bodyDir, `${target.peer ? 'peer' : 'microtune'}-${phase}.json`);
  writeFileSync(file, JSON.stringify(body));
  return file;
}

function runWrk(target, phase) {
  const concurrency = phase === 'ns' ? 64 : 16;
  const wrkArgs = ['-t1', `-c${concurrency}`, `-d${options.duration}s`, '--timeout', '10s', '-s', path.join(SHARED, 'lib', 'wrk-report.lua'),
    '-H', 'Authorization: Bearer sk-bench-not-a-real-key', `http://127.0.0.1:${target.port}/v1/chat/completions`];
  const [file, fileArgs] = PIN ? ['taskset', ['-c', '0', 'wrk', ...wrkArgs]] : ['wrk', wrkArgs];
  const output = execFileSync(file, fileArgs, { env: { ...process.env, BENCH_BODY_FILE: bodyFile(target, phase) }, timeout: (options.duration + 30) * 1000 }).toString();
  const line = output.split('\n').find((text) => text.startsWith('BENCHJSON '));
  if (line === undefined) throw new Error(`wrk printed no result for ${target.name}: ${output.slice(-300)}`);
  return JSON.parse(line.slice('BENCHJSON '.length));
}

function median(values) {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

async function startTargets() {
  start(process.execPath, [path.join(SHARED, 'mock-upstream.mjs')], { CPU: '0', MOCK_HOST: '127.0.0.1', MOCK_PORT: String(MOCK_PORT) });
  await waitPort(MOCK_PORT);
  for (const [index, target] of targets.entries()) {
    target.port = FIRST_PORT + index;
    const env = { CPU: '1', HOST: '127.0.0.1', PORT: String(target.port) };
    if (target.floor) {
      target.child = start(process.execPath, [path.join(REPO, 'bench', 'floor-proxy.mjs')], {
        ...env,
        UPSTREAM_URL: `http://127.0.0.1:${MOCK_PORT}`,
        SYSTEM_PROMPT_FILE: path.join(SHARED, 'fixtures', 'system-prompt.zh.txt'),
      });
    } else if (target.peer) {
      target.child = start(process.execPath, [path.join(SCRATCH, 'peers', 'fastify-undici.mjs')], { ...env, UPSTREAM_URL: `http://127.0.0.1:${MOCK_PORT}` });
    } else {
      target.child = start(process.execPath, [path.join(target.dir, 'dist', 'main.js')], {
        ...env,
        UPSTREAM_BASE_URL: `http://127.0.0.1:${MOCK_PORT}/v1`,
        MICROTUNE_CONFIG: path.join(REPO, 'bench', 'microtune.bench.yaml'),
        LOG_LEVEL: 'info',
        ...target.env,
      });
    }
    await waitPort(target.port);
    target.runs = {};
  }
}

/** Runs one phase on one target and returns its figures, with CPU time from /proc. */
function measure(target, phase) {
  const before = cpuTicks(target.child.pid);
  const result = runWrk(target, phase);
  const ticks = cpuTicks(target.child.pid) - before;
  return {
    rps: result.requests / (result.duration_us / 1e6),
    cpu_us_per_req: (ticks * 1e6) / CLK_TCK / result.requests,
    p50_ms: result.latency_us.p50 / 1000,
    p99_ms: result.latency_us.p99 / 1000,
    errors: Object.values(result.errors).reduce((a, b) => a + b, 0),
    loadavg1: os.loadavg()[0],
  };
}

function report() {
  const first = targets[0];
  const lines = [`compare: ${options.rounds} rounds x ${options.duration} s, medians; ratios are to ${first.name} (median of per-round ratios)`, ''];
  lines.push('| target | phase | req/s | CPU us/req | x CPU | p50 ms | p99 ms | VmHWM MB |', '|:--|:--|--:|--:|--:|--:|--:|--:|');
  const summary = [];
  for (const phase of options.phases) {
    for (const target of targets) {
      const runs = target.runs[phase];
      const ratio = median(runs.map((run, i) => run.cpu_us_per_req / first.runs[phase][i].cpu_us_per_req));
      const row = {
        target: target.name, phase, rps: median(runs.map((r) => r.rps)), cpu_us_per_req: median(runs.map((r) => r.cpu_us_per_req)),
        cpu_ratio: ratio, p50_ms: median(runs.map((r) => r.p50_ms)), p99_ms: median(runs.map((r) => r.p99_ms)), vm_hwm_mb: hwmMb(target.child.pid),
        errors: runs.reduce((a, r) => a + r.errors, 0), runs,
      };
      summary.push(row);
      lines.push(`| ${row.target} | ${phase} | ${row.rps.toFixed(0)} | ${row.cpu_us_per_req.toFixed(0)} | ${row.cpu_ratio.toFixed(2)} | ${row.p50_ms.toFixed(2)} | ${row.p99_ms.toFixed(2)} | ${row.vm_hwm_mb?.toFixed(1)} |${row.errors ? ` ERRORS ${row.errors}` : ''}`);
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  if (process.env.COMPARE_JSON) writeFileSync(process.env.COMPARE_JSON, `${JSON.stringify({ options, node: process.version, summary }, null, 2)}\n`);
}

async function main() {
  await startTargets();

  // Warm-up (JIT, connection pools), not recorded.
  const measuredDuration = options.duration;
  options.duration = 2;
  for (const target of targets) for (const phase of options.phases) runWrk(target, phase);
  options.duration = measuredDuration;

  for (let round = 0; round < options.rounds; round++) {
    for (const phase of options.phases) {
      // The order rotates every round so that no target always runs first.
      const order = targets.map((_, i) => targets[(i + round) % targets.length]);
      for (const target of order) {
        const run = measure(target, phase);
        (target.runs[phase] ??= []).push(run);
        process.stderr.write(`round ${round + 1}/${options.rounds} ${phase.padEnd(6)} ${target.name.padEnd(16)} ${run.rps.toFixed(0)} req/s  ${run.cpu_us_per_req.toFixed(0)} us/req${run.errors ? `  ERRORS ${run.errors}` : ''}\n`);
        await sleep(300);
      }
    }
  }

  report();
}

main().then(() => { stopAll(); process.exit(0); }, (error) => { process.stderr.write(`compare: ${error.stack ?? error}\n`); stopAll(); process.exit(1); });
