// The demo's words for money and items (issue 22, item 12: the quest log said "Bought a apple from Tilda
// for 1 coins"). Every sentence the game builds from a price or an item name goes through coins() and
// withArticle(); these drive Tilda's and Odo's real tools against a real GameState, with no browser.
import { describe, expect, it } from 'vitest';
import { CAST, type NpcId, type ToolAnswer } from '../../demo-game/src/cast.ts';
import { coins, GameState, ITEM_IDS, ITEMS, withArticle } from '../../demo-game/src/state.ts';

/** "1 coins", "a apple", "A apple": what item 12 found. */
const WRONG = /\b1 coins\b|\ba [aeiou]/i;

function tool(npc: NpcId, name: string) {
  const spec = CAST.find((member) => member.id === npc)?.tools[name];
  if (!spec) throw new Error(`${npc} has no tool ${name}`);
  return (args: Record<string, unknown>, state: GameState): ToolAnswer =>
    spec.run(args, { state, tell: () => {} });
}
const sell = tool('tilda', 'complete_sale');
const offer = tool('tilda', 'offer_item');
const give = tool('odo', 'take_item');
const said = (answer: ToolAnswer) => (answer.ok ? answer.message : answer.error);

describe('coins', () => {
  it('says "coin" for one, also for one spent, and "coins" for any other amount', () => {
    expect(coins(1)).toBe('1 coin');
    expect(coins(-1)).toBe('-1 coin');
    expect(coins(0)).toBe('0 coins');
    expect(coins(2)).toBe('2 coins');
    expect(coins(11)).toBe('11 coins');
  });
});

describe('withArticle', () => {
  it('puts "an" before a vowel and "a" before anything else', () => {
    expect(withArticle('apple')).toBe('an apple');
    expect(withArticle('Apple')).toBe('an Apple');
    expect(withArticle('lantern')).toBe('a lantern');
    expect(withArticle('loaf of bread')).toBe('a loaf of bread');
  });
});

describe("Tilda's and Odo's words", () => {
  it('log and answer a one-coin apple in good English', () => {
    const state = new GameState();
    expect(said(sell({ item: 'apple' }, state))).toBe('Sold: one apple for 1 coin. Pleasure doing business');
    expect(state.log.at(-1)?.text).toBe('Bought an apple from Tilda for 1 coin.');
    expect(said(give({ item: 'apple' }, state))).toMatch(/^An apple! How thoughtful\./);
  });

  it('never say "1 coins" or "a apple" for any item, bought, haggled or given', () => {
    const lines: string[] = [];
    for (const item of ITEM_IDS) {
      const state = new GameState();
      const { floor, price } = ITEMS[item];
      lines.push(said(offer({ item, price: floor - 1 }, state)), said(offer({ item, price }, state)));
      lines.push(said(sell({ item }, state)), ...state.log.map((entry) => entry.text));
      lines.push(said(give({ item }, state)));
      // Short of money: the refusal names both amounts.
      const poor = new GameState({ ...new GameState().snapshot(), coins: 1 });
      if (price > 1) lines.push(said(sell({ item }, poor)));
    }
    expect(lines.length).toBeGreaterThan(ITEM_IDS.length * 4);
    expect(lines).toContain('Bought a loaf of bread from Tilda for 2 coins.');
    expect(lines).toContain('the lantern costs 12 coins and you only have 1 coin');
    expect(lines.filter((line) => WRONG.test(line))).toEqual([]);
  });

  it("give Tilda her prices in words a model repeats (her instructions: 'an apple for 1 coin')", () => {
    const tilda = CAST.find((member) => member.id === 'tilda')!;
    expect(tilda.instructions).toContain(`an apple for 1 coin.`);
    expect(tilda.instructions).not.toMatch(WRONG);
  });
});
