// Load generators of the replica benchmark: wrk (the Debian package) when it
// is installed, else a closed-loop client in node with a fixed number of
// connections. Both send the same POST for a fixed time and return the same
// result shape.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { Pool } from 'undici';

/** @typedef {{ requests: number, seconds: number, rps: number, p50Ms: number, p99Ms: number, errors: number }} LoadResult */

const LATENCY_UNITS_MS = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function latencyMs(text) {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(text ?? '');
  return match === null ? Number.NaN : Number(match[1]) * LATENCY_UNITS_MS[match[2]];
}

/** Parses wrk's report (run with --latency) into a LoadResult. */
export function parseWrkReport(text) {
  const number = (pattern) => Number(pattern.exec(text)?.[1] ?? Number.NaN);
  const requests = number(/(\d+) requests in/);
  const seconds = latencyMs(/requests in ([\d.]+\w+),/.exec(text)?.[1]) / 1000;
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const errors = Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0) +
    (socketErrors === null ? 0 : socketErrors.slice(1).reduce((sum, value) => sum + Number(value), 0));
  return {
    requests,
    seconds,
    rps: number(/Requests\/sec:\s+([\d.]+)/),
    p50Ms: latencyMs(/^\s+50%\s+(\S+)/m.exec(text)?.[1]),
    p99Ms: latencyMs(/^\s+99%\s+(\S+)/m.exec(text)?.[1]),
    errors,
  };
}

/** Runs wrk with one thread against `url` for `durationSeconds`; the process is killed if it overruns by 15 s. */
export async function runWrk({ url, body, headers, durationSeconds, connections, folder }) {
  const script = path.join(folder, 'post.lua');
  const lines = ['wrk.method = "POST"', `wrk.body = ${JSON.stringify(body)}`];
  for (const [name, value] of Object.entries(headers)) lines.push(`wrk.headers[${JSON.stringify(name)}] = ${JSON.stringify(value)}`);
  writeFileSync(script, `${lines.join('\n')}\n`);

  const child = spawn('wrk', ['-t1', `-c${connections}`, `-d${durationSeconds}s`, '--latency', '-s', script, url], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (data) => (output += data));
  child.stderr.on('data', (data) => (output += data));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const code = await Promise.race([exited, delay((durationSeconds + 15) * 1000).then(() => 'overrun')]);
  if (code === 'overrun') {
    child.kill('SIGKILL');
    throw new Error(`wrk did not finish within ${durationSeconds + 15} s`);
  }
  if (code !== 0) throw new Error(`wrk exited with code ${code}:\n${output}`);
  const result = parseWrkReport(output);
  if (!Number.isFinite(result.rps)) throw new Error(`could not read wrk's report:\n${output}`);
  return result;
}

function percentile(sorted, share) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))];
}

/** Runs `connections` closed-loop senders in this process against `url` for `durationSeconds`. */
export async function runNodeClient({ url, body, headers, durationSeconds, connections }) {
  const target = new URL(url);
  const pool = new Pool(target.origin, { connections, pipelining: 1 });
  const latencies = [];
  let errors = 0;
  const started = performance.now();
  const deadline = started + durationSeconds * 1000;

  const sender = async () => {
    while (performance.now() < deadline) {
      const sent = performance.now();
      try {
        const response = await pool.request({ method: 'POST', path: target.pathname, headers, body, headersTimeout: 30_000, bodyTimeout: 30_000 });
        await response.body.dump();
        if (response.statusCode !== 200) errors += 1;
      } catch {
        errors += 1;
      }
      latencies.push(performance.now() - sent);
    }
  };
  await Promise.all(Array.from({ length: connections }, sender));
  const seconds = (performance.now() - started) / 1000;
  await pool.close();

  latencies.sort((a, b) => a - b);
  return { requests: latencies.length, seconds, rps: latencies.length / seconds, p50Ms: percentile(latencies, 0.5), p99Ms: percentile(latencies, 0.99), errors };
}
