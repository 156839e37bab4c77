/** The part of `@parley/dialogue`'s `DialogueError` that decides what the player is told. */
export interface ErrorLike {
  code?: string;
  retryable?: boolean;
  /** The server's words; shown for a refused request (`invalid_request`), which says what to change. */
  message?: string;
}

/**
 * Turns a failed turn into an in-world line for the dialogue box, so a network error reads like part of
 * the game rather than a stack trace. The technical message still goes to the `npc.error` event.
 *
 * @example
 * ```ts
 * inWorldErrorText('Brom', { code: 'network', retryable: true });
 * // '(Brom seems distracted — the connection failed. Try again.)'
 * ```
 */
export function inWorldErrorText(name: string, error: ErrorLike): string {
  switch (error.code) {
    case 'network':
      return `(${name} seems distracted — the connection failed. Try again.)`;
    case 'rate_limited':
      return `(${name} holds up a hand — too many words at once. Wait a moment, then try again.)`;
    case 'budget':
      return `(${name} has said all there is to say for today.)`;
    case 'moderation':
      return `(${name} pretends not to have heard that.)`;
    case 'auth':
      return `(${name} does not recognise you — the game could not sign in to the dialogue server.)`;
    case 'interrupted':
      return `(${name} trails off.)`;
    case 'invalid_request':
      // E.g. "Messages are limited to 4000 characters on this server.": the player can act on that.
      if (error.message) return `(${name} cannot take that in — ${error.message.replace(/\.$/, '')}.)`;
      return `(${name} falls silent — something went wrong.)`;
    default:
      return error.retryable
        ? `(${name} loses the thread — something went wrong. Try again.)`
        : `(${name} falls silent — something went wrong.)`;
  }
}
