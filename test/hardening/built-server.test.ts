/**
 * Runs the built server (`node main.js`) as a child process and drives it
 * with signals, as an operator would. The build goes into a private folder
 * under test-artifacts/, named by a hash of src/, so a parallel
 * `npm run build` in dist/ is not overwritten halfway and an unchanged src/
 * is not compiled again.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { completion, jsonAnswer, sleep, sseChunk, startUpstream, type TestUpstream, type UpstreamHandler } from '../helpers/upstream.js';
import { chatBody, freePort, rawPost, sseData, streamedContent, waitFor } from './support.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const BUILDS_DIR = path.join(REPO, 'test-artifacts', 'hardening-dist');
/** Builds of another src/ older than this are deleted; younger ones may be in use by a parallel run. */
const STALE_BUILD_MS = 60 * 60 * 1000;
let buildDir = '';

/** Hashes the names and contents of every file under src/ and the build config. */
function hashSources(): string {
  const hash = createHash('sha256');
  const files = readdirSync(path.join(REPO, 'src'), { recursive: true, encoding: 'utf8' })
    .map((name) => path.join('src', name))
    .filter((name) => statSync(path.join(REPO, name)).isFile())
    .sort();
  for (const name of [...files, 'tsconfig.json', 'tsconfig.build.json']) {
    hash.update(name).update('\0').update(readFileSync(path.join(REPO, name))).update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

beforeAll(() => {
  buildDir = path.join(BUILDS_DIR, hashSources());
  if (existsSync(path.join(buildDir, 'main.js'))) return;

  mkdirSync(BUILDS_DIR, { recursive: true });
  const partial = `${buildDir}.partial-${process.pid}`;
  const result = spawnSync(
    process.execPath,
    [path.join(REPO, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', partial],
    { cwd: REPO, encoding: 'utf8', timeout: 60_000 },
  );
  if (result.status !== 0) {
    rmSync(partial, { recursive: true, force: true });
    throw new Error(`tsc -p tsconfig.build.json failed (${result.status}):\n${result.stdout}${result.stderr}`);
  }
  try {
    renameSync(partial, buildDir);
  } catch {
    // A parallel run finished the same build first.
    rmSync(partial, { recursive: true, force: true });
  }
  for (const name of readdirSync(BUILDS_DIR)) {
    const folder = path.join(BUILDS_DIR, name);
    if (folder !== buildDir && Date.now() - statSync(folder).mtimeMs > STALE_BUILD_MS) rmSync(folder, { recursive: true, force: true });
  }
}, 70_000);

interface RunningServer {
  child: ChildProcess;
  url: string;
  folder: string;
  /** Parsed JSON log lines from stdout so far. */
  logs: Record<string, unknown>[];
  exited: Promise<number | null>;
}

let upstream: TestUpstream | undefined;
let server: RunningServer | undefined;

afterEach(async () => {
  if (server !== undefined && server.child.exitCode === null && server.child.signalCode === null) {
    server.child.kill('SIGKILL');
    await server.exited;
  }
  await upstream?.close();
  server = undefined;
  upstream = undefined;
});

function heroPack(preamble: string) {
  return { name: 'hero', title: '英雄', preamble, examples: [{ user: '问', thinking: '想', answer: '答' }] };
}

/** Writes config and pack into a temporary folder and starts the built server on a free port. */
async function startServer(handler: UpstreamHandler, serverConfig: Record<string, unknown> = {}): Promise<RunningServer> {
  upstream = await startUpstream(handler);
  const folder = mkdtempSync(path.join(tmpdir(), 'microtune-built-'));
  mkdirSync(path.join(folder, 'packs'));
  writeFileSync(path.join(folder, 'packs', 'hero.yaml'), toYaml(heroPack('版本一：你是守城的老兵。')));
  const configFile = path.join(folder, 'microtune.yaml');
  writeFileSync(
    configFile,
    toYaml({
      packsDir: 'packs',
      server: serverConfig,
      upstreams: { default: { baseUrl: upstream.baseUrl, retry: { maxRetries: 0 } } },
      aliases: { hero: { pack: 'hero', model: 'm' } },
    }),
  );

  const port = await freePort();
  const child = spawn(process.execPath, [path.join(buildDir, 'main.js')], {
    cwd: folder,
    env: { PATH: process.env.PATH, MICROTUNE_CONFIG: configFile, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ msg: line });
      }
    }
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

  server = { child, url: `http://127.0.0.1:${port}`, folder, logs, exited };
  const ready = await waitFor(() => logs.some((line) => line.msg === 'microtune ready') || child.exitCode !== null, 10_000);
  if (!ready || child.exitCode !== null) throw new Error(`the server did not start: ${stderr}`);
  return server;
}

function systemText(index: number): string {
  return String(upstream?.requests[index]?.json?.messages?.[0]?.content ?? '');
}

describe('built server', () => {
  it('reloads packs on SIGHUP', async () => {
    const { child, url, folder, logs } = await startServer(jsonAnswer(completion('好')));
    expect((await rawPost(`${url}/v1/chat/completions`, chatBody('hero'))).status).toBe(200);
    expect(systemText(0)).toContain('版本一');

    writeFileSync(path.join(folder, 'packs', 'hero.yaml'), toYaml(heroPack('版本二：你是新来的哨兵。')));
    child.kill('SIGHUP');
    const reloaded = await waitFor(() => logs.some((line) => line.msg === 'config and packs reloaded' && line.reason === 'SIGHUP'), 3000);
    expect(reloaded, 'SIGHUP reload logged').toBe(true);
    expect((await rawPost(`${url}/v1/chat/completions`, chatBody('hero'))).status).toBe(200);
    expect(systemText(1)).toContain('版本二');

    writeFileSync(path.join(folder, 'packs', 'hero.yaml'), 'name: hero\nexamples: [{user: "", thinking: x, answer: y}]\n');
    child.kill('SIGHUP');
    const rejected = await waitFor(() => logs.some((line) => line.msg === 'pack change rejected; the last good version keeps serving'), 3000);
    expect(rejected, 'rejection logged').toBe(true);
    expect((await rawPost(`${url}/v1/chat/completions`, chatBody('hero'))).status).toBe(200);
    expect(systemText(2)).toContain('版本二');
    expect(child.exitCode).toBeNull();
  });

  /** Streams `count` content chunks `gapMs` apart. */
  function slowStream(count: number, gapMs: number): UpstreamHandler {
    return async (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write(sseChunk({ role: 'assistant', content: '' }));
      for (let index = 0; index < count && !response.destroyed; index += 1) {
        response.write(sseChunk({ content: `${index},` }));
        await sleep(gapMs);
      }
      if (response.destroyed) return;
      response.write(sseChunk({}, { finishReason: 'stop' }));
      response.end('data: [DONE]\n\n');
    };
  }

  async function startStream(url: string) {
    let firstContent = false;
    const response = rawPost(`${url}/v1/chat/completions`, chatBody('hero', '你好', { stream: true }), {
      timeoutMs: 15_000,
      abortWhen: (text) => {
        firstContent ||= text.includes('"0,"');
        return false;
      },
    });
    expect(await waitFor(() => firstContent, 3000), 'first chunk arrived').toBe(true);
    return { response };
  }

  it('finishes a stream and exits 0 on SIGTERM', async () => {
    const { child, url, logs, exited } = await startServer(slowStream(10, 100), { shutdownGraceMs: 5000 });
    const { response } = await startStream(url);
    child.kill('SIGTERM');
    await sleep(100);
    await expect(rawPost(`${url}/healthz`, '', { method: 'GET', timeoutMs: 2000 })).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    const result = await response;
    expect(result.status).toBe(200);
    expect(result.endedBy).toBe('end');
    expect(streamedContent(result.text)).toBe('0,1,2,3,4,5,6,7,8,9,');
    expect(sseData(result.text).at(-1)).toBe('[DONE]');

    const code = await Promise.race([exited, sleep(5000).then(() => 'still running')]);
    expect(code).toBe(0);
    expect(logs.some((line) => line.msg === 'stopped')).toBe(true);
  });

  it('exits 0 after the grace with a long stream', async () => {
    const { child, url, exited } = await startServer(slowStream(100, 100), { shutdownGraceMs: 300 });
    const { response } = await startStream(url);
    const signalledAt = performance.now();
    child.kill('SIGTERM');
    const code = await Promise.race([exited, sleep(5000).then(() => 'still running')]);
    expect(code).toBe(0);
    expect(performance.now() - signalledAt).toBeLessThan(2000);
    const result = await response;
    expect(result.elapsedMs).toBeLessThan(5000);
    expect(sseData(result.text)).not.toContain('[DONE]');
  });
});
