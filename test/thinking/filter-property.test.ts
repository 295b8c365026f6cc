import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { filterCompleteText, type ThinkingFilterOptions } from '../../src/thinking/filter.js';
import {
  hasLoneSurrogate,
  referenceFilter,
  runSteps,
  splitAt,
  type CompleteChoice,
  type PushStep,
  type StreamResult,
} from './helpers.js';

const NUM_RUNS = 300;

// The longest opener is "```thinking\r\n", so a partial marker has at most 12 code units.
const MAX_PARTIAL_MARKER_LENGTH = '```thinking\r\n'.length - 1;

const PROSE_ATOMS = ['Hello', ' world', '你好', '，世界', '😀', '👍🏽', '🤔', 'x', '.', ' ', '\n', '\t'];
// Fragments that look like markers, so generated text puts them in odd places.
const MARKUP_ATOMS = [
  '<',
  '>',
  '/',
  '`',
  '```',
  '```python\n',
  '\r\n',
  '\r',
  'think',
  '<think>',
  '</think>',
  '<thinking>',
  '</thinking>',
  '```thinking\n',
  '```thinking\r\n',
  '\n```\n',
  '\n```  ',
  '\n``` x',
];

const whitespace = fc
  .array(fc.constantFrom(' ', '\t', '\r', '\n'), { maxLength: 3 })
  .map((parts) => parts.join(''));
const prose = fc.array(fc.constantFrom(...PROSE_ATOMS), { maxLength: 8 }).map((parts) => parts.join(''));
const mixedText = fc
  .array(fc.constantFrom(...PROSE_ATOMS, ...MARKUP_ATOMS), { maxLength: 12 })
  .map((parts) => parts.join(''));

const BLOCK_FORMS: readonly (readonly [string, string])[] = [
  ['<think>', '</think>'],
  ['<thinking>', '</thinking>'],
  ['```thinking\n', '\n```\n'],
  ['```thinking\r\n', '\r\n```  \r\n'],
  ['```thinking\n', '\n```'],
  // An implicit block: only the closer is written.
  ['', '</think>'],
];

const blockAnswer = fc
  .record({
    lead: whitespace,
    form: fc.constantFrom(...BLOCK_FORMS),
    inner: fc.oneof(prose, mixedText),
    closed: fc.boolean(),
    gap: whitespace,
    answer: fc.oneof(prose, mixedText),
  })
  .map(({ lead, form, inner, closed, gap, answer }) => {
    const [opener, closer] = form;
    return closed ? lead + opener + inner + closer + gap + answer : lead + opener + inner;
  });

const choiceArbitrary: fc.Arbitrary<CompleteChoice> = fc.record({
  content: fc.option(fc.oneof(blockAnswer, mixedText, prose), { nil: null, freq: 8 }),
  reasoning: fc.option(fc.oneof(prose, mixedText), { nil: null, freq: 2 }),
  finishReason: fc.constantFrom('stop', 'length', null),
});

const optionsArbitrary: fc.Arbitrary<ThinkingFilterOptions> = fc.record({
  mode: fc.constantFrom('keep', 'strip', 'separate'),
  implicitThinkOpen: fc.boolean(),
  emptyAnswerFallback: fc.boolean(),
});

const cutsArbitrary = fc.array(fc.nat({ max: 200 }), { maxLength: 6 });

interface ChunkPlan {
  contentCuts: number[];
  reasoningCuts: number[];
  // true takes the next reasoning chunk, false the next content chunk, while both remain.
  order: boolean[];
  interleave: boolean;
}

const planArbitrary: fc.Arbitrary<ChunkPlan> = fc.record({
  contentCuts: cutsArbitrary,
  reasoningCuts: cutsArbitrary,
  order: fc.array(fc.boolean(), { maxLength: 14 }),
  interleave: fc.boolean(),
});

function scaleCuts(cuts: readonly number[], length: number): number[] {
  return cuts.map((cut) => cut % (length + 1));
}

/** Cuts at code-point boundaries only, by moving a cut inside a pair one unit back. */
function alignCutsToCodePoints(text: string, cuts: readonly number[]): number[] {
  return cuts.map((cut) => {
    const before = text.charCodeAt(cut - 1);
    return before >= 0xd800 && before <= 0xdbff ? cut - 1 : cut;
  });
}

function buildSteps(choice: CompleteChoice, plan: ChunkPlan, codePointsOnly: boolean): PushStep[] {
  const chunksOf = (text: string | null, rawCuts: readonly number[]): string[] => {
    if (text === null) {
      return [];
    }
    const cuts = scaleCuts(rawCuts, text.length);
    return splitAt(text, codePointsOnly ? alignCutsToCodePoints(text, cuts) : cuts);
  };
  const reasoning = chunksOf(choice.reasoning, plan.reasoningCuts).map((text): PushStep => ({ field: 'reasoning', text }));
  const content = chunksOf(choice.content, plan.contentCuts).map((text): PushStep => ({ field: 'content', text }));
  if (!plan.interleave) {
    return [...reasoning, ...content];
  }

  const steps: PushStep[] = [];
  for (const takeReasoning of plan.order) {
    const source = takeReasoning ? reasoning : content;
    const next = source.shift();
    if (next !== undefined) {
      steps.push(next);
    }
  }
  return [...steps, ...reasoning, ...content];
}

const LEADING_WHITESPACE = /^[ \t\r\n]*/;

function startsWithExplicitOpener(content: string): boolean {
  const rest = content.replace(LEADING_WHITESPACE, '');
  return rest.startsWith('<think>') || rest.startsWith('<thinking>') || /^```thinking\r?\n/.test(rest);
}

/** True while implicitThinkOpen lets the filter hold all content, because no tag has arrived. */
function isImplicitUndecided(contentPushed: string, options: ThinkingFilterOptions): boolean {
  return (
    (options.implicitThinkOpen ?? false) &&
    !/<\/?think>/.test(contentPushed) &&
    !startsWithExplicitOpener(contentPushed)
  );
}

function nonWhitespaceLength(text: string): number {
  return text.replace(/[ \t\r\n]/g, '').length;
}

function expectHeldTextBounded(result: StreamResult, choice: CompleteChoice, options: ThinkingFilterOptions): void {
  const contentUnchanged =
    options.mode === 'keep' ||
    referenceFilter({ ...choice, reasoning: null }, { ...options, mode: 'separate' }).content === choice.content;

  for (const record of result.records) {
    if (record.step.field !== 'content') {
      continue;
    }
    const { contentPushed, heldContentLength } = record;
    const heldText = contentPushed.slice(contentPushed.length - heldContentLength);
    if (options.mode === 'keep') {
      expect(heldContentLength).toBe(0);
      continue;
    }
    if (!isImplicitUndecided(contentPushed, options)) {
      // Whitespace is held only at the start, inside a block or in a fence closer line.
      expect(nonWhitespaceLength(heldText)).toBeLessThanOrEqual(MAX_PARTIAL_MARKER_LENGTH);
    }
    if (contentUnchanged) {
      expect(record.contentReleased).toBe(contentPushed.slice(0, contentPushed.length - heldContentLength));
    }
  }
}

describe('filterCompleteText property', () => {
  it('matches the whole-text reference', () => {
    fc.assert(
      fc.property(choiceArbitrary, optionsArbitrary, (choice, options) => {
        expect(filterCompleteText(choice, options)).toEqual(referenceFilter(choice, options));
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

describe('streaming property', () => {
  it('matches filterCompleteText for any split', () => {
    fc.assert(
      fc.property(choiceArbitrary, optionsArbitrary, planArbitrary, (choice, options, plan) => {
        const expected = filterCompleteText(choice, options);
        const result = runSteps(buildSteps(choice, plan, false), options, choice.finishReason);

        expect(result.content).toBe(expected.content);
        expect(result.fallbackUsed).toBe(expected.fallbackUsed);
        // Interleaving changes the order of field and inline reasoning in separate mode.
        if (!plan.interleave || options.mode !== 'separate') {
          expect(result.reasoning).toBe(expected.reasoning);
        }
        expectHeldTextBounded(result, choice, options);
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('returns input unchanged when passthrough', () => {
    fc.assert(
      fc.property(choiceArbitrary, optionsArbitrary, planArbitrary, (choice, options, plan) => {
        const result = runSteps(buildSteps(choice, plan, false), options, choice.finishReason);
        for (const record of result.records) {
          if (record.step.field === 'content' && record.passthroughBefore) {
            expect(record.output).toEqual({ content: record.step.text, reasoning: '' });
          }
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('releases whole pairs for code-point splits', () => {
    fc.assert(
      fc.property(choiceArbitrary, optionsArbitrary, planArbitrary, (choice, options, plan) => {
        const result = runSteps(buildSteps(choice, plan, true), options, choice.finishReason);
        for (const { output } of [...result.records, { output: result.finishOutput }]) {
          expect(hasLoneSurrogate(output.content), JSON.stringify(output)).toBe(false);
          expect(hasLoneSurrogate(output.reasoning), JSON.stringify(output)).toBe(false);
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('rejoins split pairs before passthrough', () => {
    fc.assert(
      fc.property(choiceArbitrary, optionsArbitrary, planArbitrary, (choice, options, plan) => {
        const result = runSteps(buildSteps(choice, plan, false), options, choice.finishReason);
        const filtered = result.records.filter(
          (record) => record.step.field === 'content' && !record.passthroughBefore,
        );
        for (const { output } of [...filtered, { output: result.finishOutput }]) {
          expect(hasLoneSurrogate(output.content), JSON.stringify(output)).toBe(false);
          expect(hasLoneSurrogate(output.reasoning), JSON.stringify(output)).toBe(false);
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
