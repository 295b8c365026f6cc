// Runs the built proxy (`node dist/main.js`) as a child process for
// bench/fault-load.mjs: starts it, restarts it if it exits on its own (and
// counts that), reads its RSS and stops it with SIGTERM.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/** Returns a port on 127.0.0.1 that had nothing listening on it a moment ago. */
export async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(() => resolve()));
  return port;
}

/** Resident set size of a process in bytes, from VmRSS in /proc/PID/status; undefined once it is gone. */
export function readRss(pid) {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}

/**
 * Starts `node [nodeArgs] <mainFile>` on 127.0.0.1:<port> and resolves once it logged
 * "microtune ready". Counts log lines by pino level and keeps the last
 * stderr text for the report.
 */
export async function startServer({ mainFile, configFile, port, nodeArgs = [], maxRestarts = 3, readyTimeoutMs = 15_000 }) {
  const state = {
    child: undefined,
    restarts: 0,
    exits: [],
    stopping: false,
    linesByLevel: {},
    lastStderr: '',
  };

  const spawnOnce = async () => {
    const child = spawn(process.execPath, [...nodeArgs, mainFile], {
      env: { PATH: process.env.PATH, MICROTUNE_CONFIG: configFile, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    state.child = child;
    let ready = false;
    let partial = '';
    child.stdout.on('data', (data) => {
      const lines = (partial + data.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const level = /"level":(\d+)/.exec(line)?.[1] ?? 'other';
        state.linesByLevel[level] = (state.linesByLevel[level] ?? 0) + 1;
        if (line.includes('"msg":"microtune ready"')) ready = true;
      }
    });
    child.stderr.on('data', (data) => {
      state.lastStderr = (state.lastStderr + data.toString('utf8')).slice(-4000);
    });
    child.on('exit', (code, signal) => {
      state.exits.push({ code, signal, atMs: Math.round(performance.now()) });
      if (!state.stopping && state.restarts < maxRestarts) {
        state.restarts += 1;
        spawnOnce().catch(() => undefined);
      }
    });

    const deadline = performance.now() + readyTimeoutMs;
    while (!ready && child.exitCode === null && performance.now() < deadline) await sleep(20);
    if (!ready) throw new Error(`the proxy did not start within ${readyTimeoutMs} ms: ${state.lastStderr}`);
  };

  await spawnOnce();

  return {
    state,
    pid: () => state.child?.pid,
    /** Sends SIGTERM and resolves to the exit code, or kills the process after `timeoutMs`. */
    stop: async (timeoutMs = 10_000) => {
      state.stopping = true;
      const child = state.child;
      if (child === undefined || child.exitCode !== null || child.signalCode !== null) return { code: child?.exitCode ?? null, killed: false };
      const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      const code = await Promise.race([exited, sleep(timeoutMs).then(() => 'timeout')]);
      if (code === 'timeout') {
        child.kill('SIGKILL');
        await exited;
        return { code: null, killed: true };
      }
      return { code, killed: false };
    },
  };
}
