import type { GameTool } from '@parley/dialogue';

/** A reply split into what the NPC says and the replies it suggests to the player. */
export interface SplitReply {
  /** The text to type out, without the suggestion lines. */
  body: string;
  /** Suggested player replies, in order. */
  suggestions: string[];
}

/** At most this many chips are shown. */
export const MAX_SUGGESTIONS = 6;

const SUGGESTION_LINE = /^[ \t]*>[ \t]?(.*)$/;

/**
 * Text to append to an NPC's instructions so the model offers replies the way
 * {@link splitSuggestions} reads them.
 *
 * @example
 * ```ts
 * this.parley.addNpc(guard, { id: 'brom', name: 'Brom', instructions: `${persona}\n\n${SUGGESTIONS_INSTRUCTIONS}` });
 * ```
 */
export const SUGGESTIONS_INSTRUCTIONS =
  'When it helps the player, end your reply with up to three short things the player could say next, ' +
  "each on its own line starting with '> ', for example:\n> Ask about the gate\n> Say goodbye";

/**
 * Parley's suggested-replies convention: a reply may end with lines starting with `>`, one suggested
 * player reply each (`> Ask about the gate`). They are cut from the text and shown as chips once the
 * reply is typed out. Applied to the text streamed so far, it holds back a last line starting with `>`
 * as soon as its `>` arrives, so a suggestion is never typed into the box first. `>` lines followed by
 * prose stay prose.
 *
 * @example
 * ```ts
 * splitSuggestions('Closed till dawn.\n> Ask why\n> Leave');
 * // { body: 'Closed till dawn.', suggestions: ['Ask why', 'Leave'] }
 * ```
 */
export function splitSuggestions(text: string): SplitReply {
  const lines = text.split('\n');
  let block = lines.length;
  const suggestions: string[] = [];
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!;
    const match = SUGGESTION_LINE.exec(line);
    if (match) {
      const reply = (match[1] ?? '').trim();
      if (reply) suggestions.unshift(reply);
      block = i;
    } else if (line.trim() !== '') break;
  }
  // Mid-text quotes are prose; only a block that ends the reply is read as suggestions.
  if (block === lines.length) return { body: text, suggestions: [] };
  return {
    body: lines.slice(0, block).join('\n').trimEnd(),
    suggestions: suggestions.slice(0, MAX_SUGGESTIONS),
  };
}

/**
 * The replies in a `suggest_replies` tool call's arguments (`{"replies": ["…", "…"]}`); invalid JSON or
 * shapes give none.
 *
 * @example
 * ```ts
 * parseSuggestReplies('{"replies":["Ask about the gate"," "]}'); // ['Ask about the gate']
 * ```
 */
export function parseSuggestReplies(args: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(args || '{}');
  } catch {
    return [];
  }
  const replies = (parsed as { replies?: unknown } | null)?.replies;
  if (!Array.isArray(replies)) return [];
  return replies
    .filter((reply): reply is string => typeof reply === 'string')
    .map((reply) => reply.trim())
    .filter(Boolean)
    .slice(0, MAX_SUGGESTIONS);
}

/** Name of the optional tool through which an NPC offers replies. */
export const SUGGEST_REPLIES_TOOL = 'suggest_replies';

/**
 * The `suggest_replies` tool, for NPCs that should offer replies through a tool call rather than `>`
 * lines (`addNpc(…, { suggestReplies: 'tool' })` registers it). The plugin reads the call's arguments
 * from the turn; the handler only confirms to the model that the chips are shown.
 */
export const suggestRepliesTool: GameTool<{ replies: string[] }> = {
  description:
    'Offer the player up to three short replies to choose from, shown as buttons under your answer. ' +
    'Call it at most once per answer.',
  parameters: {
    type: 'object',
    properties: { replies: { type: 'array', items: { type: 'string' }, maxItems: MAX_SUGGESTIONS } },
    required: ['replies'],
  },
  run: ({ replies }) => ({ shown: replies.length }),
};
