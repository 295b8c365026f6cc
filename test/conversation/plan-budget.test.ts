import { describe, expect, it } from 'vitest';
import { planBudget, type BudgetInput } from '../../src/conversation/plan-budget.js';
import { countTurns, seededRandom, splitToolPairs, type ChatMessage } from './support.js';

/** A message together with the token count the test assigns to it. */
type Sized = [ChatMessage, number];

const user = (content: string, tokens: number): Sized => [{ role: 'user', content }, tokens];
const assistant = (content: string, tokens: number): Sized => [{ role: 'assistant', content }, tokens];
const system = (content: string, tokens: number): Sized => [{ role: 'system', content }, tokens];

/** Builds complete turns of `tokens` tokens each: a user message of 40% and a reply of 60%. */
function turns(count: number, tokens: number, prefix = '第'): Sized[] {
  const sized: Sized[] = [];
  for (let index = 0; index < count; index++) {
    sized.push(user(`${prefix}${index}轮：掌柜的，今晚有什么新鲜事？`, tokens * 0.4));
    sized.push(assistant(`${prefix}${index}轮：听说渡口来了个外乡人。`, tokens * 0.6));
  }
  return sized;
}

function plan(sized: Sized[], options: Partial<Omit<BudgetInput, 'messages' | 'tokens'>> = {}) {
  return planBudget({
    messages: sized.map(([message]) => message),
    tokens: sized.map(([, tokens]) => tokens),
    packTokens: 0,
    budgetTokens: 1000,
    lowWaterRatio: 0.7,
    safetyMargin: 0,
    ...options,
  });
}

function toolCall(id: string, city: string) {
  return { id, type: 'function', function: { name: 'get_weather', arguments: JSON.stringify({ city }) } };
}

/** Builds a turn in which the assistant calls two tools, gets both results and then replies. */
function toolTurn(index: number, tokens: number): Sized[] {
  const first = `call_${index}_a`;
  const second = `call_${index}_b`;
  return [
    user(`第${index}轮：明天去杭州还是苏州？`, tokens),
    [{ role: 'assistant', content: null, tool_calls: [toolCall(first, '杭州'), toolCall(second, '苏州')] }, tokens],
    [{ role: 'tool', tool_call_id: first, content: '杭州：小雨，十八度' }, tokens],
    [{ role: 'tool', tool_call_id: second, content: '苏州：多云，二十度' }, tokens],
    assistant(`第${index}轮：苏州多云，更适合出门。`, tokens),
  ];
}

describe('planBudget', () => {
  it('drops nothing under the budget', () => {
    const result = plan(turns(5, 100), { packTokens: 100, safetyMargin: 0.1 });

    expect(result.droppedTurns).toBe(0);
    expect(result.dropped).toEqual([]);
    expect(result.kept).toHaveLength(10);
    expect(result.keptTokens).toBeCloseTo((100 + 500) * 1.1, 6);
  });

  it('drops nothing exactly at the budget', () => {
    const result = plan(turns(10, 100));

    expect(result.droppedTurns).toBe(0);
    expect(result.keptTokens).toBe(1000);
  });

  it('cuts to low water, not just under the budget', () => {
    // Ten turns of 100 tokens fill the budget of 1,000; the new user message overflows it.
    const result = plan([...turns(10, 100), user('新的一轮', 40)]);

    // Just under the budget would drop one turn (940 tokens). Low water is 700 and
    // leaves the still-growing newest turn out: dropping three turns leaves 700 of
    // older turns, plus the new message's 40.
    expect(result.droppedTurns).toBe(3);
    expect(result.keptTokens).toBe(740);
    expect(result.dropped).toHaveLength(6);
    expect(result.kept[0]).toMatchObject({ role: 'user', content: expect.stringContaining('第3轮') });
  });

  it('counts pack and margin in the low-water cut', () => {
    // Pack 100 and margin 10%: fixed 110, each turn 110, the new message 44.
    // Eight turns (880) fit the 890 left; 924 overflows; low water leaves 590 for
    // the older turns, so three go and five (550) stay beside the new message.
    const result = plan([...turns(8, 100), user('新的一轮', 40)], { packTokens: 100, safetyMargin: 0.1 });

    expect(result.droppedTurns).toBe(3);
    expect(result.keptTokens).toBeCloseTo(110 + 5 * 110 + 44, 6);
    expect(result.keptTokens).toBeLessThanOrEqual(1000);
  });

  it('keeps the newest turn alone over the budget', () => {
    const result = plan([...turns(3, 100), user('一段很长很长的设定……', 5000)]);

    expect(result.droppedTurns).toBe(3);
    expect(result.kept).toEqual([{ role: 'user', content: '一段很长很长的设定……' }]);
    expect(result.keptTokens).toBe(5000);
  });

  it('keeps a single oversized turn whole', () => {
    const result = plan(toolTurn(1, 800));

    expect(result.droppedTurns).toBe(0);
    expect(result.kept).toHaveLength(5);
  });

  it('pins leading system and developer messages', () => {
    const leading = [system('客户端设定：故事发生在青石镇。', 100), [{ role: 'developer', content: '回答不超过三段。' }, 50] as Sized];
    const middle = system('旁白：夜深了。', 10);
    const body = [...turns(2, 100), middle, ...turns(8, 100, '后'), user('新的一轮', 40)];

    const withPinned = plan([...leading, ...body]);
    const withoutPinned = plan(body);

    expect(withPinned.pinned.map((message) => message.role)).toEqual(['system', 'developer']);
    expect(withPinned.dropped).not.toContainEqual(leading[0]![0]);
    expect(withPinned.kept).not.toContainEqual(leading[0]![0]);
    // The system message inside the second turn belongs to that turn and goes with it.
    expect(withPinned.dropped).toContainEqual(middle[0]);
    // Pinned tokens (150) take room from the turns, so more turns go: the
    // replay overflows at turn 8 instead of 9 and cuts three turns, not two.
    expect(withoutPinned.droppedTurns).toBe(2);
    expect(withPinned.droppedTurns).toBe(3);
    expect(withPinned.keptTokens).toBe(150 + 740);
  });

  it('never separates tool calls from their results', () => {
    const sized: Sized[] = [];
    for (let index = 0; index < 12; index++) {
      sized.push(...(index % 3 === 1 ? toolTurn(index, 30) : turns(1, 100, `第${index}`)));
    }
    sized.push(user('最后一个问题', 40));
    const messages = sized.map(([message]) => message);

    let plansWithDrops = 0;
    for (let budget = 100; budget <= 2000; budget += 25) {
      const result = plan(sized, { budgetTokens: budget });
      if (result.droppedTurns > 0) plansWithDrops++;

      expect([...result.pinned, ...result.dropped, ...result.kept], `budget ${budget}`).toEqual(messages);
      expect(result.kept[0]?.role, `budget ${budget}: first kept message`).toBe('user');
      expect(splitToolPairs(result.kept), `budget ${budget}`).toEqual([]);
      expect(countTurns(result.dropped), `budget ${budget}: dropped turns`).toBe(result.droppedTurns);
    }
    expect(plansWithDrops).toBeGreaterThan(40);
  });

  it('counts an opening assistant greeting as a turn', () => {
    const greeting = assistant('客官里边请！外头雨大，先喝碗姜茶。', 100);
    const result = plan([greeting, ...turns(10, 100), user('新的一轮', 40)]);

    expect(result.dropped[0]).toEqual(greeting[0]);
    expect(result.droppedTurns).toBe(countTurns(result.dropped));
  });

  it('keeps the cut while a chat grows under the budget', () => {
    // A realistic chat: the request at turn n contains turns 0..n-1 with their
    // replies and the new user message, whose reply arrives with request n+1.
    const random = seededRandom(7);
    const userTokens: number[] = [];
    const replyTokens: number[] = [];
    for (let turn = 0; turn < 80; turn++) {
      userTokens.push(20 + Math.floor(random() * 30));
      replyTokens.push(30 + Math.floor(random() * 50));
    }
    // Low water at half the budget leaves 500 tokens of room before the next
    // overflow: three or more turns of at most 141 tokens (margin included).
    const options = { packTokens: 50, budgetTokens: 1000, lowWaterRatio: 0.5, safetyMargin: 0.1 };
    const factor = 1 + options.safetyMargin;

    const cuts: number[] = [];
    for (let turn = 0; turn < 80; turn++) {
      const sized: Sized[] = [];
      for (let earlier = 0; earlier < turn; earlier++) {
        sized.push(user(`第${earlier}轮`, userTokens[earlier]!), assistant(`回${earlier}`, replyTokens[earlier]!));
      }
      sized.push(user(`第${turn}轮`, userTokens[turn]!));
      cuts.push(plan(sized, options).droppedTurns);
    }

    const moves: number[] = [];
    for (let turn = 1; turn < cuts.length; turn++) {
      const previousCut = cuts[turn - 1]!;
      if (cuts[turn] === previousCut) continue;
      moves.push(turn);
      // With the previous cut kept, this request must have overflowed the budget.
      let tokens = options.packTokens * factor;
      for (let kept = previousCut; kept < turn; kept++) tokens += (userTokens[kept]! + replyTokens[kept]!) * factor;
      tokens += userTokens[turn]! * factor;
      expect(tokens, `turn ${turn}: cut moved from ${previousCut} to ${cuts[turn]} though the old cut fits`).toBeGreaterThan(
        options.budgetTokens,
      );
    }

    expect(moves.length).toBeGreaterThanOrEqual(5);
    for (let index = 1; index < moves.length; index++) {
      expect(moves[index]! - moves[index - 1]!, `cuts at turns ${moves.join(', ')}`).toBeGreaterThanOrEqual(3);
    }
  });
});
