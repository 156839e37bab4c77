import { describe, expect, it } from 'vitest';
import { costNanoUsd, DEFAULT_PRICES, estimateCostUsd, type PriceTable, priceFor } from './prices.js';

const table: PriceTable = {
  default: { input: 5, output: 20 },
  'gpt-4o': { input: 2.5, output: 10 },
  'gpt-4o-mini': { input: 0.15, output: 0.6 },
};

describe('priceFor', () => {
  it('takes the exact entry, else the longest prefix before a dash, else default', () => {
    expect(priceFor(table, 'gpt-4o')).toEqual({ input: 2.5, output: 10 });
    expect(priceFor(table, 'gpt-4o-mini-2024-07-18')).toEqual({ input: 0.15, output: 0.6 });
    expect(priceFor(table, 'gpt-4o-2024-08-06')).toEqual({ input: 2.5, output: 10 });
    expect(priceFor(table, 'gpt-4omni')).toEqual({ input: 5, output: 20 });
    expect(priceFor(table, 'toString')).toEqual({ input: 5, output: 20 });
    expect(priceFor(DEFAULT_PRICES, 'parley-offline')).toEqual({ input: 0, output: 0 });
  });
});

describe('cost estimates', () => {
  it('prices input and output tokens separately, per million', () => {
    expect(estimateCostUsd(table, 'gpt-4o', { promptTokens: 1_000_000, completionTokens: 0 })).toBe(2.5);
    expect(estimateCostUsd(table, 'gpt-4o', { promptTokens: 1000, completionTokens: 500 })).toBeCloseTo(
      0.0075,
      12,
    );
    expect(
      estimateCostUsd(DEFAULT_PRICES, 'parley-offline', { promptTokens: 900, completionTokens: 900 }),
    ).toBe(0);
  });

  it('counts whole nano-dollars, rounding up but not float noise', () => {
    // 0.15 USD/M is 150 nano-dollars per token; 0.15 * 1000 is 150.00000000000003 in floating point.
    expect(costNanoUsd(table, 'gpt-4o-mini', { promptTokens: 1, completionTokens: 0 })).toBe(150);
    expect(
      costNanoUsd({ default: { input: 0.0001, output: 0 } }, 'x', { promptTokens: 1, completionTokens: 0 }),
    ).toBe(1);
  });
});
