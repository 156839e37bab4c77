/**
 * Environment that switches the proxy's budgets and rate limits off, for suites that are not about them
 * (one dev player makes hundreds of turns a minute there). Suites that test limits set their own.
 */
export const UNLIMITED: Record<string, string> = Object.fromEntries([
  ...['PLAYER', 'GLOBAL'].flatMap((scope) =>
    ['MINUTE', 'DAY'].flatMap((window) => [
      [`PARLEY_${scope}_REQUESTS_PER_${window}`, 'off'],
      [`PARLEY_${scope}_TOKENS_PER_${window}`, 'off'],
      [`PARLEY_${scope}_COST_PER_${window}_USD`, 'off'],
    ]),
  ),
  ['PARLEY_PLAYER_CONCURRENT_RUNS', '1000'],
]);
