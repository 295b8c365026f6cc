/**
 * Replays the upstream cases marked `"slow": true`, which take minutes, in
 * their own file so that their run time shows up separately.
 */
import { describe, it } from 'vitest';
import { loadCases } from './case-fixture.js';
import { registerCases } from './replay-suite.js';

const slowCases = loadCases().filter((replay) => replay.slow === true);

describe('slow shared upstream cases', () => {
  if (slowCases.length === 0) it.todo('no case in test/fixtures/cases is marked slow');
  registerCases(slowCases);
});
