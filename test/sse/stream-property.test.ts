import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import type { ThinkingMode } from '../../src/thinking/filter.js';
import { chunkJson, deltaJson, readClientStream, runTransform, splitAt, usageJson, utf8 } from './client-stream.js';

/** Pieces that exercise the thinking markers, line breaks and multi-byte characters. */
const textPiece = fc.oneof(
  fc.constantFrom('<think>', '</think>', '<thinking>', '</thinking>', '```thinking\n', '\n```\n', ' ', '\n', '\r\n'),
  fc.constantFrom('漢字', '😀', '𝄞', 'é', 'Ответ'),
  fc.string({ unit: 'binary', maxLength: 6 }),
);

const lineBreak = fc.constantFrom('\n', '\r\n', '\r');

interface GeneratedDelta {
  field: 'content' | 'reasoning_content' | 'reasoning';
  text: string;
}

const generatedDelta: fc.Arbitrary<GeneratedDelta> = fc.record({
  field: fc.constantFrom<GeneratedDelta['field']>('content', 'content', 'content', 'reasoning_content', 'reasoning'),
  text: fc.array(textPiece, { maxLength: 4 }).map((pieces) => pieces.join('')),
});

/** Builds an upstream stream from the deltas, with a comment and optional ending events. */
function buildStream(deltas: GeneratedDelta[], breaks: string[], finished: boolean, withDone: boolean): string {
  const events = [deltaJson({ role: 'assistant', content: '' }), ...deltas.map((delta) => deltaJson({ [delta.field]: delta.text }))];
  if (finished) {
    events.push(deltaJson({}, 'stop'), usageJson());
  }
  if (withDone) {
    events.push('[DONE]');
  }

  let text = '';
  events.forEach((data, position) => {
    const lineEnd = breaks[position % breaks.length] ?? '\n';
    text += `data: ${data}${lineEnd}${lineEnd}`;
    if (position === 1) {
      text += `: keep-alive${lineEnd}${lineEnd}`;
    }
  });
  return text;
}

const MODES: ThinkingMode[] = ['keep', 'strip', 'separate'];

describe('ChatStreamTransform byte splits (property)', () => {
  it.each(MODES)('gives the same view for any split in %s mode', (mode) => {
    fc.assert(
      fc.property(
        fc.array(generatedDelta, { maxLength: 8 }),
        fc.array(lineBreak, { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 12 }),
        (deltas, breaks, finished, withDone, rawCuts) => {
          const bytes = utf8.encode(buildStream(deltas, breaks, finished, withDone));
          const cuts = rawCuts.map((cut) => cut % (bytes.length + 1));
          const whole = readClientStream(runTransform([bytes], { mode, responseModel: 'alias' }));
          const split = readClientStream(runTransform(splitAt(bytes, cuts), { mode, responseModel: 'alias' }));

          expect(split).toEqual(whole);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('splits of two interleaved choices match the unsplit run', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(0, 1), generatedDelta), { maxLength: 10 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (steps, rawCuts) => {
          const events = steps.map(([index, delta]) =>
            chunkJson([{ index, delta: { [delta.field]: delta.text }, finish_reason: null }]),
          );
          events.push(
            chunkJson([
              { index: 0, delta: {}, finish_reason: 'stop' },
              { index: 1, delta: {}, finish_reason: 'length' },
            ]),
          );
          const bytes = utf8.encode(events.map((data) => `data: ${data}\r\n\r\n`).join(''));
          const cuts = rawCuts.map((cut) => cut % (bytes.length + 1));
          const whole = readClientStream(runTransform([bytes], { mode: 'separate' }));
          const split = readClientStream(runTransform(splitAt(bytes, cuts), { mode: 'separate' }));

          expect(split).toEqual(whole);
          expect(whole.finishReasons).toEqual({ 0: 'stop', 1: 'length' });
          expect(whole.doneCount).toBe(1);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('content matches the upstream text in keep mode', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary', maxLength: 8 }), { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 8 }), (pieces, rawCuts) => {
        const events = pieces.map((text) => deltaJson({ content: text }));
        events.push(deltaJson({}, 'stop'));
        const bytes = utf8.encode(events.map((data) => `data: ${data}\n\n`).join(''));
        const cuts = rawCuts.map((cut) => cut % (bytes.length + 1));
        const view = readClientStream(runTransform(splitAt(bytes, cuts), { mode: 'keep' }));

        expect(view.content[0] ?? '').toBe(pieces.join(''));
      }),
      { numRuns: 200 },
    );
  });
});
