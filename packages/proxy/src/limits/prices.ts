import { LIST_PRICES, type ModelPrice } from '@parley/protocol';
import { AUDIO_PRICES } from '../audio/prices.js';

export type { ModelPrice };

/** Prices by model name. `default` prices every model that has no entry of its own. */
export type PriceTable = { default: ModelPrice } & Record<string, ModelPrice>;

/**
 * The built-in table: the list prices the debug console also uses (`LIST_PRICES` in `@parley/protocol`:
 * common OpenAI models, and the offline model for free), and for any other model a `default` priced like
 * a mid-range hosted model. Deliberately on the high side: an unknown model then exhausts its budget early
 * rather than late. Set `PARLEY_PRICES` to your model's real prices.
 */
export const DEFAULT_PRICES: Readonly<PriceTable> = Object.freeze({
  default: Object.freeze({ input: 2.5, output: 10 }),
  ...LIST_PRICES,
  ...AUDIO_PRICES,
});

/**
 * The price of `model`: its own entry, else the longest entry it extends with a `-` suffix (a dated
 * snapshot such as `gpt-4o-mini-2024-07-18` takes the `gpt-4o-mini` price), else `default`.
 *
 * @example
 * ```ts
 * priceFor({ default: { input: 1, output: 2 }, 'gpt-4o-mini': { input: 0.15, output: 0.6 } }, 'gpt-4o-mini-2024-07-18');
 * // { input: 0.15, output: 0.6 }
 * ```
 */
export function priceFor(prices: PriceTable, model: string): ModelPrice {
  const own = Object.hasOwn(prices, model) ? prices[model] : undefined;
  if (own) return own;
  let best: string | undefined;
  for (const name of Object.keys(prices)) {
    if (name !== 'default' && model.startsWith(`${name}-`) && name.length > (best?.length ?? 0)) best = name;
  }
  return (best === undefined ? undefined : prices[best]) ?? prices.default;
}

/** 1 USD per million tokens is 10⁻⁶ USD, or 1,000 nano-dollars, per token. */
const NANO_PER_USD_PER_MILLION = 1_000;

/**
 * The estimated cost of a call in nano-dollars (10⁻⁹ USD), rounded up. Counters hold integers so that
 * adding and refunding thousands of small amounts, in memory or with Redis `HINCRBY`, never drifts.
 */
export function costNanoUsd(
  prices: PriceTable,
  model: string,
  tokens: { promptTokens: number; completionTokens: number },
): number {
  const price = priceFor(prices, model);
  const exact =
    tokens.promptTokens * price.input * NANO_PER_USD_PER_MILLION +
    tokens.completionTokens * price.output * NANO_PER_USD_PER_MILLION;
  // 0.15 * 1000 is 150.00000000000003 in binary floating point; without the epsilon that rounds up to 151.
  return Math.max(0, Math.ceil(exact - 1e-6));
}

/** Converts US dollars to whole nano-dollars. */
export function usdToNano(usd: number): number {
  return Math.round(usd * 1e9);
}

/** Converts nano-dollars to US dollars. */
export function nanoToUsd(nano: number): number {
  return nano / 1e9;
}

/**
 * The estimated cost of a call in US dollars.
 *
 * @example
 * ```ts
 * estimateCostUsd(DEFAULT_PRICES, 'parley-offline', { promptTokens: 500, completionTokens: 200 }); // 0
 * ```
 */
export function estimateCostUsd(
  prices: PriceTable,
  model: string,
  tokens: { promptTokens: number; completionTokens: number },
): number {
  return nanoToUsd(costNanoUsd(prices, model, tokens));
}
