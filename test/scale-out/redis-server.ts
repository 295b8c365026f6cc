/**
 * A real redis-server (the Debian package) for the scale-out tests, on
 * 127.0.0.1 with a free port, without persistence, so it can be stopped and
 * started again on the same port to simulate an outage.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createConnection, createServer } from 'node:net';
import { once } from 'node:events';

const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

export interface RedisServer {
  port: number;
  url: string;
  /** Whether the server process is running. */
  readonly running: boolean;
  /** Starts the server again on the same port after stop(). */
  start: () => Promise<void>;
  /** Stops the server with `SHUTDOWN NOSAVE`, killing it if that does not end it in time. */
  stop: () => Promise<void>;
  /** Suspends (SIGSTOP) or resumes (SIGCONT) the process, so it keeps connections open but replies to nothing. */
  freeze: () => void;
  thaw: () => void;
  /** Everything the server printed so far. */
  output: () => string;
}

/** Returns a port that was free on 127.0.0.1 a moment ago. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('could not read the port of a probe server');
  return address.port;
}

/** Sends PING over a plain socket; resolves true on +PONG, false on any error or after 500 ms. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    const finish = (result: boolean) => {
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

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Starts redis-server on 127.0.0.1 with a free port and waits until it replies to PING. */
export async function startRedisServer(): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  let output = '';

  const start = async () => {
    if (child !== undefined) throw new Error(`redis-server on port ${port} is already running`);
    const redisProcess = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--logfile', ''],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    redisProcess.stdout?.on('data', (data: Buffer) => (output += data.toString('utf8')));
    redisProcess.stderr?.on('data', (data: Buffer) => (output += data.toString('utf8')));
    const spawnFailure = new Promise<Error>((resolve) => redisProcess.once('error', resolve));
    redisProcess.once('exit', () => {
      if (child === redisProcess) child = undefined;
    });
    child = redisProcess;

    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const failure = await Promise.race([spawnFailure, new Promise<undefined>((resolve) => setTimeout(resolve, 50, undefined))]);
      if (failure !== undefined) {
        child = undefined;
        const missing = (failure as NodeJS.ErrnoException).code === 'ENOENT';
        throw new Error(
          missing
            ? 'redis-server was not found on PATH; install it with `apt-get install -y redis-server`'
            : `redis-server failed to start: ${failure.message}`,
        );
      }
      if (redisProcess.exitCode !== null) throw new Error(`redis-server exited with code ${redisProcess.exitCode}:\n${output}`);
      if (await ping(port)) return;
    }
    redisProcess.kill('SIGKILL');
    child = undefined;
    throw new Error(`redis-server did not answer PING on 127.0.0.1:${port} within ${START_TIMEOUT_MS} ms:\n${output}`);
  };

  const stop = async () => {
    const redisProcess = child;
    if (redisProcess === undefined) return;
    redisProcess.kill('SIGCONT');
    await new Promise<void>((resolve) => {
      execFile('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'shutdown', 'nosave'], { timeout: STOP_TIMEOUT_MS }, () => resolve());
    });
    if (!(await waitForExit(redisProcess, STOP_TIMEOUT_MS))) {
      redisProcess.kill('SIGKILL');
      await waitForExit(redisProcess, STOP_TIMEOUT_MS);
    }
    child = undefined;
  };

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get running() {
      return child !== undefined;
    },
    start,
    stop,
    freeze: () => child?.kill('SIGSTOP'),
    thaw: () => child?.kill('SIGCONT'),
    output: () => output,
  };
}
