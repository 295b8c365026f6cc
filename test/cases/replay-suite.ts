/**
 * Registers one vitest test per replay case, shared by the fast and the slow suite.
 */
import { it } from 'vitest';
import type { ReplayCase } from './case-fixture.js';
import { NOTE_CHECKS } from './case-notes.js';
import {
  checkCommonRules,
  checkExpectations,
  checkWithSdk,
  isPlainSuccess,
  responseTimeoutMs,
  sendCaseRequest,
  startCaseEnvironment,
  type EnvironmentOptions,
} from './run-case.js';

/** Time for starting and stopping the servers, on top of the responses themselves. */
const SETUP_SLACK_MS = 10_000;

/** Replays one case over real sockets and checks its expectations, notes and, for plain successes, the SDK. */
export async function replayCase(replayCase: ReplayCase, options: EnvironmentOptions = {}): Promise<void> {
  const environment = await startCaseEnvironment(replayCase, options);
  try {
    const run = await sendCaseRequest(environment);
    await checkExpectations(run);
    checkCommonRules(run);
    await NOTE_CHECKS[replayCase.id]?.(run);
    if (isPlainSuccess(replayCase)) await checkWithSdk(environment);
  } finally {
    await environment.close();
  }
}

/** Registers one test per case, named after the case id. */
export function registerCases(cases: readonly ReplayCase[], options: EnvironmentOptions = {}): void {
  for (const replay of cases) {
    // The wire run and the SDK run each may take the full response time.
    const timeout = 2 * responseTimeoutMs(replay) + SETUP_SLACK_MS;
    it(replay.id, () => replayCase(replay, options), timeout);
  }
}
