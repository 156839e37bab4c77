import type { OFFLINE_MODEL } from './constants.js';

/** What a model costs, in US dollars per million tokens (the way providers list prices). */
export interface ModelPrice {
  input: number;
  output: number;
}

/**
 * List prices of common OpenAI models at the time of writing, in US dollars per million tokens, and the
 * offline model (free). One table for both sides, so the debug console's cost estimates and the proxy's
 * budgets price a known model alike. The proxy adds a deliberately high `default` for every other model
 * (`PARLEY_PRICES` overrides any entry); the console shows no estimate for a model it cannot price.
 * A plain `as const` object, not frozen, with no computed key: a top-level call, or a key like
 * `[OFFLINE_MODEL]`, would keep it in every bundle that imports anything from this package (the key
 * cost @parley/dialogue 147 B gzipped).
 *
 * @example
 * ```ts
 * LIST_PRICES['gpt-4o-mini']; // { input: 0.15, output: 0.6 }
 * ```
 */
export const LIST_PRICES = {
  'parley-offline': { input: 0, output: 0 },
  'gpt-5': { input: 1.25, output: 10 },
  'gpt-5-mini': { input: 0.25, output: 2 },
  'gpt-5-nano': { input: 0.05, output: 0.4 },
  'gpt-4.1': { input: 2, output: 8 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6 },
  'gpt-4.1-nano': { input: 0.1, output: 0.4 },
  'gpt-4o': { input: 2.5, output: 10 },
  'gpt-4o-mini': { input: 0.15, output: 0.6 },
  o3: { input: 2, output: 8 },
  'o3-mini': { input: 1.1, output: 4.4 },
  'o4-mini': { input: 1.1, output: 4.4 },
  'gpt-3.5-turbo': { input: 0.5, output: 1.5 },
} as const satisfies Readonly<Record<string, Readonly<ModelPrice>>>;

// OFFLINE_MODEL's key is spelled out above; this fails to compile if the two names part.
type _OfflineIsPriced = (typeof LIST_PRICES)[typeof OFFLINE_MODEL];
