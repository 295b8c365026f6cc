/**
 * Checks for what individual cases state only in their `notes`, keyed by case id.
 */
import { expect } from 'vitest';
import type { CaseRun } from './run-case.js';

type NoteCheck = (run: CaseRun) => Promise<void> | void;

/**
 * Max milliseconds from the upstream's clean end to the client's end. The case asks only for
 * "promptly", so this bound is a choice, not a measured limit.
 */
const PROMPT_END_MS = 1_000;

/** Returns the first chunk that carries choice 0. */
function firstChoiceZeroChunk(run: CaseRun): any {
  return run.view.chunks.find(({ json }) =>
    Array.isArray(json.choices) && json.choices.some((choice: any) => (choice.index ?? 0) === 0),
  )?.json;
}

function checkFirstChunkRole(run: CaseRun): void {
  const chunk = firstChoiceZeroChunk(run);
  expect(chunk, 'a chunk that carries choice 0').toBeDefined();
  const choice = (chunk?.choices as any[] | undefined)?.find((item) => (item.index ?? 0) === 0);
  expect(choice?.delta?.role, 'role on the first chunk of choice 0').toBe('assistant');
}

/** Returns the positions in arrival order of the chunks whose choice 0 delta has a non-empty string field. */
function chunkPositionsWith(run: CaseRun, field: 'content' | 'reasoning_content' | 'reasoning'): number[] {
  const positions: number[] = [];
  run.view.chunks.forEach(({ json }, position) => {
    const choices: any[] = Array.isArray(json.choices) ? json.choices : [];
    const text = choices.find((choice) => (choice.index ?? 0) === 0)?.delta?.[field];
    if (typeof text === 'string' && text !== '') positions.push(position);
  });
  return positions;
}

export const NOTE_CHECKS: Record<string, NoteCheck> = {
  'client-disconnect-aborts-upstream': async (run) => {
    const { proxy } = run.environment;
    const errorLines = proxy.logs.filter((line) => typeof line.level === 'number' && line.level >= 50);
    expect(errorLines, 'proxy log lines at error level or above').toEqual([]);
    const writeAfterEnd = proxy.rawLogs.filter((line) => /write after end|ERR_STREAM_WRITE_AFTER_END|ERR_STREAM_DESTROYED/i.test(line));
    expect(writeAfterEnd, 'proxy log lines about writing to a closed stream').toEqual([]);
    const health = await fetch(`${proxy.url}/healthz`, { signal: AbortSignal.timeout(2_000) });
    expect(health.status, 'the proxy still answers after the disconnect').toBe(200);
  },

  'error-data-mid-stream': (run) => {
    const errorPosition = run.view.chunks.findIndex(({ json }) => 'error' in json);
    const contentPositions = chunkPositionsWith(run, 'content');
    expect(errorPosition, 'position of the error event').toBeGreaterThanOrEqual(0);
    expect(contentPositions.length, 'chunks with content before the error').toBeGreaterThan(0);
    expect(errorPosition, 'the error event arrives after the text already sent').toBeGreaterThan(
      Math.max(...contentPositions),
    );
  },

  'missing-done-clean-close': (run) => {
    const finishedAt = run.environment.upstream.requests[0]?.finishedAt;
    expect(finishedAt, 'the upstream ended its body').toBeDefined();
    expect(run.response.endedBy, 'how the client stream ended').toBe('end');
    expect(run.response.endedAt - (finishedAt ?? 0), 'milliseconds from the upstream end to the client end').toBeLessThan(
      PROMPT_END_MS,
    );
  },

  'reasoning-content-then-content-separate': (run) => {
    const reasoningPositions = chunkPositionsWith(run, 'reasoning_content');
    const contentPositions = chunkPositionsWith(run, 'content');
    expect(reasoningPositions.length, 'chunks with reasoning_content').toBeGreaterThan(0);
    expect(contentPositions.length, 'chunks with content').toBeGreaterThan(0);
    expect(Math.max(...reasoningPositions), 'the last reasoning chunk comes before the first content chunk').toBeLessThan(
      Math.min(...contentPositions),
    );
    expect(chunkPositionsWith(run, 'reasoning'), 'chunks with a `reasoning` field in separate mode').toEqual([]);
  },

  'reasoning-content-then-content-strip': checkFirstChunkRole,

  'role-only-first-delta-null-content': checkFirstChunkRole,

  'sse-crlf-delimiters': (run) => {
    const thirdWriteAt = run.environment.upstream.requests[0]?.writeTimes[2];
    const greetingAt = run.view.contentReachedAt('你好');
    expect(thirdWriteAt, 'the upstream wrote its third chunk').toBeDefined();
    expect(greetingAt, "time '你好' reached the client").toBeDefined();
    expect(greetingAt ?? Infinity, "'你好' reaches the client before the upstream's third write").toBeLessThan(
      thirdWriteAt ?? -Infinity,
    );
  },

  'sse-openrouter-processing-comment': (run) => {
    const leaked = run.response.sse.events.filter((event) => event.data.includes('OPENROUTER PROCESSING'));
    expect(leaked, 'events whose data carries the upstream comment').toEqual([]);
  },

  'think-tags-split-across-deltas': (run) => {
    const fragments = ['<th', 'ink>', '</th', '>'];
    const leaked = run.view.contentDeltas.filter((delta) => fragments.some((fragment) => delta.includes(fragment)));
    expect(leaked, 'content deltas carrying a fragment of a thinking tag').toEqual([]);
  },

  'upstream-429-status-preserved': (run) => {
    expect(run.response.headers['retry-after'], 'retry-after header').toBe('1');
    expect(String(run.response.headers['content-type']), 'content-type of the error answer').not.toContain(
      'text/event-stream',
    );
    expect(run.json?.error?.message, 'error message in the JSON body').toContain('max RPM');
  },

  'usage-chunk-empty-choices': (run) => {
    const usageChunks = run.view.chunks.filter(
      ({ json }) => Array.isArray(json.choices) && json.choices.length === 0 && json.usage != null,
    );
    expect(usageChunks.length, 'chunks with empty choices and usage').toBe(1);
    expect(usageChunks[0]?.json.usage, 'usage of the empty-choices chunk').toEqual(run.environment.replayCase.expect.usage);
  },
};
