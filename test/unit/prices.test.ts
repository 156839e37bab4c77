// The debug console's cost estimate and the proxy's budgets price every listed model alike: the
// console must never tell a developer a turn cost less (or more) than the budget it was charged to.
import { LIST_PRICES } from '@parley/protocol';
import { describe, expect, it } from 'vitest';
import { estimateCost } from '../../packages/phaser/src/console-model.ts';
import { DEFAULT_PRICES, estimateCostUsd } from '../../packages/proxy/src/limits/prices.ts';

const usage = { prompt_tokens: 1234, completion_tokens: 567, total_tokens: 1801 };
const tokens = { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens };

describe('prices', () => {
  it('agree between the console and the proxy for every listed model and its dated snapshots', () => {
    const models = Object.keys(LIST_PRICES).flatMap((model) => [model, `${model}-2026-01-15`]);
    expect(models.length).toBeGreaterThan(10);
    for (const model of models) {
      const estimate = estimateCost(model, usage);
      expect(estimate, model).toBeDefined();
      // The proxy counts whole nano-dollars, rounded up.
      expect(estimateCostUsd(DEFAULT_PRICES, model, tokens), model).toBeCloseTo(estimate!, 8);
    }
  });

  it('leave an unlisted model unestimated in the console while budgets charge it the high default', () => {
    expect(estimateCost('npc-9000', usage)).toBeUndefined();
    expect(estimateCostUsd(DEFAULT_PRICES, 'npc-9000', tokens)).toBeGreaterThan(0);
  });
});
