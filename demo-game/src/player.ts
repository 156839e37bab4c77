// Who the player is to the proxy, and how much they may still say.
//
// The demo runs the proxy in dev mode (loopback only), where a player is named by the `X-Parley-Player`
// header: each browser gets its own random id, kept in localStorage, so each has its own threads and
// budget. A game behind real auth would pass `auth: () => token` to `connect()` instead.
import { PLAYER_KEY } from './state.js';

export function playerId(storage: Storage = localStorage): string {
  let id: string | null = null;
  try {
    id = storage.getItem(PLAYER_KEY);
    if (!id || !/^[A-Za-z0-9._@-]{1,64}$/.test(id)) {
      id = `traveller-${Math.random().toString(36).slice(2, 10)}`;
      storage.setItem(PLAYER_KEY, id);
    }
  } catch {
    id ??= `traveller-${Math.random().toString(36).slice(2, 10)}`;
  }
  return id;
}

/** `fetch` that names the player on every request (to the proxy only; the page's origin forwards it). */
export function playerFetch(id: string): typeof fetch {
  return (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set('X-Parley-Player', id);
    return fetch(input, { ...init, headers });
  };
}

interface WindowUsage {
  requests?: number;
  tokens?: number;
  costUsd?: number;
  limits?: { requests?: number | null; tokens?: number | null; costUsd?: number | null };
}

/**
 * Reads the player's remaining budget from `GET /v1/usage`. Returns a line for the HUD, or undefined when
 * the proxy has no such endpoint (or no limits).
 */
export async function readBudget(
  fetchFn: typeof fetch,
  baseUrl = '',
): Promise<{ text: string; low: boolean } | undefined> {
  let body: { day?: WindowUsage; minute?: WindowUsage };
  try {
    const response = await fetchFn(`${baseUrl}/v1/usage`, { cache: 'no-store' });
    if (!response.ok) return undefined;
    body = (await response.json()) as typeof body;
  } catch {
    return undefined;
  }
  const day = body.day;
  if (!day?.limits) return undefined;
  const { tokens, requests, costUsd } = day.limits;
  if (typeof tokens === 'number') {
    const left = Math.max(0, tokens - (day.tokens ?? 0));
    return {
      text: `Budget today: ${left.toLocaleString('en')} of ${tokens.toLocaleString('en')} tokens`,
      low: left < tokens * 0.1,
    };
  }
  if (typeof requests === 'number') {
    const left = Math.max(0, requests - (day.requests ?? 0));
    return { text: `Budget today: ${left} of ${requests} replies`, low: left < requests * 0.1 };
  }
  if (typeof costUsd === 'number') {
    const left = Math.max(0, costUsd - (day.costUsd ?? 0));
    return { text: `Budget today: $${left.toFixed(3)} of $${costUsd.toFixed(2)}`, low: left < costUsd * 0.1 };
  }
  return { text: 'Budget today: unlimited', low: false };
}
