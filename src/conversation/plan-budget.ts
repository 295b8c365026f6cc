type Message = Record<string, unknown> & { role: string };

const PINNED_ROLES = new Set(['system', 'developer']);

export interface BudgetInput {
  messages: Message[];
  /** Tokens of each message, in the same order. */
  tokens: number[];
  /** Tokens of the pack's system prompt. */
  packTokens: number;
  budgetTokens: number;
  lowWaterRatio: number;
  safetyMargin: number;
  /** Tokens kept free for a message the proxy adds, such as a recap. */
  reservedTokens?: number;
}

export interface BudgetPlan {
  /** System messages at the start of the conversation; they always stay. */
  pinned: Message[];
  /** Messages of the dropped turns, oldest first (empty when nothing is dropped). */
  dropped: Message[];
  /** Messages that stay after the pinned ones. */
  kept: Message[];
  droppedTurns: number;
  /**
   * The cut before the last one, in turns (0 when there was none). The turns
   * between it and `droppedTurns` are the ones dropped since that earlier cut.
   */
  previousDroppedTurns: number;
  /** Messages dropped by the earlier cut, oldest first. */
  previouslyDropped: Message[];
  /** Estimated tokens of pack, pinned and kept messages, margin included. */
  keptTokens: number;
}

/**
 * Splits the conversation after its leading system messages into turns: a
 * turn starts at a user message and contains everything up to the next one, so
 * an assistant's tool calls always stay with their results.
 */
export function splitTurns(messages: Message[], start: number): number[] {
  const starts: number[] = [];
  for (let index = start; index < messages.length; index++) {
    if (index === start || messages[index]?.role === 'user') starts.push(index);
  }
  return starts;
}

/**
 * Decides which old turns to drop so the pack plus the conversation fit the
 * budget. The cut is found by replaying the conversation's growth turn by
 * turn: whenever the kept part overflows the budget, it is cut down to the
 * low-water mark. Replaying makes the cut depend only on the conversation
 * itself, so the next requests of the same chat reuse the same cut (and its
 * recap, and the upstream's prompt cache) until the budget overflows again.
 * The newest turn always stays, even when it alone is over the budget.
 */
export function planBudget(input: BudgetInput): BudgetPlan {
  const { messages, tokens } = input;
  const factor = 1 + input.safetyMargin;
  let firstTurnMessage = 0;
  while (firstTurnMessage < messages.length && PINNED_ROLES.has(messages[firstTurnMessage]?.role ?? '')) firstTurnMessage++;

  const fixed = (input.packTokens + (input.reservedTokens ?? 0) + sum(tokens, 0, firstTurnMessage)) * factor;
  const budget = input.budgetTokens - fixed;
  const lowWater = input.budgetTokens * input.lowWaterRatio - fixed;
  const turnStarts = splitTurns(messages, firstTurnMessage);
  const turnTokens = turnStarts.map((start, turn) => sum(tokens, start, turnStarts[turn + 1] ?? messages.length) * factor);

  let cut = 0;
  let previousCut = 0;
  let keptTokens = 0;
  for (let end = 0; end < turnTokens.length; end++) {
    const newest = turnTokens[end] ?? 0;
    keptTokens += newest;
    if (keptTokens <= budget) continue;

    const cutBefore = cut;
    // The low-water mark leaves the newest turn out: it is still growing (its
    // answer is not written yet), so measuring it would move the cut again on
    // the next request of the same chat.
    while (cut < end && keptTokens - newest > lowWater) {
      keptTokens -= turnTokens[cut] ?? 0;
      cut++;
    }
    while (cut < end && keptTokens > budget) {
      keptTokens -= turnTokens[cut] ?? 0;
      cut++;
    }
    if (cut !== cutBefore) previousCut = cutBefore;
  }

  const keptStart = turnStarts[cut] ?? messages.length;
  const previousStart = turnStarts[previousCut] ?? messages.length;
  return {
    pinned: messages.slice(0, firstTurnMessage),
    dropped: messages.slice(firstTurnMessage, keptStart),
    kept: messages.slice(keptStart),
    droppedTurns: cut,
    previousDroppedTurns: previousCut,
    previouslyDropped: messages.slice(firstTurnMessage, previousStart),
    keptTokens: fixed + keptTokens,
  };
}

function sum(values: number[], start: number, end: number): number {
  let total = 0;
  for (let index = start; index < end; index++) total += values[index] ?? 0;
  return total;
}
