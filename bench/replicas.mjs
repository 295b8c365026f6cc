// Throughput of microtune replicas behind nginx, against one replica.
//
//   npm run build && node bench/replicas.mjs [--duration 10] [--warmup 3] [--connections 32]
//                                            [--rounds 1] [--client auto|wrk|node] [--no-redis] [--keep]
//
// Starts, all on 127.0.0.1 with free ports: a mock upstream (nginx returning
// one fixed chat completion, so the upstream costs little CPU), built
// instances of microtune (`node dist/main.js`, LOG_LEVEL=info as in
// production), and nginx as the load balancer. It then sends the same
// non-streamed chat request for a fixed time to each setup in turn:
//   1. one instance, directly
//   2. nginx -> one instance
//   3. nginx -> two instances
//   4. nginx -> two instances, one of which gets SIGTERM a third of the way
//      into the run; requests that fail while it drains count as errors
//   5. the same with nginx's default proxy_next_upstream (no retry of POST)
// and, unless --no-redis, with redis-server and REDIS_URL on two fresh
// instances whose rate limit (set high enough never to trigger) counts in
// Redis on every request:
//   6. one instance directly, rate limit in Redis
//   7. nginx -> two instances, rate limit in Redis
// With --rounds N every setup runs N times, in turn, and the table shows the
// median rate and its range. The load comes from wrk (one thread) when it is
// installed, else from a closed-loop client in node. It prints one table; every process it started
// is stopped at the end, also after an error. Needs nginx (and redis-server
// unless --no-redis) from Debian: apt-get install -y nginx wrk redis-server.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { stringify as toYaml } from 'yaml';
import { runNodeClient, runWrk } from './replicas/load.mjs';
import { loadBalancerConf, mockUpstreamConf } from './replicas/nginx-conf.mjs';
import { freePort, httpReady, redisReady, startProcess, stopProcess } from './replicas/processes.mjs';

const REPO = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const MAIN = path.join(REPO, 'dist', 'main.js');
const API_KEY = 'sk-bench';
const ANSWER = 'The lamp is lit every night at dusk.';
const COMPLETION = {
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 1764820000,
  model: 'bench-model',
  choices: [{ index: 0, message: { role: 'assistant', content: `\`\`\`thinking\nThe visitor asks about the lamp; answer briefly.\n\`\`\`\n${ANSWER}` }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 420, completion_tokens: 24, total_tokens: 444 },
};
const PACK = {
  name: 'keeper',
  title: 'Lighthouse keeper',
  preamble: 'You are Ada, who has kept the lighthouse on the northern cape for thirty years. You speak plainly and briefly.',
  examples: [
    { user: 'Who is at the door so late?', thinking: 'A knock at night; in this weather it could be a lost sailor.', answer: '"Come in out of the rain," Ada says, and holds the lamp higher.' },
    { user: 'Is the light ever late?', thinking: 'Never in thirty years, and I am proud of that.', answer: '"Not once," she says. "Not in thirty winters."' },
  ],
};
const REQUEST_BODY = JSON.stringify({ model: 'keeper', messages: [{ role: 'user', content: 'When do you light the lamp?' }] });
const HEADERS = { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` };

function readOptions() {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '3' },
      connections: { type: 'string', default: '32' },
      rounds: { type: 'string', default: '1' },
      client: { type: 'string', default: 'auto' },
      'no-redis': { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const options = {
    durationSeconds: Number(values.duration),
    warmupSeconds: Number(values.warmup),
    connections: Number(values.connections),
    rounds: Number(values.rounds),
    client: values.client,
    redis: !values['no-redis'],
    keep: values.keep,
  };
  if (!(options.durationSeconds > 0 && options.durationSeconds <= 120)) throw new Error(`--duration is "${values.duration}"; use 1 to 120 seconds`);
  if (!(options.warmupSeconds >= 0 && options.warmupSeconds <= 60)) throw new Error(`--warmup is "${values.warmup}"; use 0 to 60 seconds`);
  if (!(Number.isInteger(options.connections) && options.connections >= 1 && options.connections <= 1024)) throw new Error(`--connections is "${values.connections}"; use 1 to 1024`);
  if (!(Number.isInteger(options.rounds) && options.rounds >= 1 && options.rounds <= 10)) throw new Error(`--rounds is "${values.rounds}"; use 1 to 10`);
  if (!['auto', 'wrk', 'node'].includes(options.client)) throw new Error(`--client is "${values.client}"; use auto, wrk or node`);
  return options;
}

function hasCommand(command, versionFlag) {
  return spawnSync(command, [versionFlag], { stdio: 'ignore' }).error === undefined;
}

function versionOf(command, flag) {
  const result = spawnSync(command, [flag], { encoding: 'utf8' });
  return `${result.stdout}${result.stderr}`.split('\n').find((line) => line.trim() !== '')?.trim() ?? 'unknown';
}

/** Sends one request and checks that the response content is the mock's, with the thinking block stripped. */
async function checkAnswer(url) {
  const response = await request(url, { method: 'POST', headers: HEADERS, body: REQUEST_BODY, headersTimeout: 10_000, bodyTimeout: 10_000 });
  const text = await response.body.text();
  const content = response.statusCode === 200 ? JSON.parse(text).choices?.[0]?.message?.content : undefined;
  if (content !== ANSWER) throw new Error(`${url} returned ${response.statusCode} ${text.slice(0, 300)}; expected the content "${ANSWER}"`);
}

/** Sums microtune_requests_total over all labels from an instance's /metrics. */
async function requestCount(port) {
  const response = await request(`http://127.0.0.1:${port}/metrics`, { headersTimeout: 5_000, bodyTimeout: 5_000 });
  const text = await response.body.text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('microtune_requests_total{')) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

function format(value, digits = 0) {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

/**
 * Measures one setup: checks one response, warms up, then runs the load for the
 * configured time. With `setup.stop`, that replica gets SIGTERM a third of the
 * way into the run and is started again afterwards.
 */
async function measureSetup({ setup, url, options, useWrk, folder, replicas, replicaPort, restart }) {
  await checkAnswer(url);
  const load = { url, body: REQUEST_BODY, headers: HEADERS, connections: options.connections, folder };
  const run = (durationSeconds) => (useWrk ? runWrk({ ...load, durationSeconds }) : runNodeClient({ ...load, durationSeconds }));
  if (options.warmupSeconds > 0) await run(options.warmupSeconds);

  const before = await Promise.all(setup.measured.map((index) => requestCount(replicaPort(index))));
  const stopped = setup.stop === undefined ? undefined : delay((options.durationSeconds * 1000) / 3).then(() => stopProcess(replicas.get(setup.stop)));
  const result = await run(options.durationSeconds);
  await stopped;
  if (setup.stop !== undefined) replicas.set(setup.stop, await restart(setup.stop));
  const after = await Promise.all(setup.measured.map((index) => requestCount(replicaPort(index))));

  const counts = after.map((count, position) => count - before[position]);
  const total = counts.reduce((sum, value) => sum + value, 0);
  const share = setup.stop === undefined
    ? counts.map((count) => `${format((100 * count) / total)}%`).join(' / ')
    : `${total} / ${result.requests - total} (second one stopped)`;
  return { ...result, share, drain: setup.stop !== undefined };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Combines the rounds of one setup: medians of rate and latency, the range of rates, the sum of errors. */
function summarize(name, measured) {
  const rates = measured.map((result) => result.rps);
  return {
    name,
    rps: median(rates),
    range: measured.length > 1 ? `${format(Math.min(...rates))}–${format(Math.max(...rates))}` : '',
    p50Ms: median(measured.map((result) => result.p50Ms)),
    p99Ms: median(measured.map((result) => result.p99Ms)),
    errors: measured.reduce((sum, result) => sum + result.errors, 0),
    requests: measured.reduce((sum, result) => sum + result.requests, 0),
    share: measured.at(-1).share,
    drain: measured[0].drain,
  };
}

function printReport({ results, options, useWrk, loadBefore }) {
  const baseline = results[0].rps;
  const cpu = os.cpus();
  const client = useWrk ? `${versionOf('wrk', '-v').split(' ').slice(0, 2).join(' ')} (1 thread)` : 'node (closed loop)';
  const redis = options.redis ? `, ${versionOf('redis-server', '--version').split(' ').slice(0, 3).join(' ')}` : '';
  console.log(`\nmicrotune replicas benchmark: ${options.rounds} round(s), ${options.durationSeconds} s per setup after ${options.warmupSeconds} s warm-up, ${options.connections} connections, client ${client}`);
  console.log(`machine: ${cpu.length} x ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${format(os.totalmem() / 2 ** 30)} GiB, node ${process.version}, ${versionOf('nginx', '-v')}${redis}`);
  console.log(`every process (client, nginx, mock upstream, instances, Redis) shares these CPUs; load average ${format(loadBefore, 2)} before the run, ${format(os.loadavg()[0], 2)} after\n`);
  const rangeColumn = options.rounds > 1;
  console.log(`| setup | req/s${rangeColumn ? ' (median)' : ''} |${rangeColumn ? ' range |' : ''} vs one instance direct | p50 ms | p99 ms | errors / requests | requests per instance |`);
  console.log(`| --- | ---: |${rangeColumn ? ' ---: |' : ''} ---: | ---: | ---: | ---: | --- |`);
  for (const result of results) {
    const range = rangeColumn ? ` ${result.range} |` : '';
    console.log(`| ${result.name} | ${format(result.rps)} |${range} ${format(result.rps / baseline, 2)} | ${format(result.p50Ms, 2)} | ${format(result.p99Ms, 2)} | ${result.errors} / ${result.requests} | ${result.share} |`);
  }
}

async function main() {
  const options = readOptions();
  if (!existsSync(MAIN)) throw new Error(`${path.relative(REPO, MAIN)} is missing; run \`npm run build\` first`);
  if (!hasCommand('nginx', '-v')) throw new Error('nginx is not installed; install it with `apt-get install -y nginx`');
  if (options.redis && !hasCommand('redis-server', '--version')) throw new Error('redis-server is not installed; install it with `apt-get install -y redis-server`, or pass --no-redis');
  const useWrk = options.client === 'wrk' || (options.client === 'auto' && hasCommand('wrk', '-v'));
  if (options.client === 'wrk' && !hasCommand('wrk', '-v')) throw new Error('wrk is not installed; install it with `apt-get install -y wrk`, or pass --client node');

  const loadBefore = os.loadavg()[0];
  if (loadBefore > os.cpus().length / 2) {
    console.error(`warning: the 1-minute load average is ${format(loadBefore, 2)} on ${os.cpus().length} CPUs; other processes will skew the figures`);
  }
  const folder = mkdtempSync(path.join(os.tmpdir(), 'microtune-replicas-bench-'));
  // nginx workers started by root run as user nobody and must reach their temporary folders.
  chmodSync(folder, 0o755);
  const started = [];
  const stopAll = async () => {
    for (const entry of started.reverse()) await stopProcess(entry.started, entry.signal);
    started.length = 0;
  };
  const track = (startedProcess, signal = 'SIGTERM') => {
    started.push({ started: startedProcess, signal });
    return startedProcess;
  };

  try {
    const ports = { mock: await freePort(), redis: await freePort(), front: [await freePort(), await freePort(), await freePort(), await freePort()], replicas: [] };
    for (let index = 0; index < 4; index++) ports.replicas.push(await freePort());

    writeFileSync(path.join(folder, 'mock.conf'), mockUpstreamConf({ folder, port: ports.mock, completion: COMPLETION }));
    track(await startProcess({ name: 'mock upstream (nginx)', command: 'nginx', args: ['-p', folder, '-c', path.join(folder, 'mock.conf')], env: {}, logFile: path.join(folder, 'mock.out'), isReady: httpReady(`http://127.0.0.1:${ports.mock}/health`) }), 'SIGQUIT');

    writeFileSync(path.join(folder, 'keeper.yaml'), toYaml(PACK));
    const writeConfig = (name, extra) => {
      const file = path.join(folder, name);
      writeFileSync(file, toYaml({ packsDir: '.', upstreams: { default: { baseUrl: `http://127.0.0.1:${ports.mock}/v1` } }, aliases: { keeper: { pack: 'keeper', model: 'bench-model', thinking: 'strip' } }, ...extra }));
      return file;
    };
    const plainConfig = writeConfig('plain.yaml', {});
    const sharedConfig = writeConfig('shared.yaml', { rateLimit: { max: 1_000_000_000, windowMs: 60_000 } });
    const startReplica = (index, configFile, env = {}) =>
      startProcess({
        name: `microtune ${index}`,
        command: process.execPath,
        args: [MAIN],
        env: { HOST: '127.0.0.1', PORT: String(ports.replicas[index]), MICROTUNE_CONFIG: configFile, LOG_LEVEL: 'info', ...env },
        logFile: path.join(folder, `replica-${index}.log`),
        isReady: httpReady(`http://127.0.0.1:${ports.replicas[index]}/readyz`),
      });

    const routes = [
      { port: ports.front[0], replicaPorts: [ports.replicas[0]] },
      { port: ports.front[1], replicaPorts: [ports.replicas[0], ports.replicas[1]] },
      { port: ports.front[2], replicaPorts: [ports.replicas[2], ports.replicas[3]] },
      { port: ports.front[3], replicaPorts: [ports.replicas[0], ports.replicas[1]], nginxRetries: false },
    ];
    writeFileSync(path.join(folder, 'front.conf'), loadBalancerConf({ folder, routes }));

    // route is 'direct' or an index into routes; `stop` is a replica sent SIGTERM a third of the way into the run.
    const phases = [
      {
        label: '',
        replicas: [0, 1],
        configFile: plainConfig,
        env: {},
        runs: [
          { name: 'one instance, direct', route: 'direct', measured: [0] },
          { name: 'nginx -> one instance', route: 0, measured: [0] },
          { name: 'nginx -> two instances', route: 1, measured: [0, 1] },
          { name: 'nginx -> two instances, one stopped (SIGTERM) mid-run', route: 1, measured: [0], stop: 1 },
          { name: 'as above, nginx default proxy_next_upstream', route: 3, measured: [0], stop: 1 },
        ],
      },
    ];
    if (options.redis) {
      phases.push({
        label: ', rate limit in Redis',
        replicas: [2, 3],
        configFile: sharedConfig,
        env: { REDIS_URL: `redis://127.0.0.1:${ports.redis}` },
        runs: [
          { name: 'one instance, direct', route: 'direct', measured: [2] },
          { name: 'nginx -> two instances', route: 2, measured: [2, 3] },
        ],
      });
      track(await startProcess({ name: 'redis-server', command: 'redis-server', args: ['--port', String(ports.redis), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], env: {}, logFile: path.join(folder, 'redis.log'), isReady: redisReady(ports.redis) }));
    }

    let front;
    const rounds = new Map();
    for (const phase of phases) {
      const replicas = new Map();
      for (const index of phase.replicas) replicas.set(index, track(await startReplica(index, phase.configFile, phase.env)));
      if (front === undefined) {
        front = track(await startProcess({ name: 'load balancer (nginx)', command: 'nginx', args: ['-p', folder, '-c', path.join(folder, 'front.conf')], env: {}, logFile: path.join(folder, 'front.out'), isReady: httpReady(`http://127.0.0.1:${ports.front[0]}/healthz`) }), 'SIGQUIT');
      }

      // Rounds go through every setup in turn, so a burst of load from other processes spreads over all of them.
      for (let round = 0; round < options.rounds; round++) {
        for (const setup of phase.runs) {
          const url = setup.route === 'direct' ? `http://127.0.0.1:${ports.replicas[setup.measured[0]]}/v1/chat/completions` : `http://127.0.0.1:${routes[setup.route].port}/v1/chat/completions`;
          const result = await measureSetup({ setup, url, options, useWrk, folder, replicas, replicaPort: (index) => ports.replicas[index], restart: async (index) => track(await startReplica(index, phase.configFile, phase.env)) });
          const name = `${setup.name}${phase.label}`;
          if (!rounds.has(name)) rounds.set(name, []);
          rounds.get(name).push(result);
          console.error(`  round ${round + 1}, ${name}: ${format(result.rps)} req/s, ${result.errors} errors`);
        }
      }
      for (const replica of replicas.values()) await stopProcess(replica);
    }

    const results = [...rounds].map(([name, measured]) => summarize(name, measured));
    printReport({ results, options, useWrk, loadBefore });
    // Errors while a replica drains are the finding of that run; anywhere else they mean the setup is broken.
    if (results.some((result) => result.errors > 0 && !result.drain)) process.exitCode = 1;
  } finally {
    await stopAll();
    if (options.keep) console.error(`kept ${folder}`);
    else rmSync(folder, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(`bench/replicas.mjs: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
