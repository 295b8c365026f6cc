// Child processes of the replica benchmark: free ports, start with a bounded
// wait for readiness, and stop with a bounded wait before SIGKILL.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { request } from 'undici';

/** Returns a port that was free on 127.0.0.1 a moment ago. */
export async function freePort() {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Returns a readiness check: GET `url` returns 200 within one second. */
export function httpReady(url) {
  return () => isUp(url);
}

/** Returns a readiness check: a Redis server on 127.0.0.1:`port` replies +PONG to PING within 500 ms. */
export function redisReady(port) {
  return () =>
    new Promise((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port });
      let reply = '';
      const finish = (result) => {
        socket.destroy();
        resolve(result);
      };
      socket.setTimeout(500, () => finish(false));
      socket.on('error', () => finish(false));
      socket.on('connect', () => socket.write('PING\r\n'));
      socket.on('data', (data) => {
        reply += data.toString('utf8');
        if (reply.includes('\r\n')) finish(reply.startsWith('+PONG'));
      });
    });
}

async function isUp(url) {
  try {
    const response = await request(url, { headersTimeout: 1_000, bodyTimeout: 1_000 });
    await response.body.dump();
    return response.statusCode === 200;
  } catch {
    return false;
  }
}

/**
 * Starts `command` with its output in `logFile`, then polls `isReady` until it
 * returns true. Fails after `timeoutMs`, or at once when the process exits.
 */
export async function startProcess({ name, command, args, env, logFile, isReady, timeoutMs = 15_000 }) {
  const log = openSync(logFile, 'a');
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', log, log] });
  closeSync(log);
  const failed = new Promise((resolve) => {
    child.once('error', (error) => resolve(`${name} failed to start: ${error.message}`));
    child.once('exit', (code, signal) => resolve(`${name} exited early (code ${code}, signal ${signal}); see ${logFile}`));
  });

  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const problem = await Promise.race([failed, delay(100).then(() => undefined)]);
    if (problem !== undefined) throw new Error(problem);
    if (await isReady()) return { name, child };
  }
  child.kill('SIGKILL');
  throw new Error(`${name} was not ready within ${timeoutMs} ms; see ${logFile}`);
}

/** Sends `signal`, waits up to `timeoutMs` for the exit, then sends SIGKILL. */
export async function stopProcess(started, signal = 'SIGTERM', timeoutMs = 15_000) {
  const { child } = started;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  const finished = await Promise.race([exited.then(() => true), delay(timeoutMs).then(() => false)]);
  if (!finished) {
    child.kill('SIGKILL');
    await exited;
  }
}
